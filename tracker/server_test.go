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

// addrN is a distinct IPv4 peer address.
func addrN(n int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}), 6881)
}

// announceAs announces to srv as peer n and returns the addresses it got.
func announceAs(t *testing.T, srv *Server, h metainfo.InfoHash, n int, ev Event, left int64) []netip.AddrPort {
	t.Helper()
	req := AnnounceRequest{InfoHash: h, PeerID: testPeerID(byte(n)), Port: 6881, Event: ev, Left: left, NumWant: 200}
	res, err := srv.announce(&req, addrN(n).Addr(), addrN(n), false, false)
	require.NoError(t, err)
	var got []netip.AddrPort
	for _, p := range res.peers {
		got = append(got, p.Addr)
	}
	return got
}

func TestServerExpiry(t *testing.T) {
	clock := newFakeClock()
	srv := NewServer(ServerConfig{Interval: time.Minute, Now: clock.Now})
	h, idle := testHash("expiry"), testHash("idle")
	announceAs(t, srv, idle, 9, EventStarted, 1)
	announceAs(t, srv, h, 1, EventStarted, 1)
	clock.Advance(2*time.Minute - time.Second)
	assert.Equal(t, []netip.AddrPort{addrN(1)}, announceAs(t, srv, h, 2, EventStarted, 1), "peer 1 is still within 2×interval")
	clock.Advance(2 * time.Second)
	assert.Empty(t, announceAs(t, srv, h, 2, EventNone, 1), "peer 1 missed its announces and is gone")
	assert.Equal(t, 2, srv.Stats().Swarms, "swarms are swept at most once per interval")
	clock.Advance(time.Minute)
	announceAs(t, srv, h, 2, EventNone, 1)
	st := srv.Stats()
	assert.Equal(t, 1, st.Swarms, "the idle swarm was swept")
	assert.Equal(t, 1, st.Peers)
	clock.Advance(10 * time.Minute)
	assert.Empty(t, srv.scrape([]metainfo.InfoHash{h})[h], "scrape expires too")
}

func TestServerLimits(t *testing.T) {
	clock := newFakeClock()
	srv := NewServer(ServerConfig{MaxSwarms: 2, MaxPeersPerSwarm: 3, Now: clock.Now})
	a, b, c := testHash("a"), testHash("b"), testHash("c")
	announceAs(t, srv, a, 1, EventStarted, 1)
	announceAs(t, srv, b, 1, EventStarted, 1)
	_, err := srv.announce(&AnnounceRequest{InfoHash: c, Port: 1}, addrN(1).Addr(), addrN(1), false, false)
	require.ErrorIs(t, err, errTooMany, "a third swarm is refused")
	_, err = srv.announce(&AnnounceRequest{InfoHash: c, Port: 1, Event: EventStopped}, addrN(1).Addr(), addrN(1), false, false)
	require.NoError(t, err, "a stopped event for an unknown swarm is no refusal and creates nothing")
	assert.Equal(t, uint64(1), srv.Stats().Refusals)
	assert.Equal(t, 2, srv.Stats().Swarms)

	for n := 2; n <= 3; n++ {
		clock.Advance(time.Second)
		announceAs(t, srv, a, n, EventStarted, 1)
	}
	clock.Advance(time.Second)
	announceAs(t, srv, a, 1, EventNone, 1) // peer 2 is now the least recently seen
	clock.Advance(time.Second)
	got := announceAs(t, srv, a, 4, EventStarted, 1)
	assert.ElementsMatch(t, []netip.AddrPort{addrN(1), addrN(3)}, got, "peer 2 was evicted for peer 4")
	assert.Equal(t, 3+1, srv.Stats().Peers)
}

func TestServerNumWant(t *testing.T) {
	srv := NewServer(ServerConfig{MaxPeersPerSwarm: 300})
	h := testHash("numwant")
	for n := 1; n <= 250; n++ {
		announceAs(t, srv, h, n, EventStarted, 1)
	}
	tests := []struct {
		numWant, want int
	}{
		{0, 50}, {10, 10}, {1000, 200}, {NoPeersWanted, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.numWant), func(t *testing.T) {
			res, err := srv.announce(&AnnounceRequest{InfoHash: h, Port: 1, NumWant: tt.numWant}, addrN(1000).Addr(), addrN(1000), false, false)
			require.NoError(t, err)
			assert.Len(t, res.peers, tt.want)
			seen := map[netip.AddrPort]bool{}
			for _, p := range res.peers {
				assert.False(t, seen[p.Addr], "peer listed twice")
				assert.NotEqual(t, addrN(1000), p.Addr, "a peer is not told about itself")
				seen[p.Addr] = true
			}
		})
	}
}

