package piecepicker

// pieceState is the per-block bookkeeping of a piece in progress. It exists
// only while the piece has a block requested or received.
type pieceState struct {
	blocks   []blockState
	extra    []extraRequest // endgame duplicates: requesters beyond a block's owner
	free     int            // blocks neither requested nor received
	received int            // blocks received
	nextFree int            // no block below this one is free
	missing  int            // every block below this one is received
	active   int32          // position in Picker.active
}

// blockState is one block. Free: owner and sender nil. Requested: owner set.
// Received: sender set (owner nil).
type blockState struct {
	owner  *Peer // first peer (or web source) it is requested from
	sender *Peer // the peer that sent it
}

// extraRequest is an endgame duplicate request of block from peer.
type extraRequest struct {
	block int32
	peer  *Peer
}

// Block state of finished pieces is kept for reuse, so that a download in
// steady state does not allocate: states of up to smallBlocks blocks in one
// pool, bigger ones in another of at most bigPoolBlocks blocks in all (8 MiB);
// beyond that, per-block state goes back to the garbage collector.
const (
	smallBlocks   = 1024
	bigPoolBlocks = 1 << 19
	poolSearch    = 8 // pooled states looked at for one with room enough
)

// activate allocates block state for piece i, every block free. The piece
// must be unfiled; the caller files it afterwards.
func (pk *Picker) activate(i int) *pieceState {
	nb := pk.NumBlocks(i)
	st := pk.fromPool(nb)
	if st == nil {
		st = &pieceState{blocks: make([]blockState, nb, max(16, nextPow2(nb)))}
	}
	st.blocks = st.blocks[:nb]
	st.free, st.received, st.nextFree, st.missing = nb, 0, 0, 0
	st.active = int32(len(pk.active))
	pk.active = append(pk.active, int32(i))
	pk.states[i] = st
	return st
}

// fromPool takes a pooled state with room for nb blocks, or returns nil.
func (pk *Picker) fromPool(nb int) *pieceState {
	pool := &pk.pool
	if nb > smallBlocks {
		pool = &pk.bigPool
	}
	l := *pool
	for k := len(l) - 1; k >= 0 && k >= len(l)-poolSearch; k-- {
		if st := l[k]; cap(st.blocks) >= nb {
			l[k] = l[len(l)-1]
			l[len(l)-1] = nil
			*pool = l[:len(l)-1]
			if pool == &pk.bigPool {
				pk.bigPooled -= cap(st.blocks)
			}
			return st
		}
	}
	return nil
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// deactivate drops piece i's block state. Nothing may be requested any more;
// the piece must be unfiled.
func (pk *Picker) deactivate(i int) {
	st := pk.states[i]
	k := st.active
	last := pk.active[len(pk.active)-1]
	pk.active[k] = last
	pk.states[last].active = k
	pk.active = pk.active[:len(pk.active)-1]
	pk.states[i] = nil
	clear(st.blocks) // drop the peer pointers
	st.extra = st.extra[:0]
	switch c := cap(st.blocks); {
	case c <= smallBlocks:
		pk.pool = append(pk.pool, st)
	case pk.bigPooled+c <= bigPoolBlocks:
		pk.bigPool = append(pk.bigPool, st)
		pk.bigPooled += c
	}
}

// takeBlocks requests up to *want free blocks of piece i from peer p, in
// order, appending them to dst. The piece must have block state.
func (pk *Picker) takeBlocks(p *Peer, i int, st *pieceState, want *int, dst []Request) []Request {
	for b := st.nextFree; b < len(st.blocks) && *want > 0 && st.free > 0; b++ {
		blk := &st.blocks[b]
		if blk.owner != nil || blk.sender != nil {
			if b == st.nextFree {
				st.nextFree++
			}
			continue
		}
		blk.owner = p
		st.free--
		if b == st.nextFree {
			st.nextFree++
		}
		p.reqs = append(p.reqs, blockRef{piece: int32(i), block: int32(b)})
		dst = append(dst, pk.blockRequest(i, b))
		*want--
	}
	return dst
}

// requestedBy reports whether peer p has block b of a piece requested.
func (st *pieceState) requestedBy(b int, p *Peer) bool {
	if st.blocks[b].owner == p {
		return true
	}
	for _, e := range st.extra {
		if int(e.block) == b && e.peer == p {
			return true
		}
	}
	return false
}

// requesters counts the peers block b is requested from.
func (st *pieceState) requesters(b int) int {
	if st.blocks[b].owner == nil {
		return 0
	}
	n := 1
	for _, e := range st.extra {
		if int(e.block) == b {
			n++
		}
	}
	return n
}

// removeExtra drops peer p's duplicate request of block b, if any.
func (st *pieceState) removeExtra(b int, p *Peer) bool {
	for k, e := range st.extra {
		if int(e.block) == b && e.peer == p {
			st.extra[k] = st.extra[len(st.extra)-1]
			st.extra = st.extra[:len(st.extra)-1]
			return true
		}
	}
	return false
}

// unassign records that peer p will not send block b of piece i: the block
// goes to its next requester, or back to the free pool. It does not touch
// p's own records, nor refile the piece.
func (pk *Picker) unassign(p *Peer, i, b int) {
	st := pk.states[i]
	if st == nil {
		return
	}
	blk := &st.blocks[b]
	if blk.sender != nil {
		return
	}
	if blk.owner != p {
		st.removeExtra(b, p)
		return
	}
	for k, e := range st.extra {
		if int(e.block) == b {
			blk.owner = e.peer
			st.extra[k] = st.extra[len(st.extra)-1]
			st.extra = st.extra[:len(st.extra)-1]
			return
		}
	}
	blk.owner = nil
	st.free++
	st.nextFree = min(st.nextFree, b)
}

// release returns block b of piece i, requested from p, to the pool and
// forgets p's record of it. It reports whether p had it requested.
func (pk *Picker) release(p *Peer, i, b int) bool {
	st := pk.states[i]
	if st == nil || st.blocks[b].sender != nil || !st.requestedBy(b, p) {
		return false
	}
	pk.dropRecord(p, i, b)
	pk.unassign(p, i, b)
	pk.settle(i)
	return true
}

// dropAllRequests forgets every outstanding request for piece i and returns
// them as runs per peer.
func (pk *Picker) dropAllRequests(i int, st *pieceState) []PeerBlocks {
	var out []PeerBlocks
	add := func(p *Peer, b int) {
		pk.dropRecord(p, i, b)
		r := pk.blockRequest(i, b)
		if n := len(out); n > 0 && out[n-1].Peer == p && out[n-1].Request.Begin+out[n-1].Request.Length == r.Begin {
			out[n-1].Request.Length += r.Length
			return
		}
		out = append(out, PeerBlocks{Peer: p, Request: r})
	}
	for b := range st.blocks {
		if o := st.blocks[b].owner; o != nil {
			add(o, b)
			st.blocks[b].owner = nil
			st.free++
		}
	}
	for _, e := range st.extra {
		add(e.peer, int(e.block))
	}
	st.extra = st.extra[:0]
	st.nextFree = 0
	return out
}
