package debtorrent

import (
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/internal/choker"
	"github.com/debtorrent/debtorrent/peerwire"
)

// chokePeer adapts a peer to choker.Peer (its methods are that interface's);
// it is read on the loop only.
type chokePeer struct {
	p   *peer
	now time.Time
}

func (c chokePeer) Interested() bool       { return c.p.interested }
func (c chokePeer) DownloadRate() float64  { return c.p.down.Rate(c.now) }
func (c chokePeer) UploadRate() float64    { return c.p.up.Rate(c.now) }
func (c chokePeer) LastBlockAt() time.Time { return c.p.lastBlockAt }
func (c chokePeer) ConnectedAt() time.Time { return c.p.connectedAt }
func (c chokePeer) Unchoked() bool         { return c.p.unchoked }
func (c chokePeer) UnchokedAt() time.Time  { return c.p.unchokedAt }
func (c chokePeer) Optimistic() bool       { return c.p.optimistic }

var _ choker.Peer = chokePeer{}

// seeding reports whether the torrent wants nothing more: the choker then
// ranks peers by how fast we upload to them.
func (t *Torrent) seeding() bool { return t.pk.NumWanted() == 0 }

// uploadSlots is how many peers are unchoked at once: the regular slots and
// the optimistic one.
func (t *Torrent) uploadSlots() int { return choker.DefaultConfig().RegularSlots + 1 }

// Fleet choking. Between debtorrent peers the point is not to trade (tit
// for tat) but to keep the mirror out: a machine that has what another
// wants serves it, whoever it is, as long as its upload can. So every
// interested fleet peer is unchoked, up to maxFleetUnchoked, or, with an
// upload cap, as many as it serves at fleetMinRate each. Standard peers keep
// the choker's tit-for-tat with its own slots.
const (
	maxFleetUnchoked = 48
	fleetMinRate     = 256 << 10 // bytes per second a fleet peer is given at least
)

// fleetVersion is the client name our extended handshake sends ("v").
const fleetVersion = "debtorrent"

// isFleetClient reports whether an extended handshake's "v" names
// debtorrent.
func isFleetClient(v string) bool { return strings.HasPrefix(v, fleetVersion) }

// fleetSlots is how many fleet peers may be unchoked at once.
func (t *Torrent) fleetSlots() int {
	if r := t.c.cfg.UploadRate; r > 0 {
		return int(min(max(r/fleetMinRate, int64(choker.DefaultConfig().RegularSlots)), maxFleetUnchoked))
	}
	return maxFleetUnchoked
}

// fleetUnchoked counts the fleet peers unchoked now.
func (t *Torrent) fleetUnchoked() int {
	n := 0
	for q := range t.peers {
		if q.fleet && q.unchoked {
			n++
		}
	}
	return n
}

// rechoke runs one round of the choker over the standard peers and of the
// fleet rule over the debtorrent peers, and applies both.
func (t *Torrent) rechoke(now time.Time) {
	if len(t.peers) == 0 {
		return
	}
	ps := make([]*peer, 0, len(t.peers))
	cps := make([]choker.Peer, 0, len(t.peers))
	fleetFree := t.fleetSlots()
	for p := range t.peers {
		if p.fleet {
			if p.interested && fleetFree > 0 {
				fleetFree--
				t.unchoke(p, now)
			} else {
				t.choke(p)
			}
			continue
		}
		ps = append(ps, p)
		cps = append(cps, chokePeer{p, now})
	}
	if len(ps) == 0 {
		return
	}
	d := choker.Choose(now, cps, t.seeding(), t.chokeState, t.rng, choker.DefaultConfig())
	t.chokeState = d.State
	for k, p := range ps {
		p.optimistic = k == d.Optimistic
		if d.Unchoked(k) {
			t.unchoke(p, now)
		} else {
			t.choke(p)
		}
	}
}

// maybeUnchoke unchokes a newly interested peer at once when an upload slot
// is free, rather than making it wait for the next round (a fleet peer: a
// fleet slot).
func (t *Torrent) maybeUnchoke(p *peer) {
	if p.unchoked {
		return
	}
	if p.fleet {
		if t.fleetUnchoked() < t.fleetSlots() {
			t.unchoke(p, time.Now())
		}
		return
	}
	n := 0
	for q := range t.peers {
		if q.unchoked && !q.fleet {
			n++
		}
	}
	if n < t.uploadSlots() {
		t.unchoke(p, time.Now())
	}
}

// unchokeWaiting gives a free upload slot to an interested peer we choke.
func (t *Torrent) unchokeWaiting() {
	for q := range t.peers {
		if q.interested && !q.unchoked {
			t.maybeUnchoke(q)
			if q.unchoked {
				return
			}
		}
	}
}

func (t *Torrent) unchoke(p *peer, now time.Time) {
	if p.unchoked {
		return
	}
	p.unchoked, p.unchokedAt = true, now
	p.amChoking.Store(false)
	p.out.push(peerwire.Message{ID: peerwire.Unchoke})
}

// choke stops serving p; requests it had queued are dropped (rejected, with
// the fast extension).
func (t *Torrent) choke(p *peer) {
	if !p.unchoked {
		return
	}
	p.unchoked = false
	p.out.mu.Lock()
	p.amChoking.Store(true)
	p.out.ctrl = append(p.out.ctrl, peerwire.Message{ID: peerwire.Choke})
	if p.fast {
		for _, r := range p.out.uploads {
			p.out.ctrl = append(p.out.ctrl, peerwire.Message{ID: peerwire.Reject, Index: uint32(r.Piece), Begin: uint32(r.Begin), Length: uint32(r.Length)})
		}
	}
	p.out.uploads = nil
	p.out.mu.Unlock()
	p.out.signal()
}
