package debtorrent_test

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/tracker"
)

// aria2Path returns aria2c's path or skips the test.
func aria2Path(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("aria2c not installed: apt-get install aria2")
	}
	if testing.Short() {
		t.Skip("starts aria2c; skipped in -short mode")
	}
	return p
}

// writeTorrent writes info as a .torrent announcing to announce.
func writeTorrent(t *testing.T, info *metainfo.Info, announce string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, (&metainfo.MetaInfo{Info: info, Announce: announce}).Write(&b))
	p := filepath.Join(t.TempDir(), info.Name+".torrent")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

// freePort returns a loopback TCP port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runAria2 starts aria2c on loopback only (no DHT, LPD or PEX) with args and
// returns a channel that yields its exit status. It is killed at the end of
// the test.
func runAria2(t *testing.T, ctx context.Context, args ...string) <-chan error {
	t.Helper()
	base := []string{"--no-conf", "--interface=127.0.0.1",
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn", "--bt-stop-timeout=0"}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, aria2Path(t), append(base, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	result := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		exited <- err
		result <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("aria2c said:\n%s", out.String())
		}
	})
	return result
}

// Our client downloads a multi-file torrent from an aria2c seed, byte for
// byte.
func TestDownloadFromAria2(t *testing.T) {
	aria2Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	src := t.TempDir()
	info := makeTree(t, src, "fromaria", map[string]int{"one.bin": 2<<20 + 99, "two/three.bin": 300_001}, 256<<10, 21)
	tf := writeTorrent(t, info, "http://127.0.0.1:9/announce")
	port := freePort(t)
	runAria2(t, ctx, "--listen-port="+strconv.Itoa(port), "--bt-seed-unverified=true", "--seed-ratio=0.0", "--dir="+src, tf)

	c, dir := newClient(t, nil)
	tr, err := c.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	// aria2c gives no sign that it listens: offer its address until the
	// connection holds.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for tr.Stats().Peers == 0 {
		require.NoError(t, tr.AddPeer(addr))
		select {
		case <-tr.Complete():
		case <-tick.C:
			continue
		case <-ctx.Done():
			t.Fatal("aria2c never accepted a connection")
		}
		break
	}
	waitComplete(t, tr)
	sameTree(t, info, src, dir)
	require.Equal(t, info.TotalLength(), tr.Stats().BytesFromPeers)
}

// aria2c downloads a multi-file torrent from our seed, found through a
// tracker, byte for byte.
func TestAria2DownloadsFromUs(t *testing.T) {
	aria2Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	srv := tracker.NewServer(tracker.ServerConfig{})
	web := httptest.NewServer(srv)
	defer web.Close()

	src := t.TempDir()
	info := makeTree(t, src, "toaria", map[string]int{"a.bin": 3<<20 + 5, "b/c.bin": 123_457}, 128<<10, 22)
	c, _ := newClient(t, nil)
	seed, err := c.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src, Trackers: [][]string{{web.URL + "/announce"}}})
	require.NoError(t, err)
	require.NoError(t, seed.WaitFor(ctx, func(debtorrent.TorrentStats) bool { return srv.Stats().Peers == 1 }))

	out := t.TempDir()
	tf := writeTorrent(t, info, web.URL+"/announce")
	done := runAria2(t, ctx, "--listen-port="+strconv.Itoa(freePort(t)), "--seed-time=0", "--dir="+out, tf)
	select {
	case err := <-done:
		require.NoError(t, err, "aria2c failed")
	case <-ctx.Done():
		t.Fatal("aria2c did not finish")
	}
	sameTree(t, info, src, out)
	require.GreaterOrEqual(t, seed.Stats().BytesUploaded, info.TotalLength())
}
