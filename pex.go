package debtorrent

import (
	"net"
	"net/netip"
	"time"

	"github.com/debtorrent/debtorrent/peerwire"
)

// Peer exchange (BEP 11).
const (
	// defaultPEXInterval is the least time between two ut_pex messages to
	// one peer: BEP 11's once a minute.
	defaultPEXInterval = time.Minute
	// maxPEXAccepted bounds the addresses taken from one ut_pex message;
	// the rest are ignored (BEP 11 senders put at most 50 in one).
	maxPEXAccepted = peerwire.MaxPEXAddedPerMessage
	// maxPEXPerPeer bounds the addresses one connection may add to the
	// candidates over its whole life, so a peer cannot fill them alone.
	maxPEXPerPeer = 500
)

// peerExt is what the loop knows of a peer's extensions beyond peer's own
// fields: PEX and ut_metadata state. Owned by the loop.
type peerExt struct {
	pexID      uint8           // the peer's extended ID for ut_pex; 0: unsupported
	metadataID uint8           // the peer's extended ID for ut_metadata; 0: unsupported
	listenAddr string          // where the peer accepts connections; "": not known
	told       map[string]bool // the addresses our last ut_pex messages said we are connected to
	pexAt      time.Time       // when a ut_pex message last went to the peer (or it connected)
	pexTaken   int             // addresses taken from its ut_pex messages
	metaServed int             // ut_metadata requests answered (metadata.go)
}

// ext returns p's extension state, made on first use.
func (t *Torrent) ext(p *peer) *peerExt {
	e := t.exts[p]
	if e == nil {
		e = &peerExt{told: make(map[string]bool), pexAt: p.connectedAt}
		if p.outgoing {
			e.listenAddr = p.addr
		}
		t.exts[p] = e
	}
	return e
}

// onExtHandshake keeps what PEX and ut_metadata need from p's extension
// handshake: its IDs for them and, for a peer that connected to us, the
// port it listens on.
func (t *Torrent) onExtHandshake(p *peer, h peerwire.ExtendedHandshake) {
	e := t.ext(p)
	e.pexID, _ = h.ID(peerwire.ExtensionPEX)
	e.metadataID, _ = h.ID(peerwire.ExtensionMetadata)
	if !p.outgoing && h.P > 0 {
		if ap, err := netip.ParseAddrPort(p.addr); err == nil {
			e.listenAddr = netip.AddrPortFrom(ap.Addr().Unmap(), uint16(h.P)).String()
		}
	}
}

// pexTick sends each PEX-capable peer, at most every pexInterval, the
// peers connected and dropped since its previous message, and forgets the
// state of peers gone.
func (t *Torrent) pexTick(now time.Time) {
	if t.info.Private {
		clear(t.exts)
		return
	}
	var current map[string]peerwire.PEXFlags // listen addresses of connected peers, made when needed
	for p, e := range t.exts {
		if p.removed {
			delete(t.exts, p)
			continue
		}
		if e.pexID == 0 || now.Sub(e.pexAt) < t.c.pexInterval {
			continue
		}
		if current == nil {
			current = make(map[string]peerwire.PEXFlags, len(t.peers))
			for q := range t.peers {
				switch qe := t.exts[q]; {
				case q.outgoing:
					current[q.addr] = peerwire.PEXReachable // we reached it
				case qe != nil && qe.listenAddr != "":
					current[qe.listenAddr] = 0
				}
			}
		}
		t.sendPEX(p, e, current, now)
	}
}

// sendPEX sends p what changed in current since the addresses it was told.
func (t *Torrent) sendPEX(p *peer, e *peerExt, current map[string]peerwire.PEXFlags, now time.Time) {
	var msg peerwire.PEX
	for a, flags := range current {
		if len(msg.Added) == peerwire.MaxPEXAddedPerMessage {
			break
		}
		if e.told[a] || a == e.listenAddr {
			continue
		}
		if ap, err := netip.ParseAddrPort(a); err == nil {
			msg.Added = append(msg.Added, peerwire.PEXPeer{Addr: ap, Flags: flags})
		}
	}
	for a := range e.told {
		if len(msg.Dropped) == peerwire.MaxPEXDroppedPerMessage {
			break
		}
		if _, still := current[a]; !still {
			if ap, err := netip.ParseAddrPort(a); err == nil {
				msg.Dropped = append(msg.Dropped, ap)
			}
		}
	}
	e.pexAt = now
	if len(msg.Added) == 0 && len(msg.Dropped) == 0 {
		return
	}
	payload, err := peerwire.MarshalPEX(msg)
	if err != nil {
		t.log.Debug("debtorrent: cannot encode ut_pex", "err", err)
		return
	}
	for _, a := range msg.Added {
		e.told[a.Addr.String()] = true
	}
	for _, d := range msg.Dropped {
		delete(e.told, d.String())
	}
	p.out.push(peerwire.Message{ID: peerwire.Extended, ExtendedID: e.pexID, Payload: payload})
}

// onPEX adds the peers a ut_pex message lists to the candidates: at most
// maxPEXAccepted of one message and maxPEXPerPeer of one connection, never
// port 0 nor our own address. A malformed message drops the peer. A
// private torrent (BEP 27) ignores PEX: it never offered it.
func (t *Torrent) onPEX(p *peer, payload []byte) {
	if t.info.Private {
		return
	}
	msg, err := peerwire.ParsePEX(payload)
	if err != nil {
		t.removePeer(p, err)
		return
	}
	e := t.ext(p)
	var addrs []string
	for _, a := range msg.Added {
		if len(addrs) == maxPEXAccepted || e.pexTaken == maxPEXPerPeer {
			break
		}
		if !a.Addr.IsValid() || a.Addr.Port() == 0 || a.Addr.Addr().IsUnspecified() || a.Addr.Addr().IsMulticast() || t.c.isOwnAddr(a.Addr) {
			continue
		}
		addrs = append(addrs, a.Addr.String())
		e.pexTaken++
	}
	if len(addrs) > 0 {
		t.addCandidates(addrs, false)
	}
}

// isOwnAddr reports whether ap is this Client's listening address: its port
// at a loopback address or one of this host's interface addresses.
func (c *Client) isOwnAddr(ap netip.AddrPort) bool {
	if ap.Port() != c.port() {
		return false
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == ip {
				return true
			}
		}
	}
	return false
}
