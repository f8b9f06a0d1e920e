package debtorrent

import (
	"errors"
	"sync"
	"time"
)

// admission is a torrent's record of where its admitted peers come from,
// for the per-address limits; owned by the loop.
type admission struct {
	count  map[string]int   // admitted peers per address key
	keyOf  map[*peer]string // the address key each admitted peer counts under
	banGen uint64           // the ban list's generation last swept for
}

// limitKey is the address a connection from addr counts against for the
// per-address limits: its IP (IPv6: its /64) or, where bans go by ip:port
// (loopback and link-local, unless Config.BanLoopbackByIP), its ip:port.
func (b *banList) limitKey(addr string) string {
	ipPort, ip := b.addrKeys(addr)
	if ip != "" {
		return ip
	}
	return ipPort
}

// admitPeer decides whether p, neither ourselves, banned nor a duplicate, may
// join: its address is below MaxConnsPerAddress in this torrent and below
// MaxConnsPerAddressTotal over the Client, and the torrent has a free slot or
// an idle peer to drop for it (see idlest). It returns why not, or "" once p
// is counted under its address.
func (t *Torrent) admitPeer(p *peer) string {
	cfg := &t.c.cfg
	key := t.c.bans.limitKey(p.addr)
	if t.adm.count[key] >= cfg.MaxConnsPerAddress {
		return "too many connections from its address"
	}
	if len(t.peers) >= cfg.MaxConnsPerTorrent {
		q := t.idlest(time.Now())
		if q == nil {
			return "too many peers"
		}
		t.removePeer(q, errors.New("idle: its slot goes to a new peer"))
		if len(t.peers) >= cfg.MaxConnsPerTorrent {
			return "too many peers"
		}
	}
	if !t.c.addrConns.add(key, cfg.MaxConnsPerAddressTotal) {
		return "too many connections from its address to this client"
	}
	if t.adm.count == nil {
		t.adm.count = make(map[string]int)
		t.adm.keyOf = make(map[*peer]string)
	}
	t.adm.count[key]++
	t.adm.keyOf[p] = key
	return ""
}

// unadmit takes a departing peer off its address's counts.
func (t *Torrent) unadmit(p *peer) {
	key, ok := t.adm.keyOf[p]
	if !ok {
		return
	}
	delete(t.adm.keyOf, p)
	if t.adm.count[key]--; t.adm.count[key] <= 0 {
		delete(t.adm.count, key)
	}
	t.c.addrConns.release(key)
}

// idle reports whether p is of no use now: neither side is interested,
// and no block went either way for IdlePeerTimeout since it connected.
func (t *Torrent) idle(p *peer, now time.Time) bool {
	if p.interested || p.amInterested {
		return false
	}
	last := p.connectedAt
	if p.lastBlockAt.After(last) {
		last = p.lastBlockAt
	}
	if now.Sub(last) < t.c.cfg.IdlePeerTimeout {
		return false
	}
	// A block uploaded lately shows in the meter (lastBlockAt covers
	// downloads).
	return p.up.Rate(now) == 0
}

// idlest returns the idle peer connected longest ago, or nil: the one to
// drop when a new peer needs its slot. Peers that send us data or want
// something are never chosen.
func (t *Torrent) idlest(now time.Time) *peer {
	var best *peer
	for q := range t.peers {
		if t.idle(q, now) && (best == nil || q.connectedAt.Before(best.connectedAt)) {
			best = q
		}
	}
	return best
}

// numIdle counts the peers idlest could drop, up to limit.
func (t *Torrent) numIdle(now time.Time, limit int) int {
	n := 0
	for q := range t.peers {
		if n >= limit {
			break
		}
		if t.idle(q, now) {
			n++
		}
	}
	return n
}

// sweepBanned drops the connected peers banned since the last sweep, by
// this torrent or another of the Client.
func (t *Torrent) sweepBanned() {
	g := t.c.bans.gen.Load()
	if g == t.adm.banGen {
		return
	}
	t.adm.banGen = g
	for p := range t.peers {
		if t.c.bans.banned(p.addr, p.id) {
			t.removePeer(p, errors.New("banned: sent bad data"))
		}
	}
}

// addrCounts counts the Client's admitted connections per address key, over
// all torrents. Safe for concurrent use.
type addrCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// add counts one more connection under key, unless limit are already
// counted.
func (a *addrCounts) add(key string, limit int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[key] >= limit {
		return false
	}
	if a.n == nil {
		a.n = make(map[string]int)
	}
	a.n[key]++
	return true
}

// below reports whether fewer than limit connections are counted under key.
func (a *addrCounts) below(key string, limit int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[key] < limit
}

// release forgets one connection counted under key.
func (a *addrCounts) release(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[key]--; a.n[key] <= 0 {
		delete(a.n, key)
	}
}
