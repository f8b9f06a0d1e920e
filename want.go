package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/debtorrent/debtorrent/piecepicker"
)

// Priority says how badly a piece is wanted: piecepicker.None, Normal, High
// or Urgent.
type Priority = piecepicker.Priority

// SetPriority sets how badly piece i is wanted in the background (None,
// Normal or High; Urgent is what WaitPiece is for). Lowering a piece to
// None cancels its outstanding requests.
func (t *Torrent) SetPriority(i int, prio Priority) error {
	if i < 0 || i >= t.info.NumPieces() {
		return fmt.Errorf("debtorrent: %s: piece %d out of range", t.info.Name, i)
	}
	return t.do(context.Background(), func() {
		if w := t.waiterOf(i); w != nil {
			w.prevPrio = prio // applies once nobody waits any more
			return
		}
		t.setPriority(i, prio)
	})
}

// setPriority applies prio to piece i and cancels its requests when nobody
// wants it any more.
func (t *Torrent) setPriority(i int, prio Priority) {
	t.pk.SetPriority(i, prio)
	if prio == piecepicker.None {
		t.cancelPiece(i)
		if t.web != nil {
			t.web.cancelPiece(i)
		}
	} else {
		t.refillAll()
	}
	t.dirty = true
}

// cancelPiece withdraws every peer request for piece i (the web source's
// fetches of it are stopped by setPriority).
func (t *Torrent) cancelPiece(i int) {
	var buf []piecepicker.Request
	for p := range t.peers {
		buf = t.pk.Requests(p.pp, buf[:0])
		for _, r := range buf {
			if r.Piece == i {
				t.cancelRequest(p, r)
			}
		}
	}
}

// ErrNoSource is wrapped by WaitPiece's error when no source can deliver the
// piece now: no connected peer has it and the web source does not have it
// (the error wraps websource.ErrNotFound too) or failed after its own
// retries (the error wraps its cause). Without a web source a wait goes on
// until a peer brings the piece or ctx ends. A later
// WaitPiece tries again, once the web source's retry delay has passed.
var ErrNoSource = errors.New("debtorrent: no source has the piece")

// WaitOption tunes one WaitPiece or ReadPiece call.
type WaitOption func(*waitOptions)

type waitOptions struct {
	deadline    time.Time
	hasDeadline bool
}

// WithDeadline sets when the caller needs the piece, instead of ctx's
// deadline. Earlier deadlines are fetched first, and a piece peers would
// deliver after its deadline goes to the web source if that would be sooner.
// A deadline already passed only keeps the piece urgent. The zero time means
// none.
func WithDeadline(t time.Time) WaitOption {
	return func(o *waitOptions) { o.deadline, o.hasDeadline = t, true }
}

// deadlineOf returns the deadline of a wait: WithDeadline's, else ctx's,
// else none (zero).
func deadlineOf(ctx context.Context, opts []WaitOption) time.Time {
	var o waitOptions
	for _, fn := range opts {
		fn(&o)
	}
	if o.hasDeadline {
		return o.deadline
	}
	d, _ := ctx.Deadline()
	return d
}

// WaitPiece waits until piece i is verified: it makes the piece urgent for as
// long as anyone waits for it, with the deadline given by WithDeadline or
// else ctx's (earlier deadlines are fetched first). Many callers waiting for
// one piece cost one download; when the last of them gives up (ctx ends) the
// piece returns to its previous priority and, if that was None, its requests
// are cancelled. When no source can deliver the piece, the waiters get an
// error wrapping ErrNoSource.
func (t *Torrent) WaitPiece(ctx context.Context, i int, opts ...WaitOption) error {
	if i < 0 || i >= t.info.NumPieces() {
		return fmt.Errorf("debtorrent: %s: piece %d out of range", t.info.Name, i)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("debtorrent: %s: waiting for piece %d: %w", t.info.Name, i, context.Cause(ctx))
	}
	deadline := deadlineOf(ctx, opts)
	// Registering is not cancelled by ctx: a waiter registered behind a
	// caller's back would keep the piece urgent for nobody.
	var w *waiter
	var failed error
	if err := t.do(context.Background(), func() { w, failed = t.addWaiter(i, deadline) }); err != nil {
		return err
	}
	if failed != nil {
		return t.noSource(i, failed)
	}
	if w == nil {
		return nil // already verified
	}
	select {
	case <-w.done:
		return t.waitResult(i, w)
	case <-t.loopDone:
		return ErrTorrentClosed
	case <-ctx.Done():
		_ = t.do(context.Background(), func() { t.removeWaiter(i, w) })
		select {
		case <-w.done: // verified (or failed) meanwhile
			return t.waitResult(i, w)
		default:
		}
		return fmt.Errorf("debtorrent: %s: waiting for piece %d: %w", t.info.Name, i, context.Cause(ctx))
	}
}

