package debtorrent_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProxyStreamsDebs: a .deb fetched from a slow mirror reaches APT
// from its first bytes, long before its last, whether the engine fetches it
// or the proxy has no engine: the answer starts at once, with the package's
// length, and the bytes flow as they arrive.
func TestProxyStreamsDebs(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds: the mirror is rate-limited")
	}
	for _, withClient := range []bool{true, false} {
		t.Run(fmt.Sprintf("client=%v", withClient), func(t *testing.T) {
			spec := testmirror.SimpleSpec(2, 0)
			spec.Packages[1].PayloadSize = 1_500_000
			arch, mirror := buildMirror(t, spec, testmirror.Options{Rate: 500_000})
			d := arch.Debs[1]
			var p *testProxy
			if withClient {
				p = startEngineProxy(t, "http://"+mirror.Addr()+"/", 0, nil)
			} else {
				p = startProxy(t, "http://"+mirror.Addr()+"/", nil)
			}
			fetchIndexes(t, p)

			start := time.Now()
			resp, err := http.Get("http://" + p.Addr + "/test/debian/" + d.Filename)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, d.Size, resp.ContentLength)
			first := make([]byte, 1)
			_, err = io.ReadFull(resp.Body, first)
			require.NoError(t, err)
			ttfb := time.Since(start)
			rest, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			total := time.Since(start)
			require.Equal(t, d.SHA256, sha256.Sum256(append(first, rest...)))
			t.Logf("first byte after %v, the whole %d bytes after %v", ttfb, d.Size, total)
			assert.Less(t, ttfb, total/2, "the first byte comes long before the last")
			assert.Equal(t, d.Size, mirror.BytesSent(d.Filename), "the mirror sent it once")
		})
	}
}

// TestAptGetSlowDebWithShortTimeout: APT's http method gives up on an answer
// that sends nothing for Acquire::http::Timeout; a .deb that takes longer
// than that to fetch still arrives, in one try, because it is streamed.
func TestAptGetSlowDebWithShortTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds: the mirror is rate-limited")
	}
	spec := testmirror.SimpleSpec(2, 0)
	spec.Packages[1].PayloadSize = 2_000_000
	arch, mirror := buildMirror(t, spec, testmirror.Options{Rate: 400_000})
	p := startEngineProxy(t, "http://"+mirror.Addr()+"/", 0, nil)
	root := newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "", `Acquire::http::Timeout "2";`)
	root.mustRun(t, "update")
	d := arch.Debs[1]
	start := time.Now()
	root.mustRun(t, "install", "--download-only", "-y", d.Name)
	root.checkDebs(t, arch, d.Name)
	t.Logf("%s (%d bytes at 400 kB/s) in %v", d.Name, d.Size, time.Since(start))
	assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK)+mirror.Count(d.Filename, http.StatusPartialContent), "one fetch, no retry")
	assert.Equal(t, d.Size, mirror.BytesSent(d.Filename), fmt.Sprintf("the mirror sent %s once", d.Filename))
}

// TestAptGetRetriesACutStream: the mirror serves a .deb whose last block is
// wrong, once. The streamed answer is cut before its last byte (the SHA256
// fails), APT retries, the retry gets the whole right file (not a Range
// stitched onto the wrong bytes), and no wrong file ever lands in APT's
// archives.
func TestAptGetRetriesACutStream(t *testing.T) {
	spec := testmirror.SimpleSpec(2, 0)
	spec.Packages[1].PayloadSize = 300_000
	arch, err := testmirror.Build(t.TempDir(), spec)
	require.NoError(t, err)
	d := arch.Debs[1]
	var served atomic.Int64
	files := http.StripPrefix("/debian", http.FileServer(http.Dir(arch.Root)))
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, d.Filename) && served.Add(1) == 1 {
			b, err := os.ReadFile(filepath.Join(arch.Root, d.Filename))
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			b[len(b)-100] ^= 0xff // a wrong byte in the last block
			// Slowly (about 1 s), so that APT's answer is being streamed
			// when the SHA256 fails.
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			for off := 0; off < len(b); off += 16 << 10 {
				w.Write(b[off:min(off+16<<10, len(b))])
				w.(http.Flusher).Flush()
				time.Sleep(50 * time.Millisecond) // the mirror's pace, not the test's synchronisation
			}
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer mirror.Close()
	p := startEngineProxy(t, mirror.URL+"/", 0, nil)
	root := newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "", `Acquire::Retries "2";`)
	root.mustRun(t, "update")
	out := root.mustRun(t, "install", "--download-only", "-y", d.Name)
	root.checkDebs(t, arch, d.Name)
	assert.Contains(t, out, "Ign:1", "APT's first answer was cut and it asked again:\n%s", out)
	assert.GreaterOrEqual(t, served.Load(), int64(2), "fetched again after the bad copy:\n%s", out)
}

// TestRestartResumesDeb: the proxy is stopped with half of a large .deb
// fetched; after a restart the mirror sends only the rest (the store kept
// the half, and the engine asks for what is missing), and the package is
// right.
func TestRestartResumesDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("takes seconds: the mirror is rate-limited")
	}
	spec := testmirror.SimpleSpec(2, 0)
	spec.Packages[1].PayloadSize = 2_000_000
	arch, mirror := buildMirror(t, spec, testmirror.Options{Rate: 1_000_000})
	d := arch.Debs[1]
	dir := t.TempDir()
	start := func() (*testProxy, func()) {
		st, err := debtorrent.OpenDiskStorage(filepath.Join(dir, "packages"), debtorrent.DiskOptions{})
		require.NoError(t, err)
		c, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", Storage: st})
		require.NoError(t, err)
		p, stop := startProxyIn(t, dir, "http://"+mirror.Addr()+"/", func(pc *debtorrent.ProxyConfig) { pc.Client = c })
		return p, func() {
			stop()
			c.Close()
			st.Close()
		}
	}
	p, stop := start()
	fetchIndexes(t, p)
	resp, err := http.Get("http://" + p.Addr + "/test/debian/" + d.Filename)
	require.NoError(t, err)
	half := make([]byte, d.Size/2)
	_, err = io.ReadFull(resp.Body, half)
	require.NoError(t, err, "half the package streamed")
	resp.Body.Close()
	stop()
	sentBefore := mirror.BytesSent(d.Filename)

	p, stop = start()
	defer stop()
	p.oneTorrent(t) // rejoined at start from the cached Packages file
	st, _, body := httpGet(t, &http.Client{}, "GET", "http://"+p.Addr+"/test/debian/"+d.Filename)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, d.SHA256, sha256.Sum256([]byte(body)))
	total := mirror.BytesSent(d.Filename)
	t.Logf("before the restart the mirror sent %d bytes, after it %d, of %d", sentBefore, total-sentBefore, d.Size)
	// What the mirror counts as sent before the stop includes bytes still
	// in the sockets' buffers when the proxy stopped reading, so the proof
	// is after the restart: only the rest is asked for.
	assert.LessOrEqual(t, float64(total-sentBefore), float64(d.Size-int64(len(half)))+0.05*float64(d.Size),
		"after the restart the mirror sent only what the store did not keep")
}
