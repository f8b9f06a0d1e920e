package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Has reports whether the piece with this SHA256 is stored and verified. It
// takes no lock: it is on the path of every block written.
func (s *Store) Has(sum Sum) bool {
	_, ok := s.cas.Load(sum)
	return ok
}

// lookup returns the entry of a stored piece, or nil.
func (s *Store) lookup(sum Sum) *entry {
	if v, ok := s.cas.Load(sum); ok {
		return v.(*entry)
	}
	return nil
}

// insertLocked adds e to the index as the most recently used (s.mu held).
func (s *Store) insertLocked(e *entry) {
	s.cas.Store(e.sum, e)
	s.lru.pushFront(e)
	s.used += e.size
	s.count++
}

// claimName waits until no file operation on sum's name is in flight, then
// (with s.mu held, as on return) reports the piece's entry if stored.
// Otherwise it marks the name busy, and the caller must call releaseName.
func (s *Store) claimName(sum Sum) (*entry, error) {
	for {
		if s.closed {
			return nil, ErrClosed
		}
		if e := s.lookup(sum); e != nil {
			return e, nil
		}
		ch, busy := s.busy[sum]
		if !busy {
			s.busy[sum] = make(chan struct{})
			return nil, nil
		}
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
	}
}

// releaseName ends a file operation on sum's name (s.mu held).
func (s *Store) releaseName(sum Sum) {
	close(s.busy[sum])
	delete(s.busy, sum)
}

// commitCAS gives a sealed (fsynced, closed) temporary file of size bytes
// whose SHA256 is sum its content-addressed name. When the piece is already
// there the temporary file is simply removed. OnCommit runs when the piece
// is new.
func (s *Store) commitCAS(tmp string, sum Sum, size int64) error {
	s.mu.Lock()
	e, err := s.claimName(sum)
	if err != nil || e != nil {
		var now time.Time
		if e != nil {
			s.lru.moveToFront(e)
			now = time.Now()
		}
		s.mu.Unlock()
		os.Remove(tmp)
		if e != nil {
			s.setUseTime(sum, now)
		}
		return err
	}
	s.mu.Unlock()
	// No other operation on this name runs until releaseName.
	err = s.renameDurably(tmp, s.casPath(sum))
	s.mu.Lock()
	var evicted []*entry
	var now time.Time
	if err == nil {
		e = &entry{sum: sum, size: size}
		s.insertLocked(e)
		now = time.Now()
		evicted = s.evictLocked(e)
	}
	s.releaseName(sum)
	s.mu.Unlock()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: commit piece %s: %w", sum, err)
	}
	s.setUseTime(sum, now)
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(sum)
	}
	s.unlinkRemoved(evicted)
	return nil
}

// openCAS opens a stored piece for reading and pins it until release. The
// pin is taken under the lock; the file is opened and its use time
// persisted outside it.
func (s *Store) openCAS(sum Sum) (*os.File, *entry, error) {
	s.mu.Lock()
	e := s.lookup(sum)
	if e == nil {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: sha256 %s is not stored", ErrNotComplete, sum)
	}
	e.refs++
	s.lru.moveToFront(e)
	now := time.Now()
	s.mu.Unlock()

	f, err := os.Open(s.casPath(sum))
	if err != nil {
		vanished := false
		s.mu.Lock()
		e.refs--
		if errors.Is(err, fs.ErrNotExist) && s.lookup(sum) == e {
			// Deleted behind our back: forget it.
			s.removeLocked(e)
			vanished = true
		}
		s.mu.Unlock()
		if vanished {
			s.notifyEvicted(sum)
		}
		if errors.Is(err, fs.ErrNotExist) { // vanished, or removed by Verify meanwhile
			return nil, nil, fmt.Errorf("%w: sha256 %s vanished from disk", ErrNotComplete, sum)
		}
		return nil, nil, fmt.Errorf("store: open piece %s: %w", sum, err)
	}
	s.setUseTime(sum, now)
	return f, e, nil
}

