package debtorrent_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/debtorrent/debtorrent/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleetNode is one machine: a Client and a Proxy with their state in dir,
// which survives stop (a restart is a new node on the same dir).
type fleetNode struct {
	client *debtorrent.Client
	proxy  *debtorrent.Proxy
	addr   string
	stop   func()
}

func startFleetNode(t *testing.T, dir, mirrorBase, announce string, mod func(*debtorrent.ProxyConfig)) *fleetNode {
	t.Helper()
	st, err := debtorrent.OpenDiskStorage(filepath.Join(dir, "packages"), debtorrent.DiskOptions{})
	require.NoError(t, err)
	c, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", Storage: st})
	require.NoError(t, err)
	cfg := debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "test", URLs: []string{mirrorBase}}},
		CacheDir: dir, Client: c, Trackers: []string{announce},
		Architectures: []string{"amd64"}, AptLists: filepath.Join(dir, "no-lists"),
	}
	if mod != nil {
		mod(&cfg)
	}
	p, err := debtorrent.NewProxy(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	n := &fleetNode{client: c, proxy: p, addr: ln.Addr().String()}
	var once bool
	n.stop = func() {
		if once {
			return
		}
		once = true
		p.Close()
		require.NoError(t, <-done)
		c.Close()
		st.Close()
	}
	t.Cleanup(n.stop)
	return n
}

// swarmReady waits until the node runs one torrent with a peer.
func (n *fleetNode) swarmReady(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, func() bool {
		st := n.proxy.Status()
		return len(st.Torrents) == 1 && st.Torrents[0].Peers > 0
	})
}

// fleetMirror is a test archive and a tracker for a small fleet.
func fleetMirror(t *testing.T) (*testmirror.Archive, *testmirror.Server, string) {
	t.Helper()
	spec := testmirror.SimpleSpec(5, 0)
	for i := range spec.Packages {
		spec.Packages[i].PayloadSize = 40_000 + i*60_000
	}
	arch, mirror := buildMirror(t, spec, testmirror.Options{})
	trk := httptest.NewServer(tracker.NewServer(tracker.ServerConfig{Interval: 2 * time.Second}))
	t.Cleanup(trk.Close)
	return arch, mirror, trk.URL + "/announce"
}

// packagesFetched counts the Packages files the mirror served.
func packagesFetched(m *testmirror.Server) int {
	n := 0
	for _, e := range m.Log() {
		if e.Status == http.StatusOK && (strings.Contains(e.Path, "/Packages") || strings.Contains(e.Path, "/by-hash/")) {
			n++
		}
	}
	return n
}

// TestJoinWithExistingAptLists: a proxy started in front of an APT root
// that already has its lists joins the swarm although APT fetches only the
// InRelease: it reads APT's own Packages file, and the .debs come from the
// peer, not the mirror.
func TestJoinWithExistingAptLists(t *testing.T) {
	arch, mirror, announce := fleetMirror(t)
	pkgs := debNames(arch)
	line := "deb [trusted=yes] " + mirror.URL() + " bookworm main"

	seed := startFleetNode(t, t.TempDir(), "http://"+mirror.Addr()+"/", announce, nil)
	first := newAptRoot(t, line, "http://"+seed.addr)
	first.mustRun(t, "update")
	first.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	require.Equal(t, 1, packagesFetched(mirror))

	// The second machine's APT already has the lists (the same mirror URL,
	// so the same names): copy them.
	second := newAptRoot(t, line, "")
	copyDir(t, filepath.Join(first.dir, "var/lib/apt/lists"), filepath.Join(second.dir, "var/lib/apt/lists"))
	node := startFleetNode(t, t.TempDir(), "http://"+mirror.Addr()+"/", announce, func(c *debtorrent.ProxyConfig) {
		c.AptLists = filepath.Join(second.dir, "var/lib/apt/lists")
	})
	second = newAptRootIn(t, second.dir, line, "http://"+node.addr)
	second.mustRun(t, "update")
	node.swarmReady(t)
	second.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	second.checkDebs(t, arch, pkgs...)
	st := node.proxy.Status()
	require.NotNil(t, st.Engine)
	assert.Equal(t, totalSize(arch), st.Engine.BytesFromPeers, "every .deb came from the peer")
	for _, d := range arch.Debs {
		assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), "%s sent by the mirror once, to the first machine", d.Filename)
	}
	assert.Equal(t, 1, packagesFetched(mirror), "neither APT nor the second proxy fetched a Packages file")
}

// TestRestartedProxySeeds: a proxy restarted with a warm cache joins its
// swarms at start and serves a fresh peer before any APT request reaches it.
func TestRestartedProxySeeds(t *testing.T) {
	arch, mirror, announce := fleetMirror(t)
	pkgs := debNames(arch)
	dir := t.TempDir()
	a := startFleetNode(t, dir, "http://"+mirror.Addr()+"/", announce, nil)
	rootA := newAptRoot(t, "deb [trusted=yes] http://"+a.addr+"/test/debian bookworm main", "")
	rootA.mustRun(t, "update")
	rootA.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	a.stop()

	a = startFleetNode(t, dir, "http://"+mirror.Addr()+"/", announce, nil)
	waitFor(t, 30*time.Second, func() bool {
		st := a.proxy.Status()
		return len(st.Torrents) == 1 && st.Torrents[0].PiecesDone == len(arch.Debs)
	})
	b := startFleetNode(t, t.TempDir(), "http://"+mirror.Addr()+"/", announce, nil)
	rootB := newAptRoot(t, "deb [trusted=yes] http://"+b.addr+"/test/debian bookworm main", "")
	rootB.mustRun(t, "update")
	b.swarmReady(t)
	rootB.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	rootB.checkDebs(t, arch, pkgs...)
	st := b.proxy.Status()
	require.NotNil(t, st.Engine)
	assert.Equal(t, totalSize(arch), st.Engine.BytesFromPeers, "every .deb came from the restarted proxy")
}

// copyDir copies the regular files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	es, err := os.ReadDir(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dst, 0o755))
	for _, e := range es {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
}
