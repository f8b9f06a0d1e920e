package piecepicker

// BlockReceived records that peer (or web source) p sent the block r. The
// receipt says whether to keep the data, which other peers to send a cancel
// for the same block, and whether the piece is now complete and should be
// verified. A block that was not requested from p is still taken when it is
// missing from a wanted piece (a late answer after a timeout, say).
func (pk *Picker) BlockReceived(p *Peer, r Request) Receipt {
	pk.cancelBuf = pk.cancelBuf[:0]
	if p == nil {
		return Receipt{}
	}
	b, ok := pk.blockOf(r)
	if !ok {
		return Receipt{}
	}
	i := r.Piece
	st := pk.states[i]
	if st == nil {
		if pk.have.Has(i) || pk.prio[i] == None || p.gone {
			return Receipt{}
		}
		st = pk.start(i)
	}
	blk := &st.blocks[b]
	if blk.sender != nil || p.gone {
		// A duplicate (its requests were dropped on first arrival), or a
		// block from a peer already removed.
		return Receipt{}
	}
	if o := blk.owner; o != nil {
		pk.dropRecord(o, i, b)
		if o != p {
			pk.cancelBuf = append(pk.cancelBuf, o)
		}
		for _, e := range st.extra {
			if int(e.block) != b {
				continue
			}
			pk.dropRecord(e.peer, i, b)
			if e.peer != p {
				pk.cancelBuf = append(pk.cancelBuf, e.peer)
			}
		}
		for st.removeExtraOf(b) {
		}
		blk.owner = nil
	} else {
		st.free--
	}
	blk.sender = p
	st.received++
	pk.refile(i)
	return Receipt{Wanted: true, Cancel: pk.cancelBuf, PieceDone: st.received == len(st.blocks)}
}

// removeExtraOf drops one duplicate request of block b and reports whether
// there was one.
func (st *pieceState) removeExtraOf(b int) bool {
	for k, e := range st.extra {
		if int(e.block) == b {
			st.extra[k] = st.extra[len(st.extra)-1]
			st.extra = st.extra[:len(st.extra)-1]
			return true
		}
	}
	return false
}

// Reject records BEP 6's reject-request: p will not send r, which goes back
// to the pool. It reports whether r was outstanding at p.
func (pk *Picker) Reject(p *Peer, r Request) bool {
	if p == nil || p.web {
		return false
	}
	b, ok := pk.blockOf(r)
	if !ok {
		return false
	}
	return pk.release(p, r.Piece, b)
}

// Cancel withdraws the request r from p (the engine sent a cancel, or the
// request timed out): the block goes back to the pool. It reports whether r
// was outstanding at p.
func (pk *Picker) Cancel(p *Peer, r Request) bool { return pk.Reject(p, r) }
