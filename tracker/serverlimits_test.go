package tracker

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// announceFrom announces h to srv from the IP address from for the peer at
// addr, and returns the error and the addresses listed.
func announceFrom(t *testing.T, srv *Server, h metainfo.InfoHash, from string, addr string, ev Event) ([]netip.AddrPort, error) {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	req := AnnounceRequest{InfoHash: h, Port: ap.Port(), Event: ev, Left: 1, NumWant: 200}
	res, err := srv.announce(&req, netip.MustParseAddr(from), ap, false, false)
	var got []netip.AddrPort
	for _, p := range res.peers {
		got = append(got, p.Addr)
	}
	return got, err
}

// at announces as a peer that is its own source address.
func at(t *testing.T, srv *Server, h metainfo.InfoHash, addr string) []netip.AddrPort {
	t.Helper()
	got, err := announceFrom(t, srv, h, netip.MustParseAddrPort(addr).Addr().String(), addr, EventNone)
	require.NoError(t, err)
	return got
}

// TestServerReannounceRefreshes checks that a re-announce keeps a peer
// listed for PeerTimeout from then, not from its first announce.
func TestServerReannounceRefreshes(t *testing.T) {
	clock := newFakeClock()
	srv := NewServer(ServerConfig{Interval: time.Minute, Now: clock.Now}) // peers time out after 2 min
	h := testHash("refresh")
	at(t, srv, h, "10.0.0.1:1")
	clock.Advance(90 * time.Second)
	at(t, srv, h, "10.0.0.1:1") // re-announce: seen now
	clock.Advance(90 * time.Second)
	assert.Equal(t, []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:1")}, at(t, srv, h, "10.0.0.2:1"),
		"peer 1 re-announced 90 s ago: still listed 180 s after its first announce")
	clock.Advance(150 * time.Second)
	assert.Empty(t, at(t, srv, h, "10.0.0.2:1"), "peer 1 silent for 240 s is gone")
}

func TestServerSwarmsPerAddress(t *testing.T) {
	srv := NewServer(ServerConfig{MaxSwarmsPerAddress: 3})
	hashes := make([]metainfo.InfoHash, 10)
	for i := range hashes {
		hashes[i] = testHash(fmt.Sprint("per-address-", i))
	}
	for i := range 3 {
		_, err := announceFrom(t, srv, hashes[i], "192.0.2.1", "192.0.2.1:1", EventStarted)
		require.NoError(t, err)
	}
	_, err := announceFrom(t, srv, hashes[3], "192.0.2.1", "192.0.2.1:1", EventStarted)
	require.ErrorIs(t, err, errTooManyOwn, "a fourth swarm from one address is refused")
	_, err = announceFrom(t, srv, hashes[3], "192.0.2.1", "198.51.100.9:1", EventStarted)
	require.ErrorIs(t, err, errTooManyOwn, "counted by where the request came from, not the IP claimed")

	_, err = announceFrom(t, srv, hashes[3], "192.0.2.2", "192.0.2.2:1", EventStarted)
	require.NoError(t, err, "another address still creates swarms")
	_, err = announceFrom(t, srv, hashes[3], "192.0.2.1", "192.0.2.1:1", EventStarted)
	require.NoError(t, err, "joining a swarm another address created is no creation")

	// IPv6: one /64 is one address.
	for i := range 3 {
		_, err := announceFrom(t, srv, hashes[4+i], fmt.Sprintf("2001:db8::%d", i+1), fmt.Sprintf("[2001:db8::%d]:1", i+1), EventStarted)
		require.NoError(t, err)
	}
	_, err = announceFrom(t, srv, hashes[7], "2001:db8::ffff", "[2001:db8::ffff]:1", EventStarted)
	require.ErrorIs(t, err, errTooManyOwn, "a fourth swarm from the same /64")
	_, err = announceFrom(t, srv, hashes[7], "2001:db8:0:1::1", "[2001:db8:0:1::1]:1", EventStarted)
	require.NoError(t, err, "another /64 is another address")

	// A swarm that empties no longer counts against its creator.
	_, err = announceFrom(t, srv, hashes[0], "192.0.2.1", "192.0.2.1:1", EventStopped)
	require.NoError(t, err)
	_, err = announceFrom(t, srv, hashes[8], "192.0.2.1", "192.0.2.1:1", EventStarted)
	require.NoError(t, err, "the emptied swarm's place is free again")
	_, err = announceFrom(t, srv, hashes[9], "192.0.2.1", "192.0.2.1:1", EventStarted)
	require.ErrorIs(t, err, errTooManyOwn)
	assert.Equal(t, uint64(4), srv.Stats().Refusals)
}

