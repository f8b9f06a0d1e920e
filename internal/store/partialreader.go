package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ErrBeyondPrefix: a PartialReader was asked for bytes past its prefix
// (Wait for them). It wraps io.ErrUnexpectedEOF.
var ErrBeyondPrefix = fmt.Errorf("store: read past the prefix of a piece being written (wait for it to grow): %w", io.ErrUnexpectedEOF)

// ErrStopped: the writer of a piece being read stopped before finishing it
// (its prefix may be kept for a resume, which another reader then follows).
var ErrStopped = errors.New("store: the writer of the piece stopped before finishing it")

// errUnsupported: OpenPartial of a standard torrent's piece.
var errUnsupported = fmt.Errorf("store: reading a standard torrent's piece while it is written is not supported: %w", errors.ErrUnsupported)

// PartialReader reads the hashed prefix of a content-addressed piece while it
// is written, through its own descriptor of the piece's file: the file
// being renamed into sha256/ on commit, or removed on discard, or the
// piece evicted later, never invalidates bytes it already let through.
//
// The prefix it lets through (Prefix) only grows. It is the bytes hashed so
// far, but for the last byte of the piece, held back until the piece is
// verified: Prefix() == Size() means the piece is verified and stored, so a
// caller streaming the prefix can never deliver all of a piece whose hash
// fails. Then:
//   - verified: Prefix is Size, every byte reads;
//   - failed (hash mismatch, or discarded): ReadAt and Wait fail with an
//     error wrapping ErrHashMismatch; bytes read before are not to be used;
//   - stopped (its writer stopped unfinished: Close of the torrent, of the
//     SumWriter or of the store): ReadAt and Wait fail with an error
//     wrapping ErrStopped.
//
// Safe for concurrent use; Close once done (it does not affect the writer).
type PartialReader struct {
	p    *partial
	f    *os.File
	once sync.Once
}

// Size returns the piece's length.
func (r *PartialReader) Size() int64 { return r.p.length }

// visible returns the prefix a reader may read, the state and the channel
// closed at the next change (p.mu held).
func (p *partial) visible() (int64, pieceState, <-chan struct{}) {
	n := p.hashed
	if p.state != pieceVerified && n == p.length && n > 0 {
		n-- // the last byte waits for the verdict
	}
	if p.state == pieceVerified {
		n = p.length
	}
	return n, p.state, p.grown
}

func (r *PartialReader) snapshot() (int64, pieceState, <-chan struct{}) {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.p.visible()
}

// Prefix returns how many bytes from the start may be read now.
func (r *PartialReader) Prefix() int64 {
	n, _, _ := r.snapshot()
	return n
}

// stateErr is the error of a piece that will not grow any more, or nil.
func stateErr(st pieceState) error {
	switch st {
	case pieceFailed:
		return fmt.Errorf("%w: the piece being read failed its check or was discarded; abort the stream", ErrHashMismatch)
	case pieceClosed:
		return fmt.Errorf("%w; open a reader of the next writer", ErrStopped)
	}
	return nil
}

// ReadAt reads within the prefix. Past it (but within the piece) it reads
// what lies before the prefix and fails with ErrBeyondPrefix; past the end
// of a verified piece it returns io.EOF like any io.ReaderAt.
func (r *PartialReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	n, st, _ := r.snapshot()
	if err := stateErr(st); err != nil {
		return 0, err
	}
	want := b
	if off+int64(len(b)) > n {
		want = b[:max(0, n-off)]
	}
	k := 0
	if len(want) > 0 {
		var err error
		k, err = r.f.ReadAt(want, off)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("store: piece file is shorter than its prefix: %w", io.ErrUnexpectedEOF)
			}
			return k, err
		}
	}
	if k == len(b) {
		return k, nil
	}
	if st == pieceVerified {
		return k, io.EOF
	}
	return k, ErrBeyondPrefix
}

// Wait blocks until the prefix is longer than beyond, the piece is verified
// (it returns Size, nil) or will never grow (failed or closed: the error
// says which), or ctx ends. It returns the prefix then.
func (r *PartialReader) Wait(ctx context.Context, beyond int64) (int64, error) {
	for {
		n, st, ch := r.snapshot()
		if err := stateErr(st); err != nil {
			return n, err
		}
		if n > beyond || st == pieceVerified {
			return n, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
}

// Close releases the reader's descriptor. Closing twice is harmless.
func (r *PartialReader) Close() error {
	var err error
	r.once.Do(func() { err = r.f.Close() })
	return err
}

// openReader opens a reader on p's file, or on the stored piece when p has
// been verified. A partial being committed is waited for.
func (p *partial) openReader(s *Store) (*PartialReader, error) {
	for {
		p.mu.Lock()
		_, st, ch := p.visible()
		switch {
		case st == pieceWriting && !p.done:
			f, err := os.Open(p.path)
			p.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("store: open piece being written: %w", err)
			}
			return &PartialReader{p: p, f: f}, nil
		case st == pieceVerified:
			p.mu.Unlock()
			return s.openVerifiedPartial(p.name, p.length)
		case st != pieceWriting:
			p.mu.Unlock()
			return nil, stateErr(st)
		}
		p.mu.Unlock()
		<-ch // being committed: wait for the outcome
	}
}

// openVerifiedPartial returns a PartialReader over a stored piece (its
// prefix is all of it).
func (s *Store) openVerifiedPartial(sum Sum, length int64) (*PartialReader, error) {
	f, e, err := s.openCAS(sum)
	if err != nil {
		return nil, err
	}
	s.release(e) // the descriptor stays valid if the piece is evicted
	done := &partial{length: e.size, state: pieceVerified, done: true, grown: make(chan struct{}), name: sum}
	return &PartialReader{p: done, f: f}, nil
}

// OpenReader returns a reader of what has been written so far (see
// PartialReader). It may be called from any goroutine, before or after
// Commit.
func (w *SumWriter) OpenReader() (*PartialReader, error) { return w.p.openReader(w.s) }

// OpenPartial returns a reader of Debian piece i's prefix as it is written
// by this torrent, starting the piece (resuming its partial file) when
// nothing of it was written yet, or of the stored piece when it is complete.
// Standard torrents' pieces fail with an error wrapping
// errors.ErrUnsupported. The reader stays valid after the torrent closes
// (it then fails with ErrStopped unless the piece was verified).
func (t *Torrent) OpenPartial(i int) (*PartialReader, error) {
	pc, err := t.piece(i)
	if err != nil {
		return nil, err
	}
	if t.fixed != nil {
		return nil, errUnsupported
	}
	if t.PieceComplete(i) {
		if r, err := t.s.openVerifiedPartial(Sum(pc.Hash), pc.Length); err == nil {
			return r, nil
		}
	}
	p, err := t.partialOf(i, pc)
	if err != nil {
		return nil, err
	}
	if p == nil { // verified meanwhile
		return t.s.openVerifiedPartial(Sum(pc.Hash), pc.Length)
	}
	return p.openReader(t.s)
}
