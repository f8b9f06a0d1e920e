package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Has reports whether the piece with this SHA256 is stored and verified.
func (s *Store) Has(sum Sum) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.cas[sum]
	return ok
}

// commitCAS gives a sealed (fsynced, closed) temporary file of size bytes
// whose SHA256 is sum its content-addressed name. When the piece is already
// there the temporary file is simply removed.
func (s *Store) commitCAS(tmp string, sum Sum, size int64) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		os.Remove(tmp)
		return ErrClosed
	}
	if e, ok := s.cas[sum]; ok {
		e.lastUse = s.touch(sum)
		s.mu.Unlock()
		os.Remove(tmp)
		return nil
	}
	s.mu.Unlock()
	// Renaming over an existing file of the same name is harmless: it holds
	// the same bytes.
	if err := renameDurably(tmp, s.casPath(sum)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: commit piece %s: %w", sum, err)
	}
	s.mu.Lock()
	added := false
	if e, ok := s.cas[sum]; ok {
		e.lastUse = s.touch(sum)
	} else {
		s.cas[sum] = &entry{size: size, lastUse: s.touch(sum)}
		s.used += size
		added = true
	}
	evicted := s.evictLocked(&sum)
	s.mu.Unlock()
	if added && s.opts.OnCommit != nil {
		s.opts.OnCommit(sum)
	}
	s.notifyEvicted(evicted)
	return nil
}

// openCAS opens a stored piece for reading and pins it until release.
func (s *Store) openCAS(sum Sum) (*os.File, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cas[sum]
	if !ok {
		return nil, 0, fmt.Errorf("%w: sha256 %s is not stored", ErrNotComplete, sum)
	}
	f, err := os.Open(s.casPath(sum))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Deleted behind our back: forget it.
			delete(s.cas, sum)
			s.used -= e.size
			s.mu.Unlock()
			s.notifyEvicted([]Sum{sum})
			s.mu.Lock()
			return nil, 0, fmt.Errorf("%w: sha256 %s vanished from disk", ErrNotComplete, sum)
		}
		return nil, 0, fmt.Errorf("store: open piece %s: %w", sum, err)
	}
	e.refs++
	e.lastUse = s.touch(sum)
	return f, e.size, nil
}

// touch records that a stored piece is used now and returns that instant.
// The file's mtime is the persisted use time, read back on the next start; it
// is set explicitly because the kernel stamps writes with a coarse clock, so
// pieces written in the same tick would otherwise tie after a restart.
func (s *Store) touch(sum Sum) time.Time {
	now := time.Now()
	_ = os.Chtimes(s.casPath(sum), time.Time{}, now)
	return now
}

// release unpins a piece opened with openCAS.
func (s *Store) release(sum Sum) {
	s.mu.Lock()
	var evicted []Sum
	if e, ok := s.cas[sum]; ok && e.refs > 0 {
		e.refs--
		evicted = s.evictLocked(nil)
	}
	s.mu.Unlock()
	s.notifyEvicted(evicted)
}

// evictLocked deletes the least recently used unpinned pieces until the
// area fits in MaxBytes, and returns what it deleted. Pinned pieces are
// skipped, and so is keep (a piece just committed, which its writer is
// about to use), so the cap may be exceeded for a while.
func (s *Store) evictLocked(keep *Sum) []Sum {
	if s.opts.MaxBytes <= 0 || s.used <= s.opts.MaxBytes {
		return nil
	}
	type cand struct {
		sum Sum
		e   *entry
	}
	var cands []cand
	for sum, e := range s.cas {
		if e.refs == 0 && (keep == nil || sum != *keep) {
			cands = append(cands, cand{sum, e})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return a.e.lastUse.Compare(b.e.lastUse) })
	var evicted []Sum
	for _, c := range cands {
		if s.used <= s.opts.MaxBytes {
			break
		}
		if err := os.Remove(s.casPath(c.sum)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.opts.Logger.Warn("store: evict", "sha256", c.sum.String(), "err", err)
			continue
		}
		delete(s.cas, c.sum)
		s.used -= c.e.size
		evicted = append(evicted, c.sum)
	}
	return evicted
}

// forget removes a piece found to be bad.
func (s *Store) forget(sum Sum) {
	s.mu.Lock()
	e, ok := s.cas[sum]
	if ok {
		delete(s.cas, sum)
		s.used -= e.size
	}
	err := os.Remove(s.casPath(sum))
	s.mu.Unlock()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.opts.Logger.Warn("store: remove bad piece", "sha256", sum.String(), "err", err)
	}
	if ok {
		s.notifyEvicted([]Sum{sum})
	}
}

func (s *Store) notifyEvicted(sums []Sum) {
	if s.opts.OnEvict == nil {
		return
	}
	for _, sum := range sums {
		s.opts.OnEvict(sum)
	}
}
