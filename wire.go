package debtorrent

import (
	"bytes"
	"errors"
	"time"

	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// onPeer admits a connected peer, or closes it (limit, ban, duplicate, self).
// A full torrent makes room by dropping an idle peer (admitPeer).
func (t *Torrent) onPeer(p *peer) {
	if p.outgoing {
		delete(t.dialing, p.addr)
	}
	reason := ""
	switch {
	case p.id == t.c.peerID:
		reason = "ourselves"
	case t.banned[p.addr] || t.c.bans.banned(p.addr, p.id):
		reason = "banned"
	}
	if reason == "" {
		if q := t.peerByID(p.id); q != nil {
			// Both sides dialed: both keep the connection opened by the
			// side with the smaller peer ID, so one survives.
			if bytes.Compare(t.initiator(p), t.initiator(q)) < 0 {
				t.removePeer(q, errors.New("duplicate connection"))
			} else {
				reason = "already connected"
			}
		}
	}
	if reason == "" {
		reason = t.admitPeer(p) // per-address limits, slots (admit.go)
	}
	if reason != "" {
		if p.outgoing && p.id == t.c.peerID {
			t.banned[p.addr] = true // our own address, listed by a tracker: never dial it again
		}
		t.log.Debug("debtorrent: refusing peer", "peer", p.addr, "why", reason)
		p.conn.Close()
		t.c.releaseConn()
		return
	}
	t.peers[p] = struct{}{}
	p.pp = t.pk.AddPeer()
	t.byPP[p.pp] = p
	// The bitfield (or have-all, have-none) must be the first message: queue
	// it before the reader can queue anything.
	have := t.pk.Have()
	switch {
	case p.fast && have.Count() == t.info.NumPieces():
		p.out.push(peerwire.Message{ID: peerwire.HaveAll})
	case p.fast && have.Count() == 0:
		p.out.push(peerwire.Message{ID: peerwire.HaveNone})
	case have.Count() > 0:
		p.out.push(peerwire.Message{ID: peerwire.Bitfield, Bitfield: have.Clone()})
	}
	if p.ext {
		h := peerwire.ExtendedHandshake{M: map[string]int{peerwire.ExtensionDontHave: extDontHave, peerwire.ExtensionMetadata: extMetadata},
			V: fleetVersion, P: int(t.c.port()), Reqq: ourReqq, MetadataSize: len(t.info.Bytes())}
		if !t.info.Private { // BEP 27: a private torrent's peers come from its trackers only
			h.M[peerwire.ExtensionPEX] = extPEX
		}
		if m, err := h.Message(); err == nil {
			p.out.push(m)
		}
	}
	p.run()
	t.dirty = true
}

// peerByID returns the connected peer with this ID, if any.
func (t *Torrent) peerByID(id peerwire.PeerID) *peer {
	for q := range t.peers {
		if q.id == id {
			return q
		}
	}
	return nil
}

// initiator returns the peer ID of the side that opened p's connection.
func (t *Torrent) initiator(p *peer) []byte {
	if p.outgoing {
		return t.c.peerID[:]
	}
	return p.id[:]
}

// removePeer forgets p, returns its requests to the pool and closes it.
func (t *Torrent) removePeer(p *peer, err error) {
	if p.removed {
		return
	}
	p.removed = true
	if err != nil && !errors.Is(err, ErrTorrentClosed) {
		t.log.Debug("debtorrent: peer gone", "peer", p.addr, "err", err)
	}
	delete(t.peers, p)
	t.unadmit(p)
	delete(t.byPP, p.pp)
	t.pk.RemovePeer(p.pp)
	p.conn.Close()
	t.c.releaseConn()
	t.dirty = true
	if t.ctx.Err() == nil {
		t.refillAll()
		t.dialMore()
	}
}

// onMessage applies a message from p (requests and cancels are handled by
// p's reader).
func (t *Torrent) onMessage(p *peer, m peerwire.Message) {
	if p.removed {
		m.Release()
		return
	}
	switch m.ID {
	case peerwire.Piece:
		t.onBlock(p, m)
		return
	case peerwire.Choke:
		t.pk.SetChoking(p.pp, true)
		if !p.fast {
			t.dropRequests(p)
			t.refillAll()
		}
	case peerwire.Unchoke:
		t.pk.SetChoking(p.pp, false)
		t.fill(p)
	case peerwire.Interested:
		p.interested = true
		t.maybeUnchoke(p)
	case peerwire.NotInterested:
		p.interested = false
		if p.unchoked {
			// Its slot goes to a peer that wants something.
			t.choke(p)
			t.unchokeWaiting()
		}
	case peerwire.Have:
		t.pk.PeerHave(p.pp, int(m.Index))
		t.peerHasChanged(p)
	case peerwire.Bitfield:
		if m.Bitfield == nil {
			t.removePeer(p, errors.New("bitfield of unknown size"))
			return
		}
		if err := t.pk.PeerBitfield(p.pp, m.Bitfield); err != nil {
			t.removePeer(p, err)
			return
		}
		t.peerHasChanged(p)
	case peerwire.HaveAll:
		t.pk.PeerHaveAll(p.pp)
		t.peerHasChanged(p)
	case peerwire.HaveNone:
		t.pk.PeerHaveNone(p.pp)
	case peerwire.Reject:
		r := piecepicker.Request{Piece: int(m.Index), Begin: int64(m.Begin), Length: int64(m.Length)}
		if _, ok := p.sent[r]; ok {
			delete(p.sent, r)
			t.pk.Reject(p.pp, r)
			t.refillAll()
		}
	case peerwire.AllowedFast:
		t.pk.AllowFast(p.pp, int(m.Index))
		t.fill(p)
	case peerwire.Extended:
		t.onExtended(p, m)
	}
}

// Our extended message IDs (BEP 10), as announced in our handshake.
const (
	extDontHave = 1 // lt_donthave, BEP 54
	extPEX      = 2 // ut_pex, BEP 11 (pex.go)
	extMetadata = 3 // ut_metadata, BEP 9 (metadata.go)
)

// onExtended applies an extension message: the peer's handshake (its queue
// length, whether it speaks lt_donthave, ut_pex, ut_metadata), an
// lt_donthave, a ut_pex (pex.go) or a ut_metadata (metadata.go).
func (t *Torrent) onExtended(p *peer, m peerwire.Message) {
	switch m.ExtendedID {
	case peerwire.HandshakeExtendedID:
		h, err := peerwire.ParseExtendedHandshake(m.Payload)
		if err != nil {
			return
		}
		if h.Reqq > 0 {
			p.reqq = h.Reqq
		}
		p.dontHaveID, _ = h.ID(peerwire.ExtensionDontHave)
		if fleet := isFleetClient(h.V); fleet != p.fleet {
			p.fleet = fleet
			if fleet && p.interested {
				t.maybeUnchoke(p)
			}
		}
		t.onExtHandshake(p, h)
	case extPEX:
		t.onPEX(p, m.Payload)
	case extMetadata:
		t.onMetadata(p, m.Payload)
	case extDontHave:
		i, err := peerwire.ParseDontHave(m.Payload, t.info.NumPieces())
		if err != nil {
			t.removePeer(p, err)
			return
		}
		if !t.pk.PeerDontHave(p.pp, i) {
			return
		}
		// Its requests for the piece will not be served: ask others.
		var buf []piecepicker.Request
		for _, r := range t.pk.Requests(p.pp, buf) {
			if r.Piece == i {
				t.cancelRequest(p, r)
			}
		}
		t.peerHasChanged(p)
		t.refillAll()
	}
}

// peerHasChanged follows a have, bitfield or have-all: interest, requests.
func (t *Torrent) peerHasChanged(p *peer) {
	t.updateInterest(p)
	t.fill(p)
}

// updateInterest tells p whether we are interested in it, when that changed.
func (t *Torrent) updateInterest(p *peer) {
	want := t.pk.Interesting(p.pp)
	if want == p.amInterested {
		return
	}
	p.amInterested = want
	id := peerwire.NotInterested
	if want {
		id = peerwire.Interested
	}
	p.out.push(peerwire.Message{ID: id})
}

// dropRequests forgets every request outstanding at p.
func (t *Torrent) dropRequests(p *peer) {
	t.pk.DropRequests(p.pp)
	clear(p.sent)
}

// cancelRequest withdraws r from p: a cancel goes out, the picker forgets it.
func (t *Torrent) cancelRequest(p *peer, r piecepicker.Request) {
	if _, ok := p.sent[r]; !ok {
		return
	}
	delete(p.sent, r)
	t.pk.Cancel(p.pp, r)
	p.out.push(peerwire.Message{ID: peerwire.Cancel, Index: uint32(r.Piece), Begin: uint32(r.Begin), Length: uint32(r.Length)})
}

// peerOf returns the connected peer behind a picker handle, if any.
func (t *Torrent) peerOf(pp *piecepicker.Peer) *peer { return t.byPP[pp] }

// broadcastHave tells every peer we have piece i, and drops our interest in
// peers that have nothing more for us.
func (t *Torrent) broadcastHave(i int) {
	for p := range t.peers {
		p.out.push(peerwire.Message{ID: peerwire.Have, Index: uint32(i)})
		t.updateInterest(p)
	}
}

// checkStalled drops the requests of a peer that sent nothing for a long
// time while it had requests, so that others may take them.
func (t *Torrent) checkStalled(p *peer, now time.Time) {
	if p.pp.NumRequests() == 0 {
		return
	}
	last := p.lastBlockAt
	if p.waitingSince.After(last) {
		last = p.waitingSince
	}
	if now.Sub(last) > stallTimeout {
		t.log.Debug("debtorrent: peer stalled; its requests go to others", "peer", p.addr)
		t.dropRequests(p)
		p.stalledUntil = now.Add(stallTimeout)
		t.refillAll()
	}
}

// stallTimeout is how long a peer with requests outstanding may send nothing.
const stallTimeout = 30 * time.Second
