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
		if w := t.waiters[i]; w != nil {
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

// WaitPiece waits until piece i is verified: it makes the piece urgent (with
// deadline, if not zero: earlier deadlines are fetched first) for as long as
// anyone waits for it. Many callers waiting for one piece cost one download;
// when the last of them gives up (ctx ends) the piece returns to its previous
// priority and, if that was None, its requests are cancelled.
func (t *Torrent) WaitPiece(ctx context.Context, i int, deadline time.Time) error {
	if i < 0 || i >= t.info.NumPieces() {
		return fmt.Errorf("debtorrent: %s: piece %d out of range", t.info.Name, i)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("debtorrent: %s: waiting for piece %d: %w", t.info.Name, i, context.Cause(ctx))
	}
	// Registering is not cancelled by ctx: a waiter registered behind a
	// caller's back would keep the piece urgent for nobody.
	var done chan struct{}
	if err := t.do(context.Background(), func() { done = t.addWaiter(i, deadline) }); err != nil {
		return err
	}
	if done == nil {
		return nil // already verified
	}
	select {
	case <-done:
		return nil
	case <-t.loopDone:
		return ErrTorrentClosed
	case <-ctx.Done():
		_ = t.do(context.Background(), func() { t.removeWaiter(i, done) })
		select {
		case <-done: // verified meanwhile
			return nil
		default:
		}
		return fmt.Errorf("debtorrent: %s: waiting for piece %d: %w", t.info.Name, i, context.Cause(ctx))
	}
}

// readTries bounds how often ReadPiece waits again for a piece evicted
// between its wait and its open.
const readTries = 3

// ReadPiece waits for piece i as WaitPiece does and opens it for reading.
// Only verified data is ever readable. A piece evicted between the wait and
// the open (a size-capped store) is waited for again, a few times.
func (t *Torrent) ReadPiece(ctx context.Context, i int, deadline time.Time) (PieceReader, error) {
	for try := 1; ; try++ {
		if err := t.WaitPiece(ctx, i, deadline); err != nil {
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

// addWaiter registers one more waiter for piece i and returns the channel
// closed when it is verified, or nil when it already is.
func (t *Torrent) addWaiter(i int, deadline time.Time) chan struct{} {
	if t.pk.HavePiece(i) {
		return nil
	}
	w := t.waiters[i]
	if w == nil {
		w = &waiter{prevPrio: t.pk.Priority(i), done: make(chan struct{})}
		t.waiters[i] = w
		if t.web != nil {
			t.web.urgentSince[i] = time.Now()
		}
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
	return w.done
}

// removeWaiter drops one waiter of piece i; the last one restores the
// piece's priority.
func (t *Torrent) removeWaiter(i int, done chan struct{}) {
	w := t.waiters[i]
	if w == nil || w.done != done {
		return
	}
	w.n--
	if w.n > 0 {
		return
	}
	delete(t.waiters, i)
	if t.web != nil {
		delete(t.web.urgentSince, i)
	}
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
