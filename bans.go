package debtorrent

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debtorrent/debtorrent/peerwire"
)

// Ban periods: a source convicted of sending bad data is banned for
// banBase, twice as long at each repeat, up to banMax. Repeats are counted
// per key for as long as the key is remembered (banMemory after its ban
// ends), so a liar that waits out one ban and lies again is banned longer.
const (
	banBase      = 10 * time.Minute
	banMax       = 24 * time.Hour
	banMemory    = 24 * time.Hour
	maxBanKeys   = 4096 // keys remembered at most; the soonest to expire go first
	ipv6BanBits  = 64   // IPv6 addresses are banned and counted by /64
	maxBanStrike = 16   // strikes counted at most (banBase << 16 is past banMax)
)

// banList is the Client's record of banned sources, shared by its torrents:
// a liar convicted in one torrent is refused by all of them. It is safe for
// concurrent use: the torrents' loops ban and check, the accept goroutines
// check.
//
// A source is banned under three keys: its IP address (IPv6: its /64), its
// ip:port, and its peer ID. Loopback and link-local addresses are banned
// by ip:port only (unless byIPLocal), since on one host or one link several
// honest peers share the address: the peer ID ban still refuses the liar
// when it comes back under another port with the same ID.
type banList struct {
	now       func() time.Time
	byIPLocal bool

	gen atomic.Uint64 // bumped at every new ban, so loops can sweep their peers

	mu   sync.Mutex
	keys map[string]*banEntry
}

// banEntry is one banned key.
type banEntry struct {
	until   time.Time
	strikes int
}

func newBanList(now func() time.Time, byIPLocal bool) *banList {
	if now == nil {
		now = time.Now
	}
	return &banList{now: now, byIPLocal: byIPLocal, keys: make(map[string]*banEntry)}
}

// addrKeys returns the keys a source at addr ("host:port") is known by:
// its ip:port, and its IP (or /64) when addresses are banned by IP there.
// An addr that is not ip:port (a host name) is its own only key.
func (b *banList) addrKeys(addr string) (ipPort, ip string) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "a:" + addr, ""
	}
	a := ap.Addr().Unmap()
	ipPort = "a:" + netip.AddrPortFrom(a, ap.Port()).String()
	if k, ok := ipKey(a, b.byIPLocal); ok {
		ip = k
	}
	return ipPort, ip
}

// ipKey returns the key of an IP address (IPv4: the address, IPv6: its
// /64), or false for loopback and link-local addresses unless byIPLocal.
func ipKey(a netip.Addr, byIPLocal bool) (string, bool) {
	a = a.Unmap()
	if !byIPLocal && (a.IsLoopback() || a.IsLinkLocalUnicast()) {
		return "", false
	}
	if a.Is6() {
		p, err := a.Prefix(ipv6BanBits)
		if err != nil {
			return "", false
		}
		return "i:" + p.String(), true
	}
	return "i:" + a.String(), true
}

func idKey(id peerwire.PeerID) string { return "p:" + string(id[:]) }

// ban bans the source at addr with peer ID id and returns how long for
// (the longest of its keys' periods).
func (b *banList) ban(addr string, id peerwire.PeerID) time.Duration {
	ipPort, ip := b.addrKeys(addr)
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	var d time.Duration
	for _, k := range []string{ipPort, ip, idKey(id)} {
		if k != "" {
			d = max(d, b.strike(k, now))
		}
	}
	b.gen.Add(1)
	return d
}

// strike bans key k once more; b.mu is held.
func (b *banList) strike(k string, now time.Time) time.Duration {
	e := b.keys[k]
	if e == nil {
		if len(b.keys) >= maxBanKeys {
			b.prune(now)
		}
		e = &banEntry{}
		b.keys[k] = e
	} else if now.Before(e.until) {
		return e.until.Sub(now) // still banned: the same offence, not a repeat
	}
	e.strikes = min(e.strikes+1, maxBanStrike)
	d := min(banBase<<(e.strikes-1), banMax)
	e.until = now.Add(d)
	return d
}

// prune forgets keys whose ban ended more than banMemory ago, and if that
// frees nothing, the key whose ban ends soonest; b.mu is held.
func (b *banList) prune(now time.Time) {
	var soonest string
	for k, e := range b.keys {
		if now.Sub(e.until) > banMemory {
			delete(b.keys, k)
			continue
		}
		if soonest == "" || e.until.Before(b.keys[soonest].until) {
			soonest = k
		}
	}
	if len(b.keys) >= maxBanKeys && soonest != "" {
		delete(b.keys, soonest)
	}
}

// active reports whether key k is banned now; b.mu is held.
func (b *banList) active(k string, now time.Time) bool {
	e := b.keys[k]
	return e != nil && now.Before(e.until)
}

// bannedAddr reports whether a source at addr is banned, by ip:port or by IP.
func (b *banList) bannedAddr(addr string) bool {
	ipPort, ip := b.addrKeys(addr)
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active(ipPort, now) || (ip != "" && b.active(ip, now))
}

// banned reports whether a peer at addr with ID id is banned.
func (b *banList) banned(addr string, id peerwire.PeerID) bool {
	if b.bannedAddr(addr) {
		return true
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active(idKey(id), now)
}

// remoteAddr returns the "ip:port" of a connection's far end.
func remoteAddr(nc net.Conn) string { return nc.RemoteAddr().String() }
