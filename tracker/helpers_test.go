package tracker

import (
	"context"
	"crypto/sha1"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testHash names a test swarm.
func testHash(name string) metainfo.InfoHash { return metainfo.InfoHash(sha1.Sum([]byte(name))) }

// testPeerID makes a peer id whose bytes include ones that need escaping.
func testPeerID(n byte) PeerID {
	var id PeerID
	copy(id[:], "-DT0001-")
	for i := 8; i < 20; i++ {
		id[i] = byte(i*37) ^ n
	}
	id[19] = n
	return id
}

// testTracker is our Server served on loopback over HTTP and UDP.
type testTracker struct {
	srv     *Server
	httpURL string // .../announce
	udpURL  string // udp://.../announce
}

// startTestTracker serves srv on loopback until the test ends.
func startTestTracker(tb testing.TB, srv *Server) *testTracker {
	tb.Helper()
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pc) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve: %v", err)
		}
		pc.Close()
	})
	return &testTracker{
		srv:     srv,
		httpURL: hs.URL + "/announce",
		udpURL:  "udp://" + pc.LocalAddr().String() + "/announce",
	}
}

// testClient is a Client for loopback. Its UDP timeouts are far shorter
// than BEP 15's but long enough (1, 2, 4, 8, 16 s) that a loaded machine
// never makes a test depend on a retransmission; a datagram is not lost on
// loopback.
func testClient() *Client {
	return NewClient(ClientConfig{
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
		UDPTimeout: time.Second,
		UDPRetries: 4,
	})
}
