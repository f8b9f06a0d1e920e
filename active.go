package debtorrent

import "time"

// activePiece is everything the loop keeps about one piece while something
// is happening to it: callers wait for it, blocks of it arrived, sources of
// a failed attempt are suspected, or the web source is involved. Every
// torrent keeps them in one map (Torrent.active): an entry is made by
// activeOf on first need and dropped by release once nothing is left in it,
// or by pieceGood when the piece is verified.
type activePiece struct {
	waiter   *waiter   // the callers waiting for it; nil: none
	recv     []uint64  // xxhash of each block received, for the hunt for liars
	suspects []suspect // senders of a failed attempt, until the piece verifies
	web      webPiece  // the web source's view
}

// webPiece is the web source's per-piece state.
type webPiece struct {
	urgentSince time.Time // when it became urgent (waited for); zero: not urgent
	handedOver  bool      // taken from the peers by the hand-over rule
	got         int64     // bytes of the attempt in progress received, all sources
	peerGot     int64     // of which from peers since it became urgent
	sources     []string  // the mirrors that served it, to blame on a bad hash
	lastErr     error     // why its last fetch failed, until retryAt
	retryAt     time.Time // the web source is not asked for it again until then
}

// empty reports whether nothing is left in a.
func (a *activePiece) empty() bool {
	w := &a.web
	return a.waiter == nil && a.recv == nil && len(a.suspects) == 0 &&
		w.urgentSince.IsZero() && !w.handedOver && w.got == 0 && w.peerGot == 0 &&
		len(w.sources) == 0 && w.lastErr == nil && w.retryAt.IsZero()
}

// activeOf returns piece i's state, making it if needed.
func (t *Torrent) activeOf(i int) *activePiece {
	a := t.active[i]
	if a == nil {
		a = &activePiece{}
		t.active[i] = a
	}
	return a
}

// release drops piece i's state once nothing is left in it.
func (t *Torrent) release(i int) {
	if a := t.active[i]; a != nil && a.empty() {
		delete(t.active, i)
	}
}

// waiterOf returns the waiters of piece i, or nil.
func (t *Torrent) waiterOf(i int) *waiter {
	if a := t.active[i]; a != nil {
		return a.waiter
	}
	return nil
}

// numWaited returns how many pieces are waited for.
func (t *Torrent) numWaited() int {
	n := 0
	for _, a := range t.active {
		if a.waiter != nil {
			n++
		}
	}
	return n
}
