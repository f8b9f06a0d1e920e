package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// SumWriter writes one content-addressed piece outside any torrent, in
// order from its first byte: the road for a file fetched from a mirror whole.
// One goroutine at a time.
type SumWriter struct {
	s    *Store
	sum  Sum
	p    *partial
	off  int64
	done bool
}

// CreateSum starts writing the piece of size bytes whose SHA256 is sum.
// Several writers of one sum may run at once: the first to commit stores it.
func (s *Store) CreateSum(sum Sum, size int64) (*SumWriter, error) {
	if size < 0 {
		return nil, fmt.Errorf("store: create piece %s: negative size %d", sum, size)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	p, err := newPartial(s.tmpDir(), "sum-"+sum.String()[:16]+"-*", size, sha256.New())
	if err != nil {
		return nil, err
	}
	return &SumWriter{s: s, sum: sum, p: p}, nil
}

// Write appends b to the piece.
func (w *SumWriter) Write(b []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("store: write piece %s: already committed or aborted", w.sum)
	}
	if err := w.p.write(w.off, b); err != nil {
		return 0, err
	}
	w.off += int64(len(b))
	return len(b), nil
}

// Written returns how many bytes have been written.
func (w *SumWriter) Written() int64 { return w.off }

// Commit checks the SHA256 and stores the piece durably (ErrIncomplete when
// bytes are missing, the writer staying usable; ErrHashMismatch when the data
// is wrong, the data discarded).
func (w *SumWriter) Commit() error {
	if w.done {
		return fmt.Errorf("store: commit piece %s: already committed or aborted", w.sum)
	}
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if !w.p.complete() {
		return fmt.Errorf("%w: piece %s has %d of %d bytes", ErrIncomplete, w.sum, w.p.received(), w.p.length)
	}
	w.done = true
	if got := w.p.sum(); !bytes.Equal(got, w.sum[:]) {
		w.p.discard()
		return fmt.Errorf("%w: piece %s: got %x", ErrHashMismatch, w.sum, got)
	}
	if err := w.p.seal(); err != nil {
		w.p.discard()
		return err
	}
	return w.s.commitCAS(w.p.path, w.sum, w.p.length)
}

// Abort discards what was written; harmless after Commit.
func (w *SumWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.p.mu.Lock()
	w.p.discard()
	w.p.mu.Unlock()
	return nil
}
