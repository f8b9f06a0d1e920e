package lsd

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

func TestSchedule(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	a, b := ihN(1), ihN(2)
	s := newSchedule(2, 5*time.Minute, time.Minute)

	if due, next := s.due(t0); due != nil || !next.IsZero() {
		t.Fatalf("empty schedule: due %v next %v", due, next)
	}
	mustAdd := func(ih metainfo.InfoHash, now time.Time) {
		t.Helper()
		if _, err := s.add(ih, now); err != nil {
			t.Fatal(err)
		}
	}
	check := func(now time.Time, want []metainfo.InfoHash, wantNext time.Time) {
		t.Helper()
		due, next := s.due(now)
		if !reflect.DeepEqual(due, want) || !next.Equal(wantNext) {
			t.Fatalf("due(%v) = %v, next %v; want %v, next %v", now.Sub(t0), due, next.Sub(t0), want, wantNext.Sub(t0))
		}
	}

	mustAdd(a, t0)
	check(t0, []metainfo.InfoHash{a}, at(5*time.Minute)) // at once when added
	check(at(time.Minute), nil, at(5*time.Minute))
	mustAdd(b, at(2*time.Minute))
	check(at(2*time.Minute), []metainfo.InfoHash{b}, at(5*time.Minute)) // b at once, a keeps its time
	check(at(5*time.Minute), []metainfo.InfoHash{a}, at(7*time.Minute))

	// Removed and re-added within a minute: not announced again before a
	// minute has passed since its last announce.
	s.remove(a, at(5*time.Minute+10*time.Second))
	if s.has(a) {
		t.Fatal("removed torrent still active")
	}
	if _, err := s.add(ihN(3), at(5*time.Minute+20*time.Second)); !errors.Is(err, ErrFull) {
		t.Fatalf("third torrent while a's rate limit is kept: %v, want ErrFull", err)
	}
	mustAdd(a, at(5*time.Minute+30*time.Second))
	check(at(5*time.Minute+30*time.Second), nil, at(6*time.Minute))
	check(at(6*time.Minute), []metainfo.InfoHash{a}, at(7*time.Minute))

	// Removed for longer than a minute: forgotten, and room for another.
	s.remove(a, at(6*time.Minute+time.Second))
	s.remove(b, at(6*time.Minute+time.Second))
	mustAdd(ihN(3), at(7*time.Minute+time.Second))
	if len(s.slots) != 1 {
		t.Fatalf("%d slots after the rate limits expired, want 1", len(s.slots))
	}
	// Re-adding a forgotten torrent announces it at once.
	mustAdd(a, at(8*time.Minute))
	check(at(8*time.Minute), []metainfo.InfoHash{a, ihN(3)}, at(13*time.Minute)) // sorted
}

func TestScheduleAddTwice(t *testing.T) {
	s := newSchedule(1, time.Hour, time.Minute)
	now := time.Now()
	if wake, err := s.add(ihN(1), now); !wake || err != nil {
		t.Fatalf("first add: %v %v", wake, err)
	}
	if wake, err := s.add(ihN(1), now); wake || err != nil {
		t.Fatalf("second add of an active torrent: wake %v, err %v; want neither", wake, err)
	}
	if _, err := s.add(ihN(2), now); !errors.Is(err, ErrFull) {
		t.Fatalf("add beyond the cap: %v, want ErrFull", err)
	}
}
