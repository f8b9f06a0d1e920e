package debtorrent_test

import (
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/debtorrent/debtorrent/tracker"
	"github.com/stretchr/testify/require"
)

// benchRate is the mirror's bandwidth in the benchmarks (bytes/s).
const benchRate = 20_000_000

// benchArchive builds the package set of the benchmarks: 16 packages,
// 200 KB to 3.2 MB, about 27 MB in all.
func benchArchive(b *testing.B) (*testmirror.Archive, []string) {
	b.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		b.Skip("apt-get not installed: run on Debian (apt-get install apt)")
	}
	spec := testmirror.SimpleSpec(16, 0)
	for i := range spec.Packages {
		spec.Packages[i].PayloadSize = 200_000 * (i + 1)
	}
	arch, err := testmirror.Build(b.TempDir(), spec)
	require.NoError(b, err)
	var pkgs []string
	for _, d := range arch.Debs {
		pkgs = append(pkgs, d.Name)
	}
	return arch, pkgs
}

// timeApt runs apt-get update and install --download-only in a fresh root
// and returns how long both took.
func timeApt(b *testing.B, line string, pkgs []string) time.Duration {
	root := b.TempDir()
	start := time.Now()
	aptGet(b, root, line, "update")
	aptGet(b, root, line, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	return time.Since(start)
}

// BenchmarkProxyVsDirect: apt-get straight from a rate-limited mirror
// against apt-get through a fresh proxy with no peers (mirror only), side
// by side in each iteration. Reports the seconds of each and their ratio.
func BenchmarkProxyVsDirect(b *testing.B) {
	arch, pkgs := benchArchive(b)
	var direct, proxied time.Duration
	for range b.N {
		// A fresh mirror per side and round, so both start from the same
		// (empty) rate-limiter bucket.
		m1, err := testmirror.Serve(arch.Root, testmirror.Options{Rate: benchRate})
		require.NoError(b, err)
		direct += timeApt(b, "deb [trusted=yes] "+m1.URL()+" bookworm main", pkgs)
		m1.Close()

		m2, err := testmirror.Serve(arch.Root, testmirror.Options{Rate: benchRate})
		require.NoError(b, err)
		p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
			Mirrors:  []debtorrent.ProxyMirror{{Name: "test", URLs: []string{"http://" + m2.Addr() + "/"}}},
			CacheDir: b.TempDir(),
		})
		require.NoError(b, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		go p.Serve(ln)
		proxied += timeApt(b, "deb [trusted=yes] http://"+ln.Addr().String()+"/test/debian bookworm main", pkgs)
		p.Close()
		m2.Close()
	}
	b.ReportMetric(direct.Seconds()/float64(b.N), "direct-s/op")
	b.ReportMetric(proxied.Seconds()/float64(b.N), "proxy-s/op")
	b.ReportMetric(proxied.Seconds()/direct.Seconds(), "proxy/direct")
}

// BenchmarkProxySwarm: N proxies (each with a Client) and one rate-limited
// mirror; the nodes run apt-get one after another. Reports each node's
// seconds and the .deb bytes the mirror sent, as a multiple of the set.
func BenchmarkProxySwarm(b *testing.B) {
	arch, pkgs := benchArchive(b)
	const nodes = 3
	var set int64
	for _, d := range arch.Debs {
		set += d.Size
	}
	var times [nodes]time.Duration
	var mirrorDebBytes int64
	for range b.N {
		mirror, err := testmirror.Serve(arch.Root, testmirror.Options{Rate: benchRate})
		require.NoError(b, err)
		trk := httptest.NewServer(tracker.NewServer(tracker.ServerConfig{Interval: 2 * time.Second}))
		for i := range nodes {
			node := startProxyNode(b, "http://"+mirror.Addr()+"/", trk.URL+"/announce")
			line := "deb [trusted=yes] http://" + node.addr + "/test/debian bookworm main"
			root := b.TempDir()
			start := time.Now()
			aptGet(b, root, line, "update")
			if i > 0 {
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if st := node.proxy.Status(); len(st.Torrents) == 1 && st.Torrents[0].Peers > 0 {
						break
					}
				}
			}
			aptGet(b, root, line, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
			times[i] += time.Since(start)
		}
		mirrorDebBytes += mirror.BytesSent(".deb")
		trk.Close()
		mirror.Close()
	}
	for i := range nodes {
		b.ReportMetric(times[i].Seconds()/float64(b.N), "node"+string(rune('1'+i))+"-s/op")
	}
	b.ReportMetric(float64(mirrorDebBytes)/float64(b.N)/float64(set), "mirror-deb-bytes/set")
}