// setUseTime persists a stored piece's last use as its file's mtime, read
// back on the next start. It is set explicitly because the kernel stamps
// writes with a coarse clock, so pieces written in the same tick would
// otherwise tie after a restart. The instant is taken under the lock when
// the entry moves to the front of the LRU list, so the mtimes follow the
// list's order; two concurrent uses of one piece may store the older of the
// two instants, which only makes it look a little older after a restart.
func (s *Store) setUseTime(sum Sum, now time.Time) {
	_ = os.Chtimes(s.casPath(sum), time.Time{}, now)
}

// release unpins a piece opened with openCAS.
func (s *Store) release(e *entry) {
	s.mu.Lock()
	var evicted []*entry
	if e.refs > 0 {
		e.refs--
		if s.lookup(e.sum) == e {
			evicted = s.evictLocked(nil)
		}
	}
	s.mu.Unlock()
	s.unlinkRemoved(evicted)
}

// removeLocked takes e out of the index (s.mu held).
func (s *Store) removeLocked(e *entry) {
	s.cas.Delete(e.sum)
	s.lru.remove(e)
	s.used -= e.size
	s.count--
}

// evictLocked takes the least recently used unpinned pieces out of the index
// until the area fits in MaxBytes, marks their names busy, and returns them
// for unlinkRemoved to delete once s.mu is released. Pinned pieces are
// skipped, and so is keep (a piece just committed, which its writer is
// about to use), so the cap may be exceeded for a while. It walks the LRU
// list from its back: O(1) per piece removed, plus the pinned ones skipped.
func (s *Store) evictLocked(keep *entry) []*entry {
	if s.opts.MaxBytes <= 0 || s.used <= s.opts.MaxBytes {
		return nil
	}
	var out []*entry
	for e := s.lru.back(); e != nil && s.used > s.opts.MaxBytes; {
		prev := s.lru.prevOf(e)
		if e.refs == 0 && e != keep {
			s.removeLocked(e)
			s.busy[e.sum] = make(chan struct{})
			out = append(out, e)
		}
		e = prev
	}
	return out
}

// unlinkRemoved deletes the files of entries taken out of the index (whose
// names are marked busy), without s.mu held, and reports them to OnEvict. A
// file that cannot be deleted goes back in the index as the least recently
// used, so a later eviction tries again.
func (s *Store) unlinkRemoved(es []*entry) {
	var gone []Sum
	for _, e := range es {
		err := os.Remove(s.casPath(e.sum))
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		s.mu.Lock()
		if err != nil {
			s.opts.Logger.Warn("store: remove piece", "sha256", e.sum.String(), "err", err)
			s.insertLocked(e)
			s.lru.moveToBack(e)
		} else {
			gone = append(gone, e.sum)
		}
		s.releaseName(e.sum)
		s.mu.Unlock()
	}
	s.notifyEvicted(gone...)
}

// forget removes a piece found to be bad, if e is still its entry, and
// reports whether it did.
func (s *Store) forget(e *entry) bool {
	s.mu.Lock()
	if s.lookup(e.sum) != e {
		s.mu.Unlock()
		return false // evicted (or replaced) meanwhile
	}
	s.removeLocked(e)
	s.busy[e.sum] = make(chan struct{})
	s.mu.Unlock()
	err := os.Remove(s.casPath(e.sum))
	s.mu.Lock()
	s.releaseName(e.sum)
	s.mu.Unlock()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.opts.Logger.Warn("store: remove bad piece", "sha256", e.sum.String(), "err", err)
	}
	s.notifyEvicted(e.sum)
	return true
}

func (s *Store) notifyEvicted(sums ...Sum) {
	if s.opts.OnEvict == nil {
		return
	}
	for _, sum := range sums {
		s.opts.OnEvict(sum)
	}
}
