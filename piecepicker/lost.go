package piecepicker

import (
	"math"

	"github.com/debtorrent/debtorrent/internal/bitfield"
)

// PieceLost undoes PieceVerified: piece i, which the storage no longer holds
// (evicted past a size cap, found bad), is missing again. It is filed again
// by its priority and availability, as libtorrent's we_dont_have does, so a
// wanted piece is picked again; an urgent one goes to the end of the urgent
// pieces without a deadline. It reports whether the piece was had.
func (pk *Picker) PieceLost(i int) bool {
	if uint(i) >= uint(len(pk.prio)) || !pk.have.Has(i) {
		return false
	}
	pk.have.Clear(i)
	if pk.prio[i] == Urgent {
		pk.urgentSeq++
		pk.urgentKey[int32(i)] = urgentEntry{piece: int32(i), deadline: math.MaxInt64, seq: pk.urgentSeq}
	}
	pk.wantedChanged(i, false)
	pk.file(i)
	return true
}

// PeerDontHave records BEP 54's lt_donthave: peer p no longer has piece i.
// A peer that had every piece keeps every other one. Its outstanding
// requests for the piece are kept: the peer rejects them, or the engine
// cancels them. It reports whether the peer was known to have the piece.
func (pk *Picker) PeerDontHave(p *Peer, i int) bool {
	if !pk.live(p) || uint(i) >= uint(len(pk.lengths)) {
		return false
	}
	if p.seed {
		// From have-all to a bitfield of every piece: O(pieces), once.
		p.seed = false
		pk.seeds--
		p.have = bitfield.New(len(pk.lengths))
		p.have.SetAll()
		p.wanted = 0
		for k := range pk.lengths {
			pk.avail[k]++
			pk.availChanged(k, pk.avail[k]-1)
			if pk.wanted(k) {
				p.wanted++
			}
		}
	}
	if p.have == nil || !p.have.Clear(i) {
		return false
	}
	pk.avail[i]--
	pk.availChanged(i, pk.avail[i]+1)
	if pk.wanted(i) {
		p.wanted--
	}
	return true
}
