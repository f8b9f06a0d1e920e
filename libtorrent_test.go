package debtorrent_test

import (
	"bufio"
	"context"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/tracker"
)

// ltNode starts bench/swarm/lt_node.py (libtorrent-rasterbar through
// Debian's python3) as a seed or leecher of the torrent file tf in dir, or
// skips the test. It returns when the node is ready (a seed) or started (a
// leecher), and a channel that yields the node's exit.
func ltNode(t *testing.T, ctx context.Context, role, tf, dir string) <-chan error {
	t.Helper()
	if testing.Short() {
		t.Skip("starts libtorrent; skipped in -short mode")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import libtorrent").Run(); err != nil {
		t.Skip("libtorrent for python3 not installed: apt-get install python3-libtorrent")
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "bench/swarm/lt_node.py", role, tf, dir, strconv.Itoa(freePort(t)))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	result := make(chan error, 1)
	exited := make(chan struct{})
	lines := bufio.NewScanner(out)
	ready := make(chan struct{})
	go func() {
		for lines.Scan() {
			if lines.Text() == "ready" {
				close(ready)
			}
		}
		err := cmd.Wait()
		close(exited)
		result <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("libtorrent said:\n%s", stderr.String())
		}
	})
	if role == "seed" {
		select {
		case <-ready:
		case <-exited:
			t.Fatal("libtorrent seed exited early")
		case <-ctx.Done():
			t.Fatal("libtorrent seed never ready")
		}
	}
	return result
}

// Our client and libtorrent-rasterbar trade a multi-file torrent both ways,
// meeting through a tracker, checked byte for byte.
func TestLibtorrentInterop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	srv := tracker.NewServer(tracker.ServerConfig{})
	web := httptest.NewServer(srv)
	defer web.Close()
	src := t.TempDir()
	info := makeTree(t, src, "withlt", map[string]int{"a.bin": 2<<20 + 3, "b/c.bin": 200_001}, 64<<10, 31)
	tf := writeTorrent(t, info, web.URL+"/announce")

	t.Run("from libtorrent", func(t *testing.T) {
		ltNode(t, ctx, "seed", tf, src)
		c, dir := newClient(t, nil)
		tr, err := c.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true, Trackers: [][]string{{web.URL + "/announce"}}})
		require.NoError(t, err)
		waitComplete(t, tr)
		sameTree(t, info, src, dir)
		require.NoError(t, c.Close())
	})
	t.Run("to libtorrent", func(t *testing.T) {
		c, _ := newClient(t, nil)
		_, err := c.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src, Trackers: [][]string{{web.URL + "/announce"}}})
		require.NoError(t, err)
		out := t.TempDir()
		done := ltNode(t, ctx, "leech", tf, out)
		select {
		case err := <-done:
			require.NoError(t, err, "the libtorrent leecher failed")
		case <-ctx.Done():
			t.Fatal("libtorrent did not finish")
		}
		sameTree(t, info, src, out)
	})
}
