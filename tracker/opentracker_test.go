package tracker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// opentracker is a running Debian opentracker, on loopback.
type opentracker struct {
	httpURL, udpURL string
}

// startOpentracker runs opentracker on a free loopback port (TCP and UDP)
// with an allow-list of hashes (Debian builds it whitelist-only), waits
// until it answers, and kills it when the test ends. It skips the test if
// opentracker is not installed.
func startOpentracker(tb testing.TB, hashes ...metainfo.InfoHash) *opentracker {
	tb.Helper()
	bin, err := exec.LookPath("opentracker")
	if err != nil {
		tb.Skip("opentracker not installed: apt-get install opentracker")
	}
	dir := tb.TempDir()
	// opentracker drops to user nobody after chrooting into dir: it must be
	// able to read the allow-list there.
	require.NoError(tb, os.Chmod(dir, 0o755))
	var list strings.Builder
	for _, h := range hashes {
		list.WriteString(h.String() + "\n")
	}
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "whitelist.txt"), []byte(list.String()), 0o644))
	conf := filepath.Join(dir, "ot.conf")
	require.NoError(tb, os.WriteFile(conf, []byte("access.whitelist /whitelist.txt\n"), 0o644))
	port := freeDualPort(tb)
	p := strconv.Itoa(port)
	cmd := exec.Command(bin, "-f", conf, "-d", dir, "-i", "127.0.0.1", "-p", p, "-P", p, "-A", "127.0.0.1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(tb, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", p)
	waitForTCP(tb, addr, exited, &out)
	ot := &opentracker{httpURL: "http://" + addr + "/announce", udpURL: "udp://" + addr + "/announce"}
	if len(hashes) > 0 {
		waitForWhitelist(tb, ot.httpURL, hashes[0], &out)
	}
	return ot
}

// waitForWhitelist polls until opentracker accepts announces for h.
// opentracker listens before its background thread has read the whitelist,
// so the first announces after start may be refused. The probe is a
// "stopped" event asking for no peers, which leaves no trace in the swarm.
func waitForWhitelist(tb testing.TB, url string, h metainfo.InfoHash, out fmt.Stringer) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := NewClient(ClientConfig{})
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := c.Announce(ctx, url, AnnounceRequest{InfoHash: h, Port: 1, Event: EventStopped, NumWant: NoPeersWanted})
		var refused *FailureError
		if !errors.As(err, &refused) {
			return // accepted, or failing for a reason the test itself will report
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("opentracker still refuses %s after 10s (%v): %s", h, err, out)
		case <-tick.C:
		}
	}
}

// freeDualPort finds a loopback port free for both TCP and UDP.
func freeDualPort(tb testing.TB) int {
	tb.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(tb, err)
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	tb.Fatal("no port free for both TCP and UDP")
	return 0
}

// waitForTCP polls addr until it accepts, the process exits, or 10 s pass.
func waitForTCP(tb testing.TB, addr string, exited <-chan error, out fmt.Stringer) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			tb.Fatalf("opentracker exited early (%v): %s", err, out)
		case <-ctx.Done():
			tb.Fatalf("opentracker did not listen on %s within 10s: %s", addr, out)
		case <-tick.C:
		}
	}
}