// startAptCacherNg runs Debian's apt-cacher-ng on a loopback port, for
// comparison, and returns its address (skips when it is not installed).
func startAptCacherNg(b *testing.B, mirrorPort int) string {
	b.Helper()
	bin, err := exec.LookPath("apt-cacher-ng")
	if err != nil {
		if _, err2 := os.Stat("/usr/sbin/apt-cacher-ng"); err2 != nil {
			b.Skip("apt-cacher-ng not installed: apt-get install apt-cacher-ng")
		}
		bin = "/usr/sbin/apt-cacher-ng"
	}
	port := lowPort()
	dir, err := os.MkdirTemp("", "acng") // short: it holds a unix socket
	require.NoError(b, err)
	b.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"cache", "log"} {
		require.NoError(b, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	cmd := exec.Command(bin, "-c", "/etc/apt-cacher-ng", "ForeGround=1", fmt.Sprintf("Port=%d", port), "BindAddress=127.0.0.1",
		"CacheDir="+filepath.Join(dir, "cache"), "LogDir="+filepath.Join(dir, "log"), "SocketPath="+filepath.Join(dir, "socket"),
		fmt.Sprintf("AllowUserPorts=%d", mirrorPort))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("apt-cacher-ng did not start: %s", out.String())
		}
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lowPort returns a free loopback port below 32768: apt-cacher-ng 3.7
// cannot use higher ones ("Error resolving address for binding").
func lowPort() int {
	for p := 20000 + time.Now().Nanosecond()%10000; ; p++ {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			ln.Close()
			return p
		}
	}
}

// runEight starts eight apt-get update + install runs at once with
// Acquire::Retries 0, each in its own root, and returns how many failed and
// the wall time.
func runEight(b *testing.B, line, proxy string, pkgs []string) (failed int, d time.Duration, firstErr string) {
	const n = 8
	roots := make([]string, n)
	for i := range roots {
		roots[i] = b.TempDir()
		aptSetup(b, roots[i], line, proxy)
	}
	type result struct {
		out string
		err error
	}
	results := make(chan result, n)
	start := time.Now()
	for _, r := range roots {
		go func() {
			out, err := aptRun(r, "update")
			if err == nil {
				out, err = aptRun(r, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
			}
			results <- result{out, err}
		}()
	}
	for range n {
		if r := <-results; r.err != nil {
			failed++
			if firstErr == "" {
				firstErr = lastLines(r.out, 3)
			}
		}
	}
	return failed, time.Since(start), firstErr
}

// BenchmarkEightAtOnce: eight apt-get runs started together (a LAN of
// machines), Retries 0, through debtorrent's proxy (no peers) and through
// apt-cacher-ng, against one rate-limited mirror. Reports failed runs and
// seconds.
func BenchmarkEightAtOnce(b *testing.B) {
	arch, pkgs := benchArchive(b)
	for _, name := range []string{"debtorrent", "apt-cacher-ng"} {
		b.Run(name, func(b *testing.B) {
			var failed int
			var total time.Duration
			for range b.N {
				mirrorPort := lowPort()
				mirror, err := testmirror.Serve(arch.Root, testmirror.Options{Rate: benchRate, Addr: fmt.Sprintf("127.0.0.1:%d", mirrorPort)})
				require.NoError(b, err)
				var proxy string
				if name == "debtorrent" {
					p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
						Mirrors:  []debtorrent.ProxyMirror{{Name: "test", URLs: []string{"http://" + mirror.Addr() + "/"}}},
						CacheDir: b.TempDir(),
					})
					require.NoError(b, err)
					ln, err := net.Listen("tcp", "127.0.0.1:0")
					require.NoError(b, err)
					go p.Serve(ln)
					defer p.Close()
					proxy = "http://" + ln.Addr().String()
				} else {
					proxy = "http://" + startAptCacherNg(b, mirrorPort)
				}
				f, d, msg := runEight(b, "deb [trusted=yes] "+mirror.URL()+" bookworm main", proxy, pkgs)
				if msg != "" {
					b.Logf("%s: %d of 8 apt-get runs failed, e.g.:\n%s", name, f, msg)
				}
				failed += f
				total += d
				mirror.Close()
			}
			b.ReportMetric(float64(failed)/float64(b.N), "failed-runs/op")
			b.ReportMetric(total.Seconds()/float64(b.N), "wall-s/op")
		})
	}
}
