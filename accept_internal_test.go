package debtorrent

import (
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/peerwire"
)

// flakyListener fails its first fails Accepts with a temporary error, as a
// process out of file descriptors sees.
type flakyListener struct {
	net.Listener
	fails atomic.Int64
	calls atomic.Int64
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.calls.Add(1)
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// The accept loop waits out temporary errors and goes on accepting peers.
func TestAcceptSurvivesTemporaryErrors(t *testing.T) {
	var fl *flakyListener
	c, err := newClient(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir()}, func(addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		fl = &flakyListener{Listener: ln}
		fl.fails.Store(4)
		return fl, nil
	})
	require.NoError(t, err)
	defer c.Close()

	nc, err := net.DialTimeout("tcp", c.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	defer nc.Close()
	// An unknown infohash: an accepted connection is answered by closing
	// it after reading the handshake, a never-accepted one hangs.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = peerwire.Initiate(ctx, nc, peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: [20]byte{1}, PeerID: [20]byte{2}})
	require.Error(t, err)
	var ne net.Error
	require.False(t, errorsAsTimeout(err, &ne), "the connection was never accepted: %v", err)
	require.GreaterOrEqual(t, fl.calls.Load(), int64(5), "accepted after the failures")
}

func errorsAsTimeout(err error, ne *net.Error) bool {
	for e := err; e != nil; {
		if n, ok := e.(net.Error); ok && n.Timeout() {
			*ne = n
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}
