package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// SumWriter writes one content-addressed piece outside any torrent, in
// order from its first byte: the road for a file fetched from a mirror whole.
// One goroutine at a time; Write keeps nothing of its argument.
type SumWriter struct {
	s    *Store
	sum  Sum
	p    *partial
	off  int64
	done bool
}

// CreateSum starts writing the piece of size bytes whose SHA256 is sum.
// Several writers of one sum may run at once: the first to commit stores it
// (and OnCommit runs once), the others' Commit finds it there and succeeds.
func (s *Store) CreateSum(sum Sum, size int64) (*SumWriter, error) {
	if size < 0 {
		return nil, fmt.Errorf("store: create piece %s: negative size %d", sum, size)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	p, err := newPartial(s.tmpDir(), "sum-"+sum.String()[:16]+"-*", size, sha256.New())
	if err != nil {
		return nil, err
	}
	return &SumWriter{s: s, sum: sum, p: p}, nil
}

// Write appends b to the piece. Writing past the size given to CreateSum
// writes nothing and fails.
func (w *SumWriter) Write(b []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("store: write piece %s: already committed or aborted", w.sum)
	}
	if w.off+int64(len(b)) > w.p.length {
		return 0, fmt.Errorf("store: write piece %s: %d bytes at %d go past its size %d", w.sum, len(b), w.off, w.p.length)
	}
	if err := w.p.write(w.off, b); err != nil {
		return 0, fmt.Errorf("store: write piece %s: %w", w.sum, err)
	}
	w.off += int64(len(b))
	return len(b), nil
}

// Written returns how many bytes have been written.
func (w *SumWriter) Written() int64 { return w.off }

// Commit checks the SHA256 and stores the piece durably (ErrIncomplete when
// bytes are missing, the writer staying usable; ErrHashMismatch when the data
// is wrong, the data discarded). After any other outcome the writer is done.
func (w *SumWriter) Commit() error {
	if w.done {
		return fmt.Errorf("store: commit piece %s: already committed or aborted", w.sum)
	}
	p := w.p
	p.mu.Lock()
	if !p.complete() {
		p.mu.Unlock()
		return fmt.Errorf("%w: piece %s has %d of %d bytes", ErrIncomplete, w.sum, p.received(), p.length)
	}
	w.done = true
	if got := p.sum(); !bytes.Equal(got, w.sum[:]) {
		p.discard()
		p.mu.Unlock()
		return fmt.Errorf("%w: piece %s: got %x", ErrHashMismatch, w.sum, got)
	}
	err := p.seal(w.s.fs)
	if err != nil {
		p.discard()
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return w.s.commitCAS(p.path, w.sum, p.length)
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
