package tracker

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flakyUDPTracker is a loopback UDP tracker that drops the first drop
// datagrams it gets and answers the rest with a real Server, reporting
// every arrival.
type flakyUDPTracker struct {
	pc      net.PacketConn
	srv     *Server
	arrived chan time.Time

	mu   sync.Mutex
	drop int
}

func startFlakyUDPTracker(t *testing.T, drop int) *flakyUDPTracker {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &flakyUDPTracker{pc: pc, srv: NewServer(ServerConfig{}), arrived: make(chan time.Time, 100), drop: drop}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, maxUDPPacket)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed at cleanup
			}
			f.arrived <- time.Now()
			f.mu.Lock()
			dropIt := f.drop > 0
			f.drop--
			f.mu.Unlock()
			if dropIt {
				continue
			}
			addr, _ := addrPortOf(from)
			if out := f.srv.handleUDP(nil, buf[:n], addr); len(out) > 0 {
				pc.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return f
}

func (f *flakyUDPTracker) url() string { return "udp://" + f.pc.LocalAddr().String() + "/announce" }

func TestUDPRetransmit(t *testing.T) {
	const base = 50 * time.Millisecond
	tests := []struct {
		name     string
		drop     int // datagrams the tracker ignores
		retries  int
		wantSent int
		wantErr  bool
	}{
		{name: "answered at once", drop: 0, retries: 3, wantSent: 2},          // connect, announce
		{name: "connect lost twice", drop: 2, retries: 3, wantSent: 4},        // 3 connects, announce
		{name: "gives up", drop: 100, retries: 2, wantSent: 3, wantErr: true}, // 1 + 2 retransmissions
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFlakyUDPTracker(t, tt.drop)
			c := NewClient(ClientConfig{UDPTimeout: base, UDPRetries: tt.retries})
			start := time.Now()
			_, err := c.Announce(context.Background(), f.url(), AnnounceRequest{InfoHash: testHash("r"), Port: 1})
			elapsed := time.Since(start)
			if tt.wantErr {
				require.ErrorIs(t, err, errUDPTimeout)
			} else {
				require.NoError(t, err)
			}
			// Lost tries cost base·2^n each: the waits must have doubled.
			var wantWait time.Duration
			for n := 0; n < min(tt.drop, tt.retries+1); n++ {
				wantWait += base << n
			}
			assert.GreaterOrEqual(t, elapsed, wantWait)
			var times []time.Time
			for range tt.wantSent {
				select {
				case at := <-f.arrived:
					times = append(times, at)
				case <-time.After(5 * time.Second):
					t.Fatalf("tracker got %d datagrams, want %d", len(times), tt.wantSent)
				}
			}
			for i := 1; i < len(times) && i <= tt.drop; i++ {
				gap := times[i].Sub(times[i-1])
				// Half the wait, as the tracker may read a datagram late.
				assert.GreaterOrEqual(t, gap, base<<(i-1)/2, "gap before retransmission %d", i)
			}
		})
	}
}

func TestUDPConnectionIDReuseAndExpiry(t *testing.T) {
	f := startFlakyUDPTracker(t, 0)
	c := NewClient(ClientConfig{UDPTimeout: time.Second, UDPRetries: 1})
	clock := newFakeClock()
	c.udp.now = clock.Now
	req := AnnounceRequest{InfoHash: testHash("reuse"), Port: 2}
	ctx := context.Background()
	count := func() int {
		n := 0
		for {
			select {
			case <-f.arrived:
				n++
			default:
				return n
			}
		}
	}
	_, err := c.Announce(ctx, f.url(), req)
	require.NoError(t, err)
	assert.Equal(t, 2, count(), "first announce connects")
	_, err = c.Announce(ctx, f.url(), req)
	require.NoError(t, err)
	assert.Equal(t, 1, count(), "second announce reuses the connection id")
	clock.Advance(udpConnIDLifetime)
	_, err = c.Announce(ctx, f.url(), req)
	require.NoError(t, err)
	assert.Equal(t, 2, count(), "an id one minute old is replaced")
}

func TestUDPServerRejectsForgedConnectionID(t *testing.T) {
	f := startFlakyUDPTracker(t, 0)
	c := NewClient(ClientConfig{UDPTimeout: time.Second, UDPRetries: 1})
	addr := strings.TrimSuffix(strings.TrimPrefix(f.url(), "udp://"), "/announce")
	ra, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	c.udp.storeConnID(ra.String(), 0xdeadbeef)
	_, err = c.Announce(context.Background(), f.url(), AnnounceRequest{InfoHash: testHash("f"), Port: 3})
	var fe *FailureError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Reason, "connection id")
	_, ok := c.udp.cachedConnID(ra.String())
	assert.False(t, ok, "a refused id is forgotten")
	_, err = c.Announce(context.Background(), f.url(), AnnounceRequest{InfoHash: testHash("f"), Port: 3})
	require.NoError(t, err, "the next announce connects afresh")
}

func TestConnIDExpiresAfterTwoEpochs(t *testing.T) {
	m := newConnIDMinter()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := netip.MustParseAddrPort("127.0.0.1:1000")
	id := m.mint(a, now)
	assert.True(t, m.valid(id, a, now))
	assert.True(t, m.valid(id, a, now.Add(connIDEpoch)))
	assert.False(t, m.valid(id, a, now.Add(2*connIDEpoch)))
	assert.False(t, m.valid(id, netip.MustParseAddrPort("127.0.0.2:1000"), now), "bound to the IP")
	assert.True(t, m.valid(id, netip.MustParseAddrPort("127.0.0.1:1001"), now), "not to the port")
	assert.False(t, m.valid(id, a, now.Add(-connIDEpoch)), "not valid before it was minted")
	assert.NotEqual(t, id, newConnIDMinter().mint(a, now), "another server's secret gives another id")

	// In absolute terms, wherever in an epoch it was minted: good for the
	// minute a client uses it (BEP 15), never for two minutes or more.
	for _, into := range []time.Duration{0, 30 * time.Second, time.Minute - time.Millisecond} {
		minted := now.Add(into)
		id := m.mint(a, minted)
		assert.True(t, m.valid(id, a, minted.Add(time.Minute-time.Millisecond)), "minted %v into an epoch: valid for a minute", into)
		assert.False(t, m.valid(id, a, minted.Add(2*time.Minute)), "minted %v into an epoch: expired after two", into)
	}
}

func TestUDPAnnounceCancelled(t *testing.T) {
	f := startFlakyUDPTracker(t, 100)
	c := NewClient(ClientConfig{UDPTimeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Announce(ctx, f.url(), AnnounceRequest{InfoHash: testHash("c"), Port: 4})
		errc <- err
	}()
	<-f.arrived // the connect is in flight
	cancel()
	select {
	case err := <-errc:
		require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("announce did not return after cancellation")
	}
}
