package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
)

// benchSpec is the benchmark's archive: many small packages, some large.
func benchSpec() testmirror.Spec {
	var s testmirror.Spec
	for i := range 60 {
		s.Packages = append(s.Packages, testmirror.Package{Name: fmt.Sprintf("small%02d", i), Version: "1.0-1", PayloadSize: 8 << 10})
	}
	for i := range 4 {
		s.Packages = append(s.Packages, testmirror.Package{Name: fmt.Sprintf("large%02d", i), Version: "1.0-1", PayloadSize: 8 << 20})
	}
	return s
}

// latency delays the first byte of every .deb answer of the mirror,
// standing for a distant mirror's round trips.
type latency struct {
	delay time.Duration
	mu    sync.Mutex
	seen  map[*http.Request]bool
}

func (l *latency) fault(r *http.Request) int {
	if l.delay == 0 || filepath.Ext(r.URL.Path) != ".deb" {
		return 0
	}
	l.mu.Lock()
	first := !l.seen[r]
	l.seen[r] = true
	l.mu.Unlock()
	if first {
		t := time.NewTimer(l.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	return 0
}

// benchProxy is a debtorrent proxy (mirror only) on a fixed loopback
// address, so APT roots keep their sources.list while the proxy behind the
// address is replaced by a fresh, empty one.
type benchProxy struct {
	mirror *testmirror.Server
	addr   string
	p      *debtorrent.Proxy
	served chan error
}

// start replaces the running proxy (if any) by a new one with an empty
// cache.
func (bp *benchProxy) start(b *testing.B) {
	bp.stop()
	p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "test-mirror", URLs: []string{"http://" + bp.mirror.Addr() + "/"}}},
		CacheDir: b.TempDir(),
	})
	require.NoError(b, err)
	addr := bp.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	require.NoError(b, err)
	bp.addr = ln.Addr().String()
	bp.p, bp.served = p, make(chan error, 1)
	go func() { bp.served <- p.Serve(ln) }()
}

func (bp *benchProxy) stop() {
	if bp.p != nil {
		bp.p.Close()
		<-bp.served
		bp.p = nil
	}
}

// BenchmarkAptDownload downloads the same 64 packages (60 of 8 KiB and 4
// of 8 MiB) with real apt-get three ways in each iteration, so they are
// compared in one run:
//
//   - method: the debtorrent:// method through the proxy;
//   - proxyhttp: APT's http method through the proxy's HTTP mode;
//   - direct: APT's http method straight from the mirror.
//
// The mirror's link is capped at 200 MB/s and each .deb answer waits 20 ms
// before its first byte. "cold" gives the proxy an empty cache before each
// download (packages cross the proxy from the mirror); "warm" keeps it, so
// the proxy answers from its store. Metrics: ms per download for each
// way, and proxyhttp/method and direct/method, the method's speed-up.
func BenchmarkAptDownload(b *testing.B) {
	dir := b.TempDir()
	archive, err := testmirror.Build(dir, benchSpec())
	require.NoError(b, err)
	pkgs := names(archive)
	lat := &latency{delay: 20 * time.Millisecond, seen: map[*http.Request]bool{}}
	mirror, err := testmirror.Serve(dir, testmirror.Options{Prefix: "/debian/", Rate: 200 << 20, Fault: lat.fault})
	require.NoError(b, err)
	defer mirror.Close()

	for _, cold := range []bool{true, false} {
		name := map[bool]string{true: "cold", false: "warm"}[cold]
		b.Run(name, func(b *testing.B) {
			bp := &benchProxy{mirror: mirror}
			bp.start(b)
			defer bp.stop()
			ways := []struct {
				name    string
				root    *aptRoot
				proxied bool
			}{
				{"method", newAPTRoot(b, "deb [trusted=yes] debtorrent://"+bp.addr+"/test-mirror/debian bookworm main"), true},
				{"proxyhttp", newAPTRoot(b, "deb [trusted=yes] http://"+bp.addr+"/test-mirror/debian bookworm main"), true},
				{"direct", newAPTRoot(b, "deb [trusted=yes] http://"+mirror.Addr()+"/debian bookworm main"), false},
			}
			prepare := func(root *aptRoot, proxied bool) {
				clearArchives(b, root)
				if cold && proxied {
					bp.start(b)
					clearLists(b, root)
				}
				out, err := root.run(b, "update")
				require.NoError(b, err, out)
			}
			for _, w := range ways {
				w.root.installSnippet(b)
				if !cold {
					// Warm the proxy's store.
					prepare(w.root, w.proxied)
					out, err := w.root.run(b, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
					require.NoError(b, err, out)
				}
			}
			spent := make([]time.Duration, len(ways))
			b.ResetTimer()
			for range b.N {
				for i, w := range ways {
					b.StopTimer()
					prepare(w.root, w.proxied)
					b.StartTimer()
					start := time.Now()
					out, err := w.root.run(b, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
					spent[i] += time.Since(start)
					require.NoError(b, err, out)
				}
			}
			for i, w := range ways {
				b.ReportMetric(float64(spent[i].Milliseconds())/float64(b.N), w.name+"-ms/op")
			}
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "proxyhttp/method")
			b.ReportMetric(float64(spent[2])/float64(spent[0]), "direct/method")
		})
	}
}

// clearArchives removes the downloaded packages so the next run fetches
// them again.
func clearArchives(b *testing.B, r *aptRoot) {
	debs, _ := filepath.Glob(r.archive("*.deb"))
	for _, d := range debs {
		require.NoError(b, os.Remove(d))
	}
}

// clearLists removes the downloaded indexes, so that the next update
// fetches them whole (through a fresh proxy, which then learns them).
func clearLists(b *testing.B, r *aptRoot) {
	lists, _ := filepath.Glob(filepath.Join(r.dir, "var/lib/apt/lists/*_*"))
	for _, l := range lists {
		require.NoError(b, os.Remove(l))
	}
}
