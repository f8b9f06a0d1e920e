package tracker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// twoPeersMeet has two peers announce to url and checks that the second
// sees the first, and that the first, announcing again, sees the second.
// selfListed says the tracker lists the announcing peer too (opentracker
// does).
func twoPeersMeet(t *testing.T, url string, h metainfo.InfoHash, selfListed bool) {
	t.Helper()
	c := testClient()
	ctx := context.Background()
	a := AnnounceRequest{InfoHash: h, PeerID: testPeerID(1), Port: 40001, Left: 100, Event: EventStarted}
	b := AnnounceRequest{InfoHash: h, PeerID: testPeerID(2), Port: 40002, Left: 0, Event: EventStarted}
	addrA := netip.MustParseAddrPort("127.0.0.1:40001")
	addrB := netip.MustParseAddrPort("127.0.0.1:40002")

	_, err := c.Announce(ctx, url, a)
	require.NoError(t, err)
	respB, err := c.Announce(ctx, url, b)
	require.NoError(t, err)
	assert.Contains(t, addrsOf(respB.Peers), addrA, "b sees a")
	assert.Positive(t, respB.Interval)
	assert.Equal(t, 1, respB.Seeders)
	assert.Equal(t, 1, respB.Leechers)

	a.Event = EventNone
	respA, err := c.Announce(ctx, url, a)
	require.NoError(t, err)
	assert.Contains(t, addrsOf(respA.Peers), addrB, "a sees b")
	if !selfListed {
		assert.NotContains(t, addrsOf(respA.Peers), addrA, "a is not told about itself")
	}

	stats, err := c.Scrape(ctx, url, h)
	require.NoError(t, err)
	assert.Equal(t, ScrapeStats{Seeders: 1, Leechers: 1}, stats[h])

	b.Event = EventStopped
	_, err = c.Announce(ctx, url, b)
	require.NoError(t, err)
	respA, err = c.Announce(ctx, url, a)
	require.NoError(t, err)
	assert.NotContains(t, addrsOf(respA.Peers), addrB, "b left")
}

func addrsOf(peers []Peer) []netip.AddrPort {
	out := make([]netip.AddrPort, len(peers))
	for i, p := range peers {
		out[i] = p.Addr
	}
	return out
}

func TestTwoPeersMeetOurServer(t *testing.T) {
	tr := startTestTracker(t, NewServer(ServerConfig{}))
	for _, proto := range []struct{ name, url string }{{"http", tr.httpURL}, {"udp", tr.udpURL}} {
		t.Run(proto.name, func(t *testing.T) {
			twoPeersMeet(t, proto.url, testHash("ours-"+proto.name), false)
		})
	}
	assert.Equal(t, uint64(2), tr.srv.Stats().Scrapes)
}

func TestTwoPeersMeetOpentracker(t *testing.T) {
	hHTTP, hUDP := testHash("ot-http"), testHash("ot-udp")
	ot := startOpentracker(t, hHTTP, hUDP)
	t.Run("http", func(t *testing.T) { twoPeersMeet(t, ot.httpURL, hHTTP, true) })
	t.Run("udp", func(t *testing.T) { twoPeersMeet(t, ot.udpURL, hUDP, true) })
	t.Run("not whitelisted", func(t *testing.T) {
		_, err := testClient().Announce(context.Background(), ot.httpURL, AnnounceRequest{InfoHash: testHash("nope"), Port: 1})
		var fe *FailureError
		require.ErrorAs(t, err, &fe)
		assert.Contains(t, fe.Reason, "not authorized")
	})
}

// TestServeDualStack serves UDP on a dual-stack socket and announces to it
// over IPv4 (arriving as IPv4-mapped addresses) and IPv6.
func TestServeDualStack(t *testing.T) {
	pc, err := net.ListenPacket("udp", ":0")
	require.NoError(t, err)
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewServer(ServerConfig{}).Serve(ctx, pc) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	h := testHash("dual")
	c := testClient()
	resp, err := c.Announce(ctx, fmt.Sprintf("udp://127.0.0.1:%d/announce", port), AnnounceRequest{InfoHash: h, Port: 1111})
	require.NoError(t, err)
	assert.Empty(t, resp.Peers)
	if ln, err := net.ListenPacket("udp", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback here")
	} else {
		ln.Close()
	}
	resp, err = c.Announce(ctx, fmt.Sprintf("udp://[::1]:%d/announce", port), AnnounceRequest{InfoHash: h, Port: 2222})
	require.NoError(t, err)
	assert.Empty(t, resp.Peers, "an IPv6 reply lists only IPv6 peers")
	resp, err = c.Announce(ctx, fmt.Sprintf("udp://127.0.0.1:%d/announce", port), AnnounceRequest{InfoHash: h, Port: 3333})
	require.NoError(t, err)
	assert.Equal(t, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1111")}, addrsOf(resp.Peers), "the IPv4 peer is listed unmapped")
}
