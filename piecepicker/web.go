package piecepicker

// PickForWeb hands web source w the next run to fetch from a mirror: a whole
// piece when it is untouched and no longer than maxBytes (one GET per .deb),
// otherwise the first run of free blocks of a piece, at most maxBytes long
// (at least one block; maxBytes ≤ 0 means no limit). Only free blocks are
// given: never one requested from a peer.
//
// Pieces are tried by priority, from Urgent down to minPrio (at least
// Normal); among urgent pieces, first those no connected peer has, then the
// others, each in deadline order; within High and Normal, first pieces no
// connected peer has, then started pieces, then the rarest. It returns false
// when nothing qualifies.
//
// As the data streams in, report each block with BlockReceived(w, ...); if
// the mirror fails, WebFailed returns what was not received to the pool.
func (pk *Picker) PickForWeb(w *Peer, maxBytes int64, minPrio Priority) (Request, bool) {
	if w == nil || !w.web || w.gone {
		return Request{}, false
	}
	minPrio = max(minPrio, Normal)
	for pass := 0; pass < 2; pass++ {
		for _, e := range pk.urgent {
			i := int(e.piece)
			if (pk.Availability(i) == 0) == (pass == 0) {
				return pk.takeRun(w, i, maxBytes), true
			}
		}
	}
	for lvl := High; lvl >= minPrio; lvl-- {
		if i := pk.webCandidate(lvl); i >= 0 {
			return pk.takeRun(w, i, maxBytes), true
		}
	}
	return Request{}, false
}

// webCandidate returns the filed piece of priority lvl a web source should
// fetch first, or -1.
func (pk *Picker) webCandidate(lvl Priority) int {
	l := pk.partial[level(lvl)]
	for _, i := range l {
		if pk.Availability(int(i)) == 0 {
			return int(i)
		}
	}
	bs := &pk.buckets[level(lvl)]
	if len(bs.lists) > 0 && len(bs.lists[0]) > 0 && pk.seeds == 0 {
		return int(bs.lists[0][len(bs.lists[0])-1])
	}
	if len(l) > 0 {
		return int(l[len(l)-1])
	}
	if a := bs.nextBucket(0); a >= 0 {
		return int(bs.lists[a][len(bs.lists[a])-1])
	}
	return -1
}

// takeRun gives web source w the first run of free blocks of filed piece i,
// at most maxBytes long.
func (pk *Picker) takeRun(w *Peer, i int, maxBytes int64) Request {
	st := pk.states[i]
	if st == nil {
		st = pk.start(i)
	}
	limit := len(st.blocks)
	if maxBytes > 0 {
		limit = int(max(1, maxBytes/BlockSize))
	}
	first := st.nextFree
	for first < len(st.blocks) && (st.blocks[first].owner != nil || st.blocks[first].sender != nil) {
		first++
	}
	st.nextFree = first
	end := first
	for end < len(st.blocks) && end-first < limit && st.blocks[end].owner == nil && st.blocks[end].sender == nil {
		st.blocks[end].owner = w
		end++
	}
	st.free -= end - first
	w.runs = append(w.runs, webRun{piece: int32(i), first: int32(first), end: int32(end), remaining: int32(end - first)})
	pk.refile(i)
	head := pk.blockRequest(i, first)
	tail := pk.blockRequest(i, end-1)
	return Request{Piece: i, Begin: head.Begin, Length: tail.Begin + tail.Length - head.Begin}
}

// WebFailed returns to the pool every block of r that web source w was
// fetching and has not delivered (the mirror failed or was cut short). It
// returns the number of blocks returned.
func (pk *Picker) WebFailed(w *Peer, r Request) int {
	if w == nil || !w.web || w.gone || uint(r.Piece) >= uint(len(pk.lengths)) || r.Length <= 0 || r.Begin < 0 {
		return 0
	}
	i := r.Piece
	st := pk.states[i]
	if st == nil {
		return 0
	}
	first := int(r.Begin / BlockSize)
	end := int(min((r.Begin+r.Length+BlockSize-1)/BlockSize, int64(len(st.blocks))))
	n := 0
	for b := first; b < end; b++ {
		if st.blocks[b].owner == w && st.blocks[b].sender == nil {
			pk.dropRecord(w, i, b)
			pk.unassign(w, i, b)
			n++
		}
	}
	pk.settle(i)
	return n
}
