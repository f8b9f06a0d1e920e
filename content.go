package debtorrent

import (
	"sync"

	"github.com/debtorrent/debtorrent/metainfo"
)

// The store is the one truth of which pieces are had. A Client whose storage
// is a ContentStorage observes it: when a Debian piece (keyed by its SHA256)
// is stored or removed, by whichever torrent or none (the Proxy writes some
// directly, the size cap evicts others), every torrent listing that SHA256 is
// told, and its loop asks TorrentStorage.PieceComplete and reconciles.

// pieceRef names piece of torrent t.
type pieceRef struct {
	t     *Torrent
	piece int
}

// contentIndex maps the SHA256 of every piece of the piece-per-file torrents
// to the torrents listing it. Its lock is its own: never held while calling
// into a torrent.
type contentIndex struct {
	mu    sync.Mutex
	bySum map[[32]byte][]pieceRef
}

// add indexes t's pieces, if t is a piece-per-file torrent.
func (x *contentIndex) add(t *Torrent) {
	if t.info.Layout != metainfo.PiecePerFile {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.bySum == nil {
		x.bySum = make(map[[32]byte][]pieceRef)
	}
	for i, p := range t.info.Pieces {
		if sum, ok := sumOf(p); ok {
			x.bySum[sum] = append(x.bySum[sum], pieceRef{t, i})
		}
	}
}

// remove forgets t's pieces.
func (x *contentIndex) remove(t *Torrent) {
	if t.info.Layout != metainfo.PiecePerFile {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range t.info.Pieces {
		sum, ok := sumOf(p)
		if !ok {
			continue
		}
		refs := x.bySum[sum]
		kept := refs[:0]
		for _, r := range refs {
			if r.t != t {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			delete(x.bySum, sum)
		} else {
			x.bySum[sum] = kept
		}
	}
}

// lookup appends the pieces listing sum to dst.
func (x *contentIndex) lookup(sum [32]byte, dst []pieceRef) []pieceRef {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append(dst, x.bySum[sum]...)
}

// sumOf returns a piece-per-file piece's SHA256.
func sumOf(p metainfo.Piece) ([32]byte, bool) {
	var sum [32]byte
	if len(p.Hash) != len(sum) {
		return sum, false
	}
	copy(sum[:], p.Hash)
	return sum, true
}

// onContent is the ContentStorage observer: it runs on the store's
// goroutines (a torrent's verification worker among them), so it only
// leaves hints, never blocking.
func (c *Client) onContent(sum [32]byte, _ bool) {
	for _, r := range c.content.lookup(sum, nil) {
		r.t.hint(r.piece)
	}
}

// hints is the set of pieces whose stored state may have changed, left by
// any goroutine for the torrent's loop, which asks the store for the truth.
type hints struct {
	mu     sync.Mutex
	pieces map[int]struct{}
	wake   chan struct{} // 1-buffered: the loop drains the set when it fires
}

// hint tells the loop that piece i may have been stored or removed. It never
// blocks; any goroutine may call it.
func (t *Torrent) hint(i int) {
	t.hints.mu.Lock()
	if t.hints.pieces == nil {
		t.hints.pieces = make(map[int]struct{})
	}
	t.hints.pieces[i] = struct{}{}
	t.hints.mu.Unlock()
	select {
	case t.hints.wake <- struct{}{}:
	default:
	}
}

// takeHints empties the set of hinted pieces and returns them.
func (t *Torrent) takeHints() map[int]struct{} {
	t.hints.mu.Lock()
	defer t.hints.mu.Unlock()
	ps := t.hints.pieces
	t.hints.pieces = nil
	return ps
}

// reconcileHinted reconciles every hinted piece (on the loop).
func (t *Torrent) reconcileHinted() {
	for i := range t.takeHints() {
		t.reconcile(i)
	}
}

// reconcile makes the loop's view of piece i agree with the store: a piece
// stored meanwhile (by another torrent sharing it) is had, as if verified
// here; a piece the store no longer holds is lost.
func (t *Torrent) reconcile(i int) {
	stored, had := t.st.PieceComplete(i), t.pk.HavePiece(i)
	switch {
	case stored && !had:
		t.pieceGood(i)
		t.dirty = true
	case had && !stored:
		t.pieceLost(i)
		t.dirty = true
	}
}
