package tracker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attackSwarmsEnv sets how many swarms TestAttackReplayLoopback tries to
// create from one address (150 by default; the attack run tried 10000).
const attackSwarmsEnv = "TRACKER_ATTACK_SWARMS"

// clientFrom is a Client whose HTTP requests leave from the loopback
// address ip, so that one test can be several hosts.
func clientFrom(t *testing.T, ip string) *Client {
	t.Helper()
	local := &net.TCPAddr{IP: net.ParseIP(ip)}
	probe, err := net.ListenTCP("tcp", local)
	if err != nil {
		t.Skipf("cannot use %s as a source address here: %v", ip, err)
	}
	probe.Close()
	d := &net.Dialer{LocalAddr: local}
	return NewClient(ClientConfig{HTTPClient: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2},
	}})
}

// TestAttackReplayLoopback replays the attack run against our tracker
// with its defaults, over real HTTP on loopback, from two source addresses
// (127.0.0.1 attacking, 127.0.0.2 the real peer).
func TestAttackReplayLoopback(t *testing.T) {
	tr := startTestTracker(t, NewServer(ServerConfig{}))
	attacker, victim := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")
	ctx := context.Background()

	t.Run("swarms from one address", func(t *testing.T) {
		tries := 150
		if v := os.Getenv(attackSwarmsEnv); v != "" {
			n, err := strconv.Atoi(v)
			require.NoError(t, err, attackSwarmsEnv)
			tries = n
		}
		start := time.Now()
		created, refused := 0, 0
		for i := range tries {
			_, err := attacker.Announce(ctx, tr.httpURL, AnnounceRequest{InfoHash: testHash(fmt.Sprint("attack-", i)), Port: 6881})
			var fe *FailureError
			switch {
			case err == nil:
				created++
			case errors.As(err, &fe):
				refused++
			default:
				t.Fatal(err)
			}
		}
		t.Logf("%d swarms tried from one address in %v: %d created, %d refused", tries, time.Since(start), created, refused)
		assert.Equal(t, min(tries, 100), created)
		_, err := victim.Announce(ctx, tr.httpURL, AnnounceRequest{InfoHash: testHash("victim's"), Port: 6881})
		require.NoError(t, err, "another address still creates a swarm")
	})

	t.Run("peers from one address", func(t *testing.T) {
		h := testHash("crowded")
		_, err := victim.Announce(ctx, tr.httpURL, AnnounceRequest{InfoHash: h, Port: 6881, Left: 0})
		require.NoError(t, err)
		var last *AnnounceResponse
		for port := range 1001 {
			last, err = attacker.Announce(ctx, tr.httpURL, AnnounceRequest{InfoHash: h, Port: uint16(10000 + port), PeerID: testPeerID(byte(port)), Left: 1, NumWant: 200})
			require.NoError(t, err)
		}
		assert.Contains(t, addrsOf(last.Peers), netip.MustParseAddrPort("127.0.0.2:6881"), "the real peer is still listed")
		assert.Len(t, last.Peers, 8, "the real peer and 7 of the flood's 8")
	})
}
