package piecepicker

import (
	"fmt"

	"github.com/debtorrent/debtorrent/internal/bitfield"
)

// Peer is the Picker's handle for one connected peer or web source, made by
// AddPeer or AddWebSource. The engine keeps it with its connection and passes
// it back; it stays a valid (inert) handle after RemovePeer, so senders of a
// failed piece can still be named.
type Peer struct {
	id      uint64
	index   int // position in Picker.peers
	web     bool
	seed    bool // has every piece (have-all); have is then nil
	gone    bool
	choking bool
	have    *bitfield.Bitfield // nil until the first have or bitfield
	wanted  int                // pieces it has that we want (non-seeds only)
	fast    []int32
	reqs    []blockRef // outstanding requests, oldest first (peers only)
	runs    []webRun   // outstanding runs (web sources only)
}

// blockRef names block of piece.
type blockRef struct {
	piece, block int32
}

// webRun is a run of blocks [first, end) of piece handed to a web source;
// remaining counts those it still owns and has not sent.
type webRun struct {
	piece, first, end, remaining int32
}

// maxAllowedFast bounds the allowed-fast set kept per peer (BEP 6 suggests 10).
const maxAllowedFast = 64

// ID returns a number that identifies the peer among all this Picker has
// made, for logs.
func (p *Peer) ID() uint64 { return p.id }

// IsWeb reports whether the handle is a web source.
func (p *Peer) IsWeb() bool { return p.web }

// AddPeer registers a newly connected peer: it has no piece and is choking
// us, as the protocol starts.
func (pk *Picker) AddPeer() *Peer {
	p := &Peer{choking: true}
	pk.addPeer(p)
	return p
}

// AddWebSource registers a web source (an HTTP mirror). It has every piece,
// is not counted in availability, and gets work from PickForWeb only.
func (pk *Picker) AddWebSource() *Peer {
	p := &Peer{web: true}
	pk.addPeer(p)
	return p
}

func (pk *Picker) addPeer(p *Peer) {
	pk.nextID++
	p.id = pk.nextID
	p.index = len(pk.peers)
	pk.peers = append(pk.peers, p)
}

// live reports whether p is a peer (not a web source) still connected.
func (pk *Picker) live(p *Peer) bool { return p != nil && !p.gone && !p.web }

// has reports whether peer p has piece i.
func (p *Peer) has(i int) bool { return p.seed || p.have != nil && p.have.Has(i) }

// RemovePeer forgets a peer or web source that left: its requests go back to
// the pool and its pieces leave the availability counts.
func (pk *Picker) RemovePeer(p *Peer) {
	if p == nil || p.gone {
		return
	}
	pk.DropRequests(p)
	if !p.web {
		pk.forgetHaves(p)
	}
	last := pk.peers[len(pk.peers)-1]
	pk.peers[p.index] = last
	last.index = p.index
	pk.peers = pk.peers[:len(pk.peers)-1]
	p.gone = true
}

// forgetHaves takes p's pieces out of the availability counts.
func (pk *Picker) forgetHaves(p *Peer) {
	if p.seed {
		pk.seeds--
		p.seed = false
		return
	}
	if p.have == nil {
		return
	}
	for i := range p.have.Ones() {
		pk.avail[i]--
		pk.availChanged(i, pk.avail[i]+1)
	}
	p.have = nil
	p.wanted = 0
}

// PeerHave records a have message: peer p has piece i. It reports whether the
// piece is one we want (the engine may then declare interest). Out-of-range
// indexes are ignored.
func (pk *Picker) PeerHave(p *Peer, i int) bool {
	if !pk.live(p) || uint(i) >= uint(len(pk.lengths)) {
		return false
	}
	if p.have == nil && !p.seed {
		p.have = bitfield.New(len(pk.lengths))
	}
	if !p.seed && p.have.Set(i) {
		pk.avail[i]++
		pk.availChanged(i, pk.avail[i]-1)
		if pk.wanted(i) {
			p.wanted++
		}
	}
	return pk.wanted(i)
}

// PeerBitfield records a bitfield message: peer p has exactly the pieces in
// bf. It replaces what was known of p. The Picker keeps a copy.
func (pk *Picker) PeerBitfield(p *Peer, bf *bitfield.Bitfield) error {
	if bf.Len() != len(pk.lengths) {
		return fmt.Errorf("piecepicker: bitfield of %d pieces for a torrent of %d", bf.Len(), len(pk.lengths))
	}
	if !pk.live(p) {
		return nil
	}
	if bf.All() {
		pk.PeerHaveAll(p)
		return nil
	}
	pk.forgetHaves(p)
	p.have = bf.Clone()
	for i := range bf.Ones() {
		pk.avail[i]++
		pk.availChanged(i, pk.avail[i]-1)
		if pk.wanted(i) {
			p.wanted++
		}
	}
	return nil
}

