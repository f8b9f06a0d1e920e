package tracker

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// fuzzHosts are the senders FuzzServerLimits announces from: IPv4 hosts,
// two IPv6 addresses of one /64 and one of another.
var fuzzHosts = []netip.Addr{
	netip.MustParseAddr("192.0.2.1"),
	netip.MustParseAddr("192.0.2.2"),
	netip.MustParseAddr("198.51.100.1"),
	netip.MustParseAddr("2001:db8::1"),
	netip.MustParseAddr("2001:db8::2"),
	netip.MustParseAddr("2001:db8:0:1::1"),
}

// FuzzServerLimits runs announces the input dictates against a server with
// small limits, three bytes an announce (sender, port, then swarm, event
// and whether the clock moves on), and after each checks the limits, the
// swarms' bookkeeping, and that no peer was evicted for a sender with as
// many peers in its swarm as the evicted peer's host had.
func FuzzServerLimits(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 1, 1, 0, 2, 1, 0})
	f.Add([]byte("flood flood flood flood flood flood flood flood"))
	f.Add([]byte{3, 1, 1, 4, 2, 1, 5, 3, 1, 3, 4, 2, 4, 5, 3, 0, 0, 16, 1, 1, 16})
	f.Fuzz(runLimits)
}

// maxLimitsOps bounds the announces of one FuzzServerLimits input: a few
// dozen reach every state of limits this small, and short inputs keep the
// fuzzer's minimization quick.
const maxLimitsOps = 64

// runLimits is FuzzServerLimits on one input.
func runLimits(t *testing.T, data []byte) {
	if len(data) > 3*maxLimitsOps {
		data = data[:3*maxLimitsOps]
	}
	clock := newFakeClock()
	cfg := ServerConfig{
		Interval: time.Minute, Now: clock.Now,
		MaxSwarms: 3, MaxSwarmsPerAddress: 2, MaxPeersPerSwarm: 6, MaxPeersPerAddress: 3,
	}
	srv := NewServer(cfg)
	hashes := make([]metainfo.InfoHash, 4)
	for i := range hashes {
		hashes[i] = testHash(fmt.Sprint("limits-", i))
	}
	for len(data) >= 3 {
		from := fuzzHosts[int(data[0])%len(fuzzHosts)]
		port := uint16(1 + data[1]%8)
		h := hashes[data[2]&3]
		ev := Event(data[2] >> 2 & 3)
		if data[2]&16 != 0 {
			clock.Advance(40 * time.Second)
		}
		data = data[3:]

		before := snapshotSwarm(srv, h, clock.Now())
		req := AnnounceRequest{InfoHash: h, Port: port, Event: ev, Left: 1}
		_, err := srv.announce(&req, from, netip.AddrPortFrom(from, port), false, false)
		if err != nil && err != errTooMany && err != errTooManyOwn {
			t.Fatalf("announce: %v", err)
		}
		checkEvictions(t, srv, h, hostOf(from), before)
		checkServerLimits(t, srv)
	}
}

// swarmSnapshot is a swarm's live peers and each host's count of them.
type swarmSnapshot struct {
	host  map[netip.AddrPort]netip.Prefix
	count map[netip.Prefix]int
}

// snapshotSwarm records h's peers not yet expired at now.
func snapshotSwarm(srv *Server, h metainfo.InfoHash, now time.Time) swarmSnapshot {
	snap := swarmSnapshot{host: map[netip.AddrPort]netip.Prefix{}, count: map[netip.Prefix]int{}}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	sw := srv.swarms[h]
	if sw == nil {
		return snap
	}
	cutoff := now.Add(-srv.cfg.PeerTimeout)
	for _, p := range sw.all {
		if !p.lastSeen.Before(cutoff) {
			snap.host[p.addr] = p.host.key
			snap.count[p.host.key]++
		}
	}
	return snap
}

// checkEvictions checks that every live peer of another host that left h's
// swarm in an announce from sender was of a host with more peers.
func checkEvictions(t *testing.T, srv *Server, h metainfo.InfoHash, sender netip.Prefix, before swarmSnapshot) {
	t.Helper()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	sw := srv.swarms[h]
	for addr, key := range before.host {
		if key == sender || (sw != nil && sw.byAddr[addr] != nil) {
			continue
		}
		if before.count[key] <= before.count[sender] {
			t.Fatalf("a peer of %v (%d peers) evicted for %v (%d peers)", key, before.count[key], sender, before.count[sender])
		}
	}
}

// checkServerLimits checks the limits and the bookkeeping of every swarm.
func checkServerLimits(t *testing.T, srv *Server) {
	t.Helper()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	cfg := srv.cfg
	if len(srv.swarms) > cfg.MaxSwarms {
		t.Fatalf("%d swarms, limit %d", len(srv.swarms), cfg.MaxSwarms)
	}
	created := map[netip.Prefix]int{}
	for _, sw := range srv.swarms {
		created[sw.creator]++
		if sw.len() > cfg.MaxPeersPerSwarm {
			t.Fatalf("swarm of %d peers, limit %d", sw.len(), cfg.MaxPeersPerSwarm)
		}
		count := map[netip.Prefix]int{}
		for i, p := range sw.all {
			if p.index != i || sw.byAddr[p.addr] != p || sw.hosts[p.host.key] != p.host {
				t.Fatalf("peer %v misfiled", p.addr)
			}
			count[p.host.key]++
		}
		top := 0
		for key, n := range count {
			if n > cfg.MaxPeersPerAddress {
				t.Fatalf("host %v has %d peers, limit %d", key, n, cfg.MaxPeersPerAddress)
			}
			if sw.hosts[key].n != n {
				t.Fatalf("host %v counted %d, has %d", key, sw.hosts[key].n, n)
			}
			top = max(top, n)
		}
		if len(sw.hosts) != len(count) || sw.top != top {
			t.Fatalf("%d hosts filed for %d, top %d for %d", len(sw.hosts), len(count), sw.top, top)
		}
	}
	if len(created) != len(srv.created) {
		t.Fatalf("creators %v, counted %v", created, srv.created)
	}
	for key, n := range created {
		if srv.created[key] != n || n > cfg.MaxSwarmsPerAddress {
			t.Fatalf("host %v created %d swarms, counted %d, limit %d", key, n, srv.created[key], cfg.MaxSwarmsPerAddress)
		}
	}
}