// TestServerSwarmsPerAddressExpire checks that swarms swept away for want
// of peers give their creator its places back.
func TestServerSwarmsPerAddressExpire(t *testing.T) {
	clock := newFakeClock()
	srv := NewServer(ServerConfig{MaxSwarmsPerAddress: 1, Interval: time.Minute, Now: clock.Now})
	_, err := announceFrom(t, srv, testHash("e1"), "192.0.2.1", "192.0.2.1:1", EventStarted)
	require.NoError(t, err)
	_, err = announceFrom(t, srv, testHash("e2"), "192.0.2.1", "192.0.2.1:1", EventStarted)
	require.ErrorIs(t, err, errTooManyOwn)
	clock.Advance(3 * time.Minute) // past PeerTimeout and a sweep interval
	_, err = announceFrom(t, srv, testHash("e2"), "192.0.2.1", "192.0.2.1:1", EventStarted)
	require.NoError(t, err, "the expired swarm was swept and no longer counts")
}

func TestServerPeersPerAddress(t *testing.T) {
	clock := newFakeClock()
	srv := NewServer(ServerConfig{MaxPeersPerAddress: 3, Now: clock.Now})
	h := testHash("peers-per-address")
	at(t, srv, h, "192.0.2.9:1")
	for port := 1; port <= 3; port++ {
		clock.Advance(time.Second)
		at(t, srv, h, fmt.Sprintf("192.0.2.1:%d", port))
	}
	clock.Advance(time.Second)
	at(t, srv, h, "192.0.2.1:1") // port 2 is now the address's least recently seen
	clock.Advance(time.Second)
	got := at(t, srv, h, "192.0.2.1:4")
	assert.ElementsMatch(t, []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.9:1"),
		netip.MustParseAddrPort("192.0.2.1:1"),
		netip.MustParseAddrPort("192.0.2.1:3"),
	}, got, "port 4 replaced port 2, the address's own least recently seen; the older peer of another address stays")
	assert.Equal(t, 4, srv.Stats().Peers)

	// IPv6 addresses of one /64 share the limit.
	for i := 1; i <= 5; i++ {
		at(t, srv, h, fmt.Sprintf("[2001:db8::%d]:1", i))
	}
	assert.Equal(t, 4+3, srv.Stats().Peers)
}

// TestServerFloodKeepsOtherHosts floods a swarm from one address, as the
// attack run did (1,001 announces, new ports), and checks that the peers
// of other addresses stay listed, with the default limits and with a
// per-address limit past the swarm's.
func TestServerFloodKeepsOtherHosts(t *testing.T) {
	tests := []struct {
		name      string
		cfg       ServerConfig
		wantFlood int // the flood's peers listed at the end
	}{
		{"defaults", ServerConfig{}, 8},
		// The flood fills the 5 free places, then only churns its own; the
		// observer, a new address, takes one of them.
		{"swarm full before the address is", ServerConfig{MaxPeersPerSwarm: 10, MaxPeersPerAddress: 1000}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			tt.cfg.Now = clock.Now
			srv := NewServer(tt.cfg)
			h := testHash("flood")
			var real []netip.AddrPort
			for i := 1; i <= 5; i++ {
				a := fmt.Sprintf("198.51.100.%d:6881", i)
				at(t, srv, h, a)
				real = append(real, netip.MustParseAddrPort(a))
			}
			for port := 1; port <= 1001; port++ {
				clock.Advance(time.Millisecond)
				at(t, srv, h, fmt.Sprintf("203.0.113.66:%d", port))
			}
			got := at(t, srv, h, "192.0.2.200:1")
			for _, a := range real {
				assert.Contains(t, got, a, "a real peer survives the flood")
			}
			flood := 0
			for _, a := range got {
				if a.Addr() == netip.MustParseAddr("203.0.113.66") {
					flood++
				}
			}
			assert.Equal(t, tt.wantFlood, flood, "the flood keeps only its share")
		})
	}
}

