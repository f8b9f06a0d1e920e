package lsd

import (
	"bytes"
	"errors"
	"slices"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// ErrFull is returned by Add when the Service already announces
// Config.MaxTorrents torrents (counting those removed less than MinInterval
// ago, whose last announce time is kept to enforce the rate limit).
var ErrFull = errors.New("lsd: too many torrents to announce")

// slot is what the schedule knows of one torrent.
type slot struct {
	active   bool      // added and not removed
	lastSent time.Time // zero: never announced
	next     time.Time // when an active torrent is due
}

// schedule decides when each torrent is announced: at once when first added,
// then every interval, and never twice within minInterval (so removing and
// re-adding a torrent does not announce it again early). It is a plain value
// with no clock of its own, guarded by its Service's mutex.
type schedule struct {
	slots       map[metainfo.InfoHash]*slot
	max         int
	interval    time.Duration
	minInterval time.Duration
}

func newSchedule(limit int, interval, minInterval time.Duration) *schedule {
	return &schedule{slots: make(map[metainfo.InfoHash]*slot), max: limit, interval: interval, minInterval: minInterval}
}

// add makes ih active. It reports whether an announce may now be due.
func (s *schedule) add(ih metainfo.InfoHash, now time.Time) (bool, error) {
	sl, ok := s.slots[ih]
	switch {
	case ok && sl.active:
		return false, nil
	case ok:
		sl.active = true
		sl.next = now
		if !sl.lastSent.IsZero() {
			sl.next = later(now, sl.lastSent.Add(s.minInterval))
		}
		return true, nil
	}
	s.prune(now)
	if len(s.slots) >= s.max {
		return false, ErrFull
	}
	s.slots[ih] = &slot{active: true, next: now}
	return true, nil
}

// remove stops announcing ih. Its last announce time is kept until
// minInterval has passed.
func (s *schedule) remove(ih metainfo.InfoHash, now time.Time) {
	sl, ok := s.slots[ih]
	if !ok {
		return
	}
	sl.active = false
	if sl.lastSent.IsZero() || now.Sub(sl.lastSent) >= s.minInterval {
		delete(s.slots, ih)
	}
}

// has reports whether ih is active.
func (s *schedule) has(ih metainfo.InfoHash) bool {
	sl, ok := s.slots[ih]
	return ok && sl.active
}

// due returns, sorted, the active torrents to announce now and marks them
// announced; next is when the next one falls due (zero when none is active).
func (s *schedule) due(now time.Time) (out []metainfo.InfoHash, next time.Time) {
	s.prune(now)
	for ih, sl := range s.slots {
		if !sl.active {
			continue
		}
		if !sl.next.After(now) {
			out = append(out, ih)
			sl.lastSent = now
			sl.next = now.Add(s.interval)
		}
		if next.IsZero() || sl.next.Before(next) {
			next = sl.next
		}
	}
	slices.SortFunc(out, func(a, b metainfo.InfoHash) int { return bytes.Compare(a[:], b[:]) })
	return out, next
}

// prune forgets removed torrents whose rate limit has expired.
func (s *schedule) prune(now time.Time) {
	for ih, sl := range s.slots {
		if !sl.active && now.Sub(sl.lastSent) >= s.minInterval {
			delete(s.slots, ih)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