func TestServerEventsAndScrape(t *testing.T) {
	srv := NewServer(ServerConfig{})
	h := testHash("events")
	announceAs(t, srv, h, 1, EventStarted, 100)
	announceAs(t, srv, h, 2, EventStarted, 0)
	announceAs(t, srv, h, 3, EventStarted, 50)
	announceAs(t, srv, h, 1, EventCompleted, 0)
	announceAs(t, srv, h, 1, EventCompleted, 0) // a repeat counts once
	announceAs(t, srv, h, 3, EventStopped, 50)
	got := srv.scrape([]metainfo.InfoHash{h, testHash("unknown")})
	assert.Equal(t, map[metainfo.InfoHash]ScrapeStats{
		h:                   {Seeders: 2, Completed: 1, Leechers: 0},
		testHash("unknown"): {},
	}, got)
	st := srv.Stats()
	assert.Equal(t, Stats{Announces: 6, Scrapes: 1, Swarms: 1, Peers: 2, Seeders: 2}, st)

	announceAs(t, srv, h, 1, EventStopped, 0)
	announceAs(t, srv, h, 2, EventStopped, 0)
	assert.Equal(t, 0, srv.Stats().Swarms, "an empty swarm is dropped")
	assert.Equal(t, 0, srv.Stats().Seeders)
}

func TestServerAllowList(t *testing.T) {
	ok, no := testHash("ok"), testHash("no")
	srv := NewServer(ServerConfig{Allow: func(h metainfo.InfoHash) bool { return h == ok }})
	announceAs(t, srv, ok, 1, EventStarted, 1)
	_, err := srv.announce(&AnnounceRequest{InfoHash: no, Port: 1}, addrN(1).Addr(), addrN(1), false, false)
	require.ErrorIs(t, err, errNotAllowed)
	got := srv.scrape([]metainfo.InfoHash{ok, no})
	assert.Contains(t, got, ok)
	assert.NotContains(t, got, no, "scrape leaves out what is not allowed")
	assert.Equal(t, uint64(1), srv.Stats().Refusals)
	assert.Equal(t, 1, srv.Stats().Swarms)
}

func TestServerPeerAddr(t *testing.T) {
	claimed := netip.MustParseAddr("192.0.2.7")
	tests := []struct {
		name   string
		trust  bool
		remote string
		want   string
	}{
		{"loopback may claim", false, "127.0.0.1", "192.0.2.7:99"},
		{"ipv6 loopback may claim", false, "::1", "192.0.2.7:99"},
		{"others may not", false, "198.51.100.1", "198.51.100.1:99"},
		{"unless trusted", true, "198.51.100.1", "192.0.2.7:99"},
		{"mapped addresses are unmapped", false, "::ffff:198.51.100.1", "198.51.100.1:99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewServer(ServerConfig{TrustIPParam: tt.trust})
			got := srv.peerAddr(netip.MustParseAddr(tt.remote), claimed, 99)
			assert.Equal(t, tt.want, got.String())
		})
	}
}

func TestServerUDPRepliesInOneFamily(t *testing.T) {
	srv := NewServer(ServerConfig{})
	h := testHash("family")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:6881")
	_, err := srv.announce(&AnnounceRequest{InfoHash: h, Port: 6881}, v6.Addr(), v6, true, false)
	require.NoError(t, err)
	announceAs(t, srv, h, 1, EventStarted, 1)
	res, err := srv.announce(&AnnounceRequest{InfoHash: h, Port: 6881}, addrN(2).Addr(), addrN(2), true, false)
	require.NoError(t, err)
	require.Len(t, res.peers, 1)
	assert.Equal(t, addrN(1), res.peers[0].Addr, "an IPv4 UDP reply lists IPv4 peers only")
	res, err = srv.announce(&AnnounceRequest{InfoHash: h, Port: 6881}, addrN(3).Addr(), addrN(3), false, false)
	require.NoError(t, err)
	assert.Len(t, res.peers, 3, "an HTTP reply lists both families")
}