// PeerHaveAll records BEP 6's have-all (or a full bitfield): p has every
// piece. It costs O(1) unless p had announced single pieces before.
func (pk *Picker) PeerHaveAll(p *Peer) {
	if !pk.live(p) || p.seed {
		return
	}
	pk.forgetHaves(p)
	p.seed = true
	pk.seeds++
}

// PeerHaveNone records BEP 6's have-none: p has no piece.
func (pk *Picker) PeerHaveNone(p *Peer) {
	if pk.live(p) {
		pk.forgetHaves(p)
	}
}

// Interesting reports whether p has a piece we want: whether we should be
// interested in it. O(1).
func (pk *Picker) Interesting(p *Peer) bool {
	if !pk.live(p) {
		return false
	}
	if p.seed {
		return pk.numWanted > 0
	}
	return p.wanted > 0
}

// SetChoking records whether p is choking us. A choking peer is only asked
// for pieces in its allowed-fast set. Choking keeps outstanding requests:
// with the fast extension the peer rejects those it drops; without it, call
// DropRequests too.
func (pk *Picker) SetChoking(p *Peer, choking bool) {
	if pk.live(p) {
		p.choking = choking
	}
}

// Choking reports whether p is choking us.
func (p *Peer) Choking() bool { return p.choking }

// AllowFast records BEP 6's allowed-fast message: p serves piece i even while
// choking us. At most 64 pieces are kept per peer.
func (pk *Picker) AllowFast(p *Peer, i int) {
	if !pk.live(p) || uint(i) >= uint(len(pk.lengths)) || len(p.fast) >= maxAllowedFast {
		return
	}
	for _, f := range p.fast {
		if int(f) == i {
			return
		}
	}
	p.fast = append(p.fast, int32(i))
}

// DropRequests returns every request outstanding at p to the pool (a choke
// without the fast extension, a snubbed peer) and reports how many there
// were.
func (pk *Picker) DropRequests(p *Peer) int {
	if p == nil || p.gone {
		return 0
	}
	n := 0
	if p.web {
		runs := p.runs
		p.runs = nil
		for _, r := range runs {
			for b := r.first; b < r.end; b++ {
				if st := pk.states[r.piece]; st != nil && st.blocks[b].sender == nil && st.requestedBy(int(b), p) {
					pk.unassign(p, int(r.piece), int(b))
					n++
				}
			}
			if pk.states[r.piece] != nil {
				pk.settle(int(r.piece))
			}
		}
		return n
	}
	reqs := p.reqs
	p.reqs = p.reqs[:0]
	for _, r := range reqs {
		pk.unassign(p, int(r.piece), int(r.block))
		if pk.states[r.piece] != nil {
			pk.settle(int(r.piece))
		}
		n++
	}
	return n
}

// Requests appends p's outstanding requests to dst, oldest first (for a web
// source: its outstanding runs, which may include blocks already received).
func (pk *Picker) Requests(p *Peer, dst []Request) []Request {
	if p == nil {
		return dst
	}
	for _, r := range p.reqs {
		dst = append(dst, pk.blockRequest(int(r.piece), int(r.block)))
	}
	for _, r := range p.runs {
		first := pk.blockRequest(int(r.piece), int(r.first))
		lastB := pk.blockRequest(int(r.piece), int(r.end-1))
		dst = append(dst, Request{Piece: int(r.piece), Begin: first.Begin, Length: lastB.Begin + lastB.Length - first.Begin})
	}
	return dst
}

// NumRequests returns the number of p's outstanding block requests (for a
// web source: blocks it still owes).
func (p *Peer) NumRequests() int {
	n := len(p.reqs)
	for _, r := range p.runs {
		n += int(r.remaining)
	}
	return n
}

// dropRecord forgets p's own record of a request for block b of piece i.
func (pk *Picker) dropRecord(p *Peer, i, b int) {
	if p.web {
		// Runs never take a block they do not own, so the latest run
		// covering b is the one that holds it.
		for k := len(p.runs) - 1; k >= 0; k-- {
			r := &p.runs[k]
			if int(r.piece) == i && int(r.first) <= b && b < int(r.end) {
				r.remaining--
				if r.remaining == 0 {
					p.runs = append(p.runs[:k], p.runs[k+1:]...)
				}
				return
			}
		}
		return
	}
	for k, r := range p.reqs {
		if int(r.piece) == i && int(r.block) == b {
			p.reqs = append(p.reqs[:k], p.reqs[k+1:]...)
			return
		}
	}
}