// waitResult is what a wait whose waiter was released returns.
func (t *Torrent) waitResult(i int, w *waiter) error {
	if w.err != nil {
		return t.noSource(i, w.err)
	}
	return nil
}

// noSource wraps the reason no source could deliver piece i.
func (t *Torrent) noSource(i int, cause error) error {
	return fmt.Errorf("debtorrent: %s: piece %d: %w: %w", t.info.Name, i, ErrNoSource, cause)
}

// readTries bounds how often ReadPiece waits again for a piece evicted
// between its wait and its open.
const readTries = 3

// ReadPiece waits for piece i as WaitPiece does and opens it for reading.
// Only verified data is ever readable. A piece evicted between the wait and
// the open (a size-capped store) is waited for again, a few times.
func (t *Torrent) ReadPiece(ctx context.Context, i int, opts ...WaitOption) (PieceReader, error) {
	for try := 1; ; try++ {
		if err := t.WaitPiece(ctx, i, opts...); err != nil {
			return nil, err
		}
		r, err := t.OpenPiece(i)
		if err == nil || !errors.Is(err, ErrNotComplete) || try == readTries {
			return r, err
		}
		// Evicted meanwhile: the loop learns it now, so the next wait
		// fetches the piece again.
		if err := t.do(ctx, func() { t.reconcile(i) }); err != nil {
			return nil, err
		}
	}
}

// OpenPiece opens verified piece i for reading; it fails for a piece not
// verified yet.
func (t *Torrent) OpenPiece(i int) (PieceReader, error) {
	r, err := t.st.OpenPiece(i)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: %s: open piece %d: %w", t.info.Name, i, err)
	}
	return r, nil
}

// addWaiter registers one more waiter for piece i and returns it, or nil
// when the piece is had. When no source can deliver the piece now (no peer
// has it, the web source failed it within its retry delay) it registers
// nothing and returns why.
func (t *Torrent) addWaiter(i int, deadline time.Time) (*waiter, error) {
	// Hints left before this call (a piece stored through another swarm
	// happened before the caller asked) are taken first, so the answer
	// never depends on which of the loop's channels fired first.
	t.reconcileHinted()
	if t.pk.HavePiece(i) {
		return nil, nil
	}
	if t.web != nil && t.pk.Availability(i) == 0 {
		if err := t.web.failure(i, time.Now()); err != nil {
			return nil, err
		}
	}
	a := t.activeOf(i)
	w := a.waiter
	if w == nil {
		w = &waiter{prevPrio: t.pk.Priority(i), done: make(chan struct{})}
		a.waiter = w
		a.web.urgentSince = time.Now()
		t.pk.SetUrgent(i, deadline) // wanted, so the kept blocks count
		t.resumeKept(i)
	}
	w.n++
	if !deadline.IsZero() && (w.deadline.IsZero() || deadline.Before(w.deadline)) {
		w.deadline = deadline
	}
	t.pk.SetUrgent(i, deadline)
	t.dirty = true
	t.refillAll()
	if t.web != nil {
		t.web.schedule(time.Now())
	}
	return w, nil
}

// failWaiters releases the waiters of piece i with err (no source can
// deliver it) and lowers the piece back to its previous priority.
func (t *Torrent) failWaiters(i int, err error) {
	a := t.active[i]
	if a == nil || a.waiter == nil {
		return
	}
	w := a.waiter
	w.err = err
	close(w.done)
	a.waiter, a.web.urgentSince = nil, time.Time{}
	t.release(i)
	t.setPriority(i, w.prevPrio)
}

// removeWaiter drops one waiter of piece i; the last one restores the
// piece's priority.
func (t *Torrent) removeWaiter(i int, ww *waiter) {
	a := t.active[i]
	if a == nil || a.waiter != ww {
		return
	}
	w := a.waiter
	w.n--
	if w.n > 0 {
		return
	}
	a.waiter, a.web.urgentSince = nil, time.Time{}
	t.release(i)
	t.setPriority(i, w.prevPrio)
}

// Availability returns how many connected peers have piece i (web sources
// not counted).
func (t *Torrent) Availability(i int) int {
	n := 0
	if err := t.do(context.Background(), func() { n = t.pk.Availability(i) }); err != nil {
		return 0
	}
	return n
}