// TestServerFullSwarmEviction checks whom a new peer of a full swarm
// evicts: the least recently seen peer of the address with the most peers,
// the newcomer's own address first on a tie.
func TestServerFullSwarmEviction(t *testing.T) {
	clock := newFakeClock()
	srv := NewServer(ServerConfig{MaxPeersPerSwarm: 4, Now: clock.Now})
	h := testHash("full")
	step := func(addr string) []netip.AddrPort {
		clock.Advance(time.Second)
		return at(t, srv, h, addr)
	}
	step("10.0.0.1:1")
	step("10.0.0.2:1")
	step("10.0.0.2:2")
	step("10.0.0.3:1")
	step("10.0.0.2:1") // 10.0.0.2 has the most; its port 2 is its oldest
	got := step("10.0.0.4:1")
	assert.ElementsMatch(t, addrs("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"), got, "10.0.0.2:2 evicted: the largest address's oldest, not 10.0.0.1, the oldest of all")

	// Now every address has one peer. A second peer of 10.0.0.4 ties with
	// the most: it replaces its own.
	got = step("10.0.0.4:2")
	assert.ElementsMatch(t, addrs("10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"), got, "10.0.0.4:2 replaced 10.0.0.4:1")
	// A new address takes the place of the least recently seen of the
	// single-peer addresses.
	step("10.0.0.1:1")
	got = step("10.0.0.5:1")
	assert.ElementsMatch(t, addrs("10.0.0.1:1", "10.0.0.2:1", "10.0.0.4:2"), got, "10.0.0.3:1, the least recently seen, evicted")
	assert.Equal(t, 4, srv.Stats().Peers)
}

func addrs(list ...string) []netip.AddrPort {
	out := make([]netip.AddrPort, len(list))
	for i, a := range list {
		out[i] = netip.MustParseAddrPort(a)
	}
	return out
}

// TestServeHTTPSwarmFloodDefaults replays the attack run over HTTP with the
// default limits: one address announcing swarm after swarm is refused past
// MaxSwarmsPerAddress (100), and another address still creates swarms.
func TestServeHTTPSwarmFloodDefaults(t *testing.T) {
	srv := NewServer(ServerConfig{})
	id := testPeerID(1)
	target := func(i int) string {
		h := testHash(fmt.Sprint("flood-", i))
		return "/announce?info_hash=" + escapeBytes(h[:]) + "&peer_id=" + escapeBytes(id[:]) + "&port=6881"
	}
	for i := range 100 {
		_, _, err := serve(t, srv, "203.0.113.66:40000", target(i))
		require.NoError(t, err, "swarm %d", i)
	}
	_, _, err := serve(t, srv, "203.0.113.66:40001", target(100))
	var fe *FailureError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, errTooManyOwn.Error(), fe.Reason)
	_, _, err = serve(t, srv, "198.51.100.1:40000", target(100))
	require.NoError(t, err, "another address creates the swarm")
	assert.Equal(t, 101, srv.Stats().Swarms)
}

// TestServerLimitsCountTheSender checks that the per-address limits count
// the address a request came from, not the IP it claims (which a trusted
// or loopback sender may set to anything), over HTTP and UDP.
func TestServerLimitsCountTheSender(t *testing.T) {
	h := testHash("claims")
	t.Run("http", func(t *testing.T) {
		srv := NewServer(ServerConfig{MaxPeersPerAddress: 2, TrustIPParam: true})
		id := testPeerID(1)
		for i := 1; i <= 5; i++ {
			target := fmt.Sprintf("/announce?info_hash=%s&peer_id=%s&port=6881&ip=198.51.100.%d", escapeBytes(h[:]), escapeBytes(id[:]), i)
			_, _, err := serve(t, srv, "192.0.2.1:40000", target)
			require.NoError(t, err)
		}
		assert.Equal(t, 2, srv.Stats().Peers, "five claimed IPs from one sender hold its two places")
	})
	t.Run("udp", func(t *testing.T) {
		srv := NewServer(ServerConfig{MaxPeersPerAddress: 2, TrustIPParam: true})
		from := netip.MustParseAddrPort("192.0.2.1:40000")
		for i := 1; i <= 5; i++ {
			req := AnnounceRequest{InfoHash: h, Port: 6881, IP: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})}
			out := srv.handleUDP(nil, udpAnnounceRequest(srv.connID.mint(from, time.Now()), 1, &req), from)
			r, err := parseUDPReply(out)
			require.NoError(t, err)
			require.Equal(t, uint32(actionAnnounce), r.action, "reply: %q", r.body)
		}
		assert.Equal(t, 2, srv.Stats().Peers, "five claimed IPs from one sender hold its two places")
	})
}
