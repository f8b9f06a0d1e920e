package store

import (
	"bytes"
	"fmt"
)

// SumWriter writes one content-addressed piece outside any torrent, in
// order: the road for a file fetched from a mirror whole. One goroutine at a
// time writes (Write, Commit, Abort, Close); Write keeps nothing of its
// argument. OpenReader may be called from any goroutine.
type SumWriter struct {
	s    *Store
	sum  Sum
	p    *partial
	off  int64
	done bool
}

// CreateSum starts writing the piece of size bytes whose SHA256 is sum,
// from its first byte: a partial file kept for sum is started afresh (use
// ResumeSum to continue it). Several writers of one sum may run at once,
// each into its own file: the first to commit stores it (and OnCommit runs
// once), the others' Commit finds it there and succeeds.
func (s *Store) CreateSum(sum Sum, size int64) (*SumWriter, error) {
	return s.createSum(sum, size, false)
}

// ResumeSum is CreateSum continuing the partial file kept for sum (by a
// torrent or writer that stopped, maybe before a restart): Written starts
// at the prefix adopted from it, and the caller writes from there. When
// another writer of sum is running, or nothing is kept, it starts at 0.
func (s *Store) ResumeSum(sum Sum, size int64) (*SumWriter, error) {
	return s.createSum(sum, size, true)
}

func (s *Store) createSum(sum Sum, size int64, resume bool) (*SumWriter, error) {
	if size < 0 {
		return nil, fmt.Errorf("store: create piece %s: negative size %d", sum, size)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	p, err := s.newCASPartial(sum, size, "sum-"+sum.String()[:16]+"-*", resume)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	off := p.hashed
	p.mu.Unlock()
	return &SumWriter{s: s, sum: sum, p: p, off: off}, nil
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

// Written returns the offset the next Write goes to: the bytes written, plus
// the prefix a ResumeSum started from.
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
	if p.done { // suspended by Store.Close
		w.done = true
		p.mu.Unlock()
		return fmt.Errorf("store: commit piece %s: %w", w.sum, ErrClosed)
	}
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
	// Committed without p.mu held, so that OnCommit may use anything; p is
	// done meanwhile (its readers wait for the outcome).
	err = w.s.commitCAS(p.path, w.sum, p.length)
	p.mu.Lock()
	if err != nil {
		p.end(pieceFailed)
	} else {
		p.end(pieceVerified)
	}
	p.mu.Unlock()
	return err
}

// Abort discards what was written, the partial file included; harmless
// after Commit or Close.
func (w *SumWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.p.mu.Lock()
	if !w.p.done {
		w.p.discard()
	}
	w.p.mu.Unlock()
	return nil
}

// Close stops the writer keeping what it wrote (up to its hashed prefix)
// in partial/ for a later ResumeSum or torrent of the same SHA256 (a writer
// of a private temporary file, started while another wrote the same sum,
// discards it); harmless after Commit or Abort.
func (w *SumWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	w.p.mu.Lock()
	w.p.stop()
	w.p.mu.Unlock()
	return nil
}
