package debtorrent_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startEngineProxy starts a Proxy with a Client over a DiskStorage capped
// at maxBytes (0: no cap), with no peers.
func startEngineProxy(t testing.TB, mirrorBase string, maxBytes int64, mod func(*debtorrent.ProxyConfig)) *testProxy {
	t.Helper()
	dir := t.TempDir()
	st, err := debtorrent.OpenDiskStorage(filepath.Join(dir, "packages"), debtorrent.DiskOptions{MaxBytes: maxBytes})
	require.NoError(t, err)
	c, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", Storage: st})
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Close()
		st.Close()
	})
	return startProxy(t, mirrorBase, func(pc *debtorrent.ProxyConfig) {
		pc.Client = c
		pc.CacheDir = dir
		if mod != nil {
			mod(pc)
		}
	})
}

// fetchIndexes passes the Release and Packages through the proxy so that the
// torrent is made.
func fetchIndexes(t testing.TB, p *testProxy) {
	t.Helper()
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	st, _, _ := httpGet(t, c, "GET", base+"dists/bookworm/Release")
	require.Equal(t, http.StatusOK, st)
	st, _, _ = httpGet(t, c, "GET", base+"dists/bookworm/main/binary-amd64/Packages.xz")
	require.Equal(t, http.StatusOK, st)
}

// TestProxyEvictedDebFetchedAgain: under a cache cap, a .deb the store
// evicted is fetched again through the engine when APT asks for it, and
// APT gets the right bytes (not a 502).
func TestProxyEvictedDebFetchedAgain(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	a, b := arch.Debs[6], arch.Debs[7] // the two largest: each alone fits the cap, not both
	p := startEngineProxy(t, "http://"+mirror.Addr()+"/", a.Size+b.Size-1, nil)
	fetchIndexes(t, p)
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	for _, d := range []testmirror.Deb{a, b, a} {
		st, _, body := httpGet(t, c, "GET", base+d.Filename)
		require.Equal(t, http.StatusOK, st, body)
		require.Equal(t, d.SHA256, sha256.Sum256([]byte(body)), d.Filename)
	}
	assert.Equal(t, 2, mirror.Count(a.Filename, http.StatusOK), "fetched, evicted, fetched again")
	// The torrent counts only what the store holds (told asynchronously).
	waitFor(t, 10*time.Second, func() bool {
		ps := p.Status()
		return len(ps.Torrents) == 1 && ps.Torrents[0].PiecesDone == 1
	})
}

// TestProxySlowMirrorOneRoad: a .deb that takes longer than PeerWait from a
// slow mirror (no peers) is fetched from the mirror exactly once, by the
// engine's web source: the proxy keeps waiting on the engine and starts no
// second download.
func TestProxySlowMirrorOneRoad(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds: the mirror is rate-limited")
	}
	spec := testmirror.SimpleSpec(2, 0)
	spec.Packages[1].PayloadSize = 1_500_000
	arch, mirror := buildMirror(t, spec, testmirror.Options{Rate: 1_000_000})
	d := arch.Debs[1]
	p := startEngineProxy(t, "http://"+mirror.Addr()+"/", 0, func(pc *debtorrent.ProxyConfig) { pc.PeerWait = 300 * time.Millisecond })
	fetchIndexes(t, p)
	c := &http.Client{}

	start := time.Now()
	st, _, direct := httpGet(t, c, "GET", mirror.URL()+d.Filename)
	directTime := time.Since(start)
	require.Equal(t, http.StatusOK, st)
	sentBefore := mirror.BytesSent(".deb")

	start = time.Now()
	st, _, body := httpGet(t, c, "GET", "http://"+p.Addr+"/test/debian/"+d.Filename)
	proxyTime := time.Since(start)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, direct, body)
	assert.Equal(t, d.Size, mirror.BytesSent(".deb")-sentBefore, "the mirror sent the file once, no byte more: %+v", mirror.Log())
	// The time is a benchmark's business (BenchmarkProxySlowMirror): a test
	// on a shared machine only reports it.
	t.Logf("direct %v, through the proxy %v (%.3f×)", directTime, proxyTime, proxyTime.Seconds()/directTime.Seconds())
}

// BenchmarkProxySlowMirror: one large .deb from a rate-limited mirror, no
// peers, longer than PeerWait: directly, then through a proxy with a Client,
// side by side in each iteration. Reports the time to the first body byte
// and to the last of each, their ratio, and the mirror's bytes as copies of
// the file.
func BenchmarkProxySlowMirror(b *testing.B) {
	for _, rate := range []int64{1_000_000, 5_000_000, 20_000_000} {
		b.Run(fmt.Sprintf("%dMBps", rate/1_000_000), func(b *testing.B) {
			spec := testmirror.SimpleSpec(2, 0)
			spec.Packages[1].PayloadSize = int(3 * rate) // three seconds of the mirror
			var direct, proxied, directFirst, proxiedFirst time.Duration
			var copies float64
			for range b.N {
				arch, mirror := buildMirror(b, spec, testmirror.Options{Rate: rate})
				d := arch.Debs[1]
				p := startEngineProxy(b, "http://"+mirror.Addr()+"/", 0, func(pc *debtorrent.ProxyConfig) { pc.PeerWait = time.Second })
				fetchIndexes(b, p)
				first, total := timedGet(b, mirror.URL()+d.Filename, d.SHA256)
				directFirst += first
				direct += total
				sent := mirror.BytesSent(".deb")
				first, total = timedGet(b, "http://"+p.Addr+"/test/debian/"+d.Filename, d.SHA256)
				proxiedFirst += first
				proxied += total
				copies += float64(mirror.BytesSent(".deb")-sent) / float64(d.Size)
			}
			n := float64(b.N)
			b.ReportMetric(directFirst.Seconds()/n, "direct-ttfb-s")
			b.ReportMetric(proxiedFirst.Seconds()/n, "proxy-ttfb-s")
			b.ReportMetric(direct.Seconds()/n, "direct-s")
			b.ReportMetric(proxied.Seconds()/n, "proxy-s")
			b.ReportMetric(proxied.Seconds()/direct.Seconds(), "proxy/direct")
			b.ReportMetric(copies/n, "mirror-copies")
		})
	}
}

// timedGet fetches url and returns the time to the first body byte and to
// the last, checking the body's SHA256.
func timedGet(b *testing.B, url string, want [32]byte) (first, total time.Duration) {
	b.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	require.NoError(b, err)
	defer resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode)
	h := sha256.New()
	one := make([]byte, 1)
	_, err = io.ReadFull(resp.Body, one)
	require.NoError(b, err)
	first = time.Since(start)
	h.Write(one)
	_, err = io.Copy(h, resp.Body)
	require.NoError(b, err)
	total = time.Since(start)
	require.Equal(b, want[:], h.Sum(nil))
	return first, total
}
