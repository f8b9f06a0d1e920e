package debtorrent_test

import (
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/debtorrent/debtorrent/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyNode is one machine of the swarm test: a Client and a Proxy.
type proxyNode struct {
	client *debtorrent.Client
	proxy  *debtorrent.Proxy
	addr   string
}

func startProxyNode(t testing.TB, mirrorBase, announce string) *proxyNode {
	t.Helper()
	dir := t.TempDir()
	st, err := debtorrent.OpenDiskStorage(filepath.Join(dir, "packages"), debtorrent.DiskOptions{})
	require.NoError(t, err)
	c, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", Storage: st})
	require.NoError(t, err)
	p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "test", URLs: []string{mirrorBase}}},
		CacheDir: dir, Client: c, Trackers: []string{announce},
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	t.Cleanup(func() {
		p.Close()
		require.NoError(t, <-done)
		c.Close()
		st.Close()
	})
	return &proxyNode{client: c, proxy: p, addr: ln.Addr().String()}
}

// aptSetup makes a throwaway APT root in root whose only source is line;
// proxy is "DIRECT" or an http proxy URL.
func aptSetup(t testing.TB, root, line, proxy string) { newAptRootIn(t, root, line, proxy) }

// aptRun runs apt-get in a root made by aptSetup.
func aptRun(root string, args ...string) (string, error) {
	return (&aptRoot{dir: root, conf: filepath.Join(root, "apt.conf")}).run(context.Background(), args...)
}

// aptGet runs apt-get in a throwaway root whose only source is line (made
// on first use), failing the test on error.
func aptGet(t testing.TB, root, line string, args ...string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "apt.conf")); err != nil {
		aptSetup(t, root, line, "DIRECT")
	}
	(&aptRoot{dir: root, conf: filepath.Join(root, "apt.conf")}).mustRun(t, args...)
}

// TestProxySwarm: three proxies, one mirror. The first fetches the set
// through APT; the second and third fetch the same set, and the mirror's
// log shows no second copy of any .deb: they came from peers.
func TestProxySwarm(t *testing.T) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("apt-get not installed: run on Debian (apt-get install apt)")
	}
	spec := testmirror.SimpleSpec(6, 0)
	for i := range spec.Packages {
		spec.Packages[i].PayloadSize = 50_000 + i*90_000
	}
	arch, err := testmirror.Build(t.TempDir(), spec)
	require.NoError(t, err)
	mirror, err := testmirror.Serve(arch.Root, testmirror.Options{})
	require.NoError(t, err)
	defer mirror.Close()
	trk := httptest.NewServer(tracker.NewServer(tracker.ServerConfig{Interval: 2 * time.Second}))
	defer trk.Close()
	announce := trk.URL + "/announce"

	var pkgs []string
	for _, d := range arch.Debs {
		pkgs = append(pkgs, d.Name)
	}
	for i := range 3 {
		node := startProxyNode(t, "http://"+mirror.Addr()+"/", announce)
		root := t.TempDir()
		line := "deb [trusted=yes] http://" + node.addr + "/test/debian bookworm main"
		aptGet(t, root, line, "update")
		// Wait for the swarm to form before asking for packages (the first
		// node has no one to meet).
		if i > 0 {
			waitFor(t, 30*time.Second, func() bool {
				st := node.proxy.Status()
				return len(st.Torrents) == 1 && st.Torrents[0].Peers > 0
			})
		}
		aptGet(t, root, line, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
		for _, d := range arch.Debs {
			got, err := os.ReadFile(filepath.Join(root, "var/cache/apt/archives", filepath.Base(d.Filename)))
			require.NoError(t, err)
			require.Equal(t, d.SHA256, sha256.Sum256(got), "node %d: %s", i, d.Name)
		}
		if i > 0 {
			st := node.proxy.Status()
			require.NotNil(t, st.Engine)
			assert.Equal(t, totalSize(arch), st.Engine.BytesFromPeers, "node %d got every .deb from peers", i)
		}
	}
	for _, d := range arch.Debs {
		assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK)+mirror.Count(d.Filename, http.StatusPartialContent),
			"the mirror served %s more than once", d.Filename)
	}
}

func totalSize(a *testmirror.Archive) int64 {
	var n int64
	for _, d := range a.Debs {
		n += d.Size
	}
	return n
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProxyMirrorOnlyUnderNetHTTP: without a Client the proxy serves
// packages from the mirror through its own store, and works as a plain
// http.Handler under net/http.
func TestProxyMirrorOnlyUnderNetHTTP(t *testing.T) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("apt-get not installed: run on Debian (apt-get install apt)")
	}
	arch, err := testmirror.Build(t.TempDir(), testmirror.SimpleSpec(4, 30_000))
	require.NoError(t, err)
	mirror, err := testmirror.Serve(arch.Root, testmirror.Options{})
	require.NoError(t, err)
	defer mirror.Close()
	p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "test", URLs: []string{"http://" + mirror.Addr() + "/"}}},
		CacheDir: t.TempDir(),
	})
	require.NoError(t, err)
	defer p.Close()
	srv := httptest.NewServer(p)
	defer srv.Close()
	root := t.TempDir()
	line := "deb [trusted=yes] " + srv.URL + "/test/debian bookworm main"
	aptGet(t, root, line, "update")
	var pkgs []string
	for _, d := range arch.Debs {
		pkgs = append(pkgs, d.Name)
	}
	aptGet(t, root, line, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	for _, d := range arch.Debs {
		got, err := os.ReadFile(filepath.Join(root, "var/cache/apt/archives", filepath.Base(d.Filename)))
		require.NoError(t, err)
		require.Equal(t, d.SHA256, sha256.Sum256(got))
	}
	st := p.Status()
	assert.Equal(t, int64(len(pkgs)), st.DebsBySource["mirror"])
	assert.Nil(t, st.Engine)
}

// TestProxyCloseStopsEverything: after Close no goroutine of the proxy is
// left (connections, fetches, torrent building).
func TestProxyCloseStopsEverything(t *testing.T) {
	arch, err := testmirror.Build(t.TempDir(), testmirror.SimpleSpec(3, 10_000))
	require.NoError(t, err)
	mirror, err := testmirror.Serve(arch.Root, testmirror.Options{})
	require.NoError(t, err)
	defer mirror.Close()
	before := runtime.NumGoroutine()
	p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "test", URLs: []string{"http://" + mirror.Addr() + "/"}}},
		CacheDir: t.TempDir(),
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	for _, path := range []string{"dists/bookworm/Release", "dists/bookworm/main/binary-amd64/Packages.gz", arch.Debs[0].Filename} {
		resp, err := c.Get("http://" + ln.Addr().String() + "/test/debian/" + path)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	tr.CloseIdleConnections()
	require.NoError(t, p.Close())
	require.NoError(t, <-done)
	waitFor(t, 10*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}
