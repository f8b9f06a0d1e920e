package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// PieceStream reads a piece while it arrives, from peers or the web source:
// ReadAt blocks until the bytes asked for have been written and hashed, so a
// caller can pass a large package on from its first byte instead of after its
// last. The piece's last byte is held back until the whole piece is verified,
// so a stream never delivers all of a piece whose hash fails; when it fails,
// ReadAt returns an error wrapping ErrHashMismatch and the caller must throw
// away (or abort) what it passed on. While the stream is open the piece stays
// urgent, as for a WaitPiece.
//
// Concurrency: ReadAt and Size may be called from any goroutine at once;
// Close once, when done.
type PieceStream struct {
	t     *Torrent
	piece int
	size  int64
	ctx   context.Context // ends at Close, or when no source can deliver
	stop  context.CancelCauseFunc

	// One of the two: the prefix of the piece being written, or the
	// verified piece.
	partial PartialReader
	whole   PieceReader

	w         *waiter // nil when the piece was had at open
	closeOnce sync.Once
}

// StreamPiece makes piece i urgent as WaitPiece does (with the same
// options) and returns a stream of it that can be read while it arrives.
// Storage that cannot read a piece in progress (no PartialOpener, or a
// standard torrent's pieces) gives a stream that waits for the whole piece.
func (t *Torrent) StreamPiece(ctx context.Context, i int, opts ...WaitOption) (*PieceStream, error) {
	if i < 0 || i >= t.info.NumPieces() {
		return nil, fmt.Errorf("debtorrent: %s: piece %d out of range", t.info.Name, i)
	}
	po, ok := t.st.(PartialOpener)
	if !ok {
		return t.wholeStream(ctx, i, opts)
	}
	deadline := deadlineOf(ctx, opts)
	var w *waiter
	var failed error
	if err := t.do(context.Background(), func() { w, failed = t.addWaiter(i, deadline) }); err != nil {
		return nil, err
	}
	if failed != nil {
		return nil, t.noSource(i, failed)
	}
	if w == nil {
		return t.wholeStream(ctx, i, opts)
	}
	pr, err := po.OpenPartial(i)
	if err != nil {
		// Not streamable (a standard torrent's piece), or caught between
		// states (just stored, or evicted): wait for it whole instead.
		t.leave(i, w)
		if !errors.Is(err, errors.ErrUnsupported) {
			t.log.Debug("debtorrent: cannot stream piece; waiting for it whole", "piece", i, "err", err)
		}
		return t.wholeStream(ctx, i, opts)
	}
	sctx, stop := context.WithCancelCause(ctx)
	s := &PieceStream{t: t, piece: i, size: t.info.Pieces[i].Length, ctx: sctx, stop: stop, partial: pr, w: w}
	// A wait released with an error (no source can deliver) ends the
	// stream's waits: nothing more will arrive.
	go func() {
		select {
		case <-w.done:
			if w.err != nil {
				stop(t.noSource(i, w.err))
			}
		case <-sctx.Done():
		case <-t.loopDone:
			stop(ErrTorrentClosed)
		}
	}()
	return s, nil
}

// wholeStream is the stream of a piece read only once verified.
func (t *Torrent) wholeStream(ctx context.Context, i int, opts []WaitOption) (*PieceStream, error) {
	rd, err := t.ReadPiece(ctx, i, opts...)
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancelCause(context.Background())
	return &PieceStream{t: t, piece: i, size: rd.Size(), ctx: sctx, stop: stop, whole: rd}, nil
}

// leave drops a waiter registered by StreamPiece.
func (t *Torrent) leave(i int, w *waiter) {
	_ = t.do(context.Background(), func() { t.removeWaiter(i, w) })
}

// Size returns the piece's length.
func (s *PieceStream) Size() int64 { return s.size }

// ReadAt implements io.ReaderAt: it waits until p can be filled from off
// (or the piece ends), then reads.
func (s *PieceStream) ReadAt(p []byte, off int64) (int, error) {
	if s.whole != nil {
		return s.whole.ReadAt(p, off)
	}
	n, err := readWhenWritten(s.ctx, s.partial, p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("debtorrent: %s: piece %d while streaming: %w", s.t.info.Name, s.piece, err)
	}
	return n, err
}

// readWhenWritten reads p from off of a piece being written, waiting until
// its prefix covers the bytes (or the piece is verified and ends); it fails
// when the piece never will be (its hash failed, its writer stopped) or ctx
// ends (with ctx's cause).
func readWhenWritten(ctx context.Context, pr PartialReader, p []byte, off int64) (int, error) {
	done := 0
	for {
		n, err := pr.ReadAt(p[done:], off+int64(done))
		done += n
		switch {
		case err == nil, errors.Is(err, io.EOF):
			return done, err
		case !errors.Is(err, ErrBeyondPrefix):
			return done, err
		}
		if _, err := pr.Wait(ctx, off+int64(done)); err != nil && !errors.Is(err, ErrBeyondPrefix) {
			if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
				err = cause
			}
			return done, err
		}
	}
}

// Started waits until the stream has its first byte (or the piece is
// verified), so that a caller can still answer with an honest error when no
// source delivers anything: it returns the error ReadAt would.
func (s *PieceStream) Started() error {
	if s.whole != nil || s.size == 0 {
		return nil
	}
	_, err := readWhenWritten(s.ctx, s.partial, make([]byte, 1), 0)
	if err != nil && !errors.Is(err, io.EOF) {
		if cause := context.Cause(s.ctx); cause != nil && s.ctx.Err() != nil {
			err = cause
		}
		return fmt.Errorf("debtorrent: %s: piece %d: %w", s.t.info.Name, s.piece, err)
	}
	return nil
}

// Close ends the stream: the piece stops being urgent for it.
func (s *PieceStream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.stop(errStreamClosed)
		if s.whole != nil {
			err = s.whole.Close()
			return
		}
		err = s.partial.Close()
		s.t.leave(s.piece, s.w)
	})
	return err
}

// errStreamClosed is the cause of a stream's context once it is closed.
var errStreamClosed = errors.New("debtorrent: stream closed")
