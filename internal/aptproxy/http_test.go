package aptproxy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get sends one request to the proxy and returns status, headers, body.
func get(t *testing.T, c *http.Client, method, u string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func TestHTTPBehaviour(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"

	// Index files: Release, then Packages by-hash; the torrent appears.
	st, h, body := get(t, c, "GET", base+"dists/bookworm/Release")
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, body, "Acquire-By-Hash: yes")
	lm := h.Get("Last-Modified")
	require.NotEmpty(t, lm)
	st, _, _ = get(t, c, "GET", base+"dists/bookworm/Release", "If-Modified-Since", lm)
	assert.Equal(t, http.StatusNotModified, st, "APT's If-Modified-Since is answered 304")
	get(t, c, "GET", base+"dists/bookworm/Release", "Cache-Control", "max-age=0")
	assert.GreaterOrEqual(t, mirror.Count("dists/bookworm/Release", http.StatusNotModified), 1, "max-age=0 revalidates upstream")

	st, _, _ = get(t, c, "GET", base+"dists/bookworm/main/binary-amd64/Packages.xz")
	require.Equal(t, http.StatusOK, st)
	st, _, _ = get(t, c, "GET", base+"dists/bookworm/InRelease")
	assert.Equal(t, http.StatusNotFound, st, "a 404 upstream is a 404")

	d := arch.Debs[3]
	debURL := base + d.Filename
	// HEAD answers from the Packages entry, without a download.
	st, h, body = get(t, c, "HEAD", debURL)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, fmt.Sprint(d.Size), h.Get("Content-Length"))
	assert.Empty(t, body)
	assert.Equal(t, 0, mirror.Count(d.Filename, http.StatusOK))

	st, h, full := get(t, c, "GET", debURL)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, int(d.Size), len(full))
	assert.NotEmpty(t, h.Get("Last-Modified"))
	etag := h.Get("ETag")

	// Range, as APT resumes: with a matching If-Range, then a stale one.
	st, h, body = get(t, c, "GET", debURL, "Range", "bytes=1000-", "If-Range", etag)
	assert.Equal(t, http.StatusPartialContent, st)
	assert.Equal(t, full[1000:], body)
	assert.Equal(t, fmt.Sprintf("bytes 1000-%d/%d", d.Size-1, d.Size), h.Get("Content-Range"))
	st, _, body = get(t, c, "GET", debURL, "Range", "bytes=1000-", "If-Range", `"other"`)
	assert.Equal(t, http.StatusOK, st)
	assert.Equal(t, full, body)
	st, h, _ = get(t, c, "GET", debURL, "Range", fmt.Sprintf("bytes=%d-", d.Size))
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, st)
	assert.Equal(t, fmt.Sprintf("bytes */%d", d.Size), h.Get("Content-Range"))
	assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), "fetched from the mirror once")

	// Unlisted pool files pass through and are cached; missing ones are 404.
	st, _, _ = get(t, c, "GET", base+"pool/main/x/xyz/xyz_1_amd64.deb")
	assert.Equal(t, http.StatusNotFound, st)
	st, _, body = get(t, c, "GET", base+arch.Debs[0].Filename+"/../../../../../etc/passwd")
	assert.NotEqual(t, http.StatusOK, st, body)

	// Not a mirror: 403 with a reason, on both ways in.
	st, _, body = get(t, c, "GET", "http://"+p.Addr+"/other/debian/dists/x/Release")
	assert.Equal(t, http.StatusForbidden, st, "an unknown mirror name is refused")
	assert.Contains(t, body, "not a configured mirror")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(body), "\n")+1, "one line")
	fwd := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse("http://" + p.Addr) }}}
	st, _, body = get(t, fwd, "GET", "http://example.invalid/debian/dists/bookworm/Release")
	assert.Equal(t, http.StatusForbidden, st)
	assert.Contains(t, body, "not a configured mirror")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(body), "\n")+1, "one line")
	st, _, _ = get(t, fwd, "GET", mirror.URL()+"dists/bookworm/Release")
	assert.Equal(t, http.StatusOK, st, "forward proxy to the configured mirror")
	st, _, _ = get(t, fwd, "GET", "http://"+p.Addr+"/status.json")
	assert.Equal(t, http.StatusForbidden, st, "status pages only for requests addressed to the proxy")

	// Status pages.
	st, h, body = get(t, c, "GET", "http://"+p.Addr+"/status.json")
	require.Equal(t, http.StatusOK, st)
	var s Status
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	require.Len(t, s.Torrents, 1)
	assert.Equal(t, len(arch.Debs), s.Torrents[0].Packages)
	assert.Equal(t, "Test/bookworm/main/binary-amd64", s.Torrents[0].Name)
	assert.Greater(t, s.BytesFromMirrors, d.Size)
	assert.Equal(t, 1, s.CachePieces)
	assert.NotEmpty(t, s.Recent)
	st, _, body = get(t, c, "GET", "http://"+p.Addr+"/metrics")
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, body, "# TYPE debtorrent_proxy_requests_total counter")
	assert.Contains(t, body, `debtorrent_proxy_debs_total{source="mirror"} 1`)
	st, h, body = get(t, c, "GET", "http://"+p.Addr+"/")
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, h.Get("Content-Type"), "text/html")
	assert.Contains(t, body, "Test/bookworm/main/binary-amd64")
}

func TestMirrorDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	p := startProxy(t, "http://"+dead+"/", nil)
	st, _, body := get(t, &http.Client{}, "GET", "http://"+p.Addr+"/test/debian/dists/bookworm/Release")
	assert.Equal(t, http.StatusBadGateway, st)
	assert.Contains(t, body, "every source failed")
}

func TestMirrorErrorsPassedOn(t *testing.T) {
	_, mirror := buildMirror(t, testSpec(), testmirror.Options{Fault: func(r *http.Request) int {
		if strings.HasSuffix(r.URL.Path, "/Release") {
			return http.StatusInternalServerError
		}
		return 0
	}})
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	st, _, _ := get(t, &http.Client{}, "GET", "http://"+p.Addr+"/test/debian/dists/bookworm/Release")
	assert.Equal(t, http.StatusInternalServerError, st, "upstream status codes are passed on")
}

func TestResolveRefusesEscapes(t *testing.T) {
	m, err := NewMirror("deb.example.org", "http://deb.example.org/")
	require.NoError(t, err)
	m.Prefixes = []string{"debian/"}
	ms, err := NewMirrors([]*Mirror{m})
	require.NoError(t, err)
	for _, p := range []string{
		"/deb.example.org/debian/../evil/dists/bookworm/Release",
		"/deb.example.org/debian/%2e%2e/evil/dists/bookworm/Release",
		"/deb.example.org/evil/dists/bookworm/Release",
		"/deb.example.org/debian//dists/bookworm/Release",
	} {
		r, err := http.NewRequest("GET", "http://proxy"+p, nil)
		require.NoError(t, err)
		r.URL.Scheme, r.URL.Host = "", ""
		_, err = ms.Resolve(r)
		assert.Error(t, err, p)
	}
	r, _ := http.NewRequest("GET", "http://deb.example.org/debian/dists/bookworm/Release", nil)
	tg, err := ms.Resolve(r)
	require.NoError(t, err)
	assert.Equal(t, "debian/", tg.Root)
	assert.Equal(t, []string{"http://deb.example.org/debian/dists/bookworm/Release"}, tg.UpstreamURLs())
}

func TestParseRangeTable(t *testing.T) {
	for _, c := range []struct {
		in         string
		start, end int64
		ok, unsat  bool
	}{
		{"bytes=0-", 0, 99, true, false},
		{"bytes=10-19", 10, 19, true, false},
		{"bytes=90-500", 90, 99, true, false},
		{"bytes=-10", 90, 99, true, false},
		{"bytes=-1000", 0, 99, true, false},
		{"bytes=100-", 0, 0, false, true},
		{"bytes=20-10", 0, 0, false, false},
		{"bytes=0-1,5-6", 0, 0, false, false},
		{"lines=1-2", 0, 0, false, false},
		{"bytes=x-", 0, 0, false, false},
	} {
		s, e, ok, unsat := parseRange(c.in, 100)
		assert.Equal(t, c.ok, ok, c.in)
		assert.Equal(t, c.unsat, unsat, c.in)
		if ok {
			assert.Equal(t, [2]int64{c.start, c.end}, [2]int64{s, e}, c.in)
		}
	}
}

// TestUnlistedPoolFileIsServedAndCached: a pool file no torrent lists is
// fetched from the mirror, cached and served, never refused.
func TestUnlistedPoolFileIsServedAndCached(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	p := startProxy(t, "http://"+mirror.Addr()+"/", func(c *Config) { c.BuildWait = 1 })
	d := arch.Debs[1]
	for range 2 {
		st, _, body := get(t, &http.Client{}, "GET", "http://"+p.Addr+"/test/debian/"+d.Filename)
		require.Equal(t, http.StatusOK, st)
		require.Equal(t, d.SHA256, sha256.Sum256([]byte(body)))
	}
	assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), "cached after the first fetch")
	assert.Empty(t, p.Torrents())
}

// TestSlowMirrorGives504: past the deadline APT gets 504 with a reason,
// never a hang.
func TestSlowMirrorGives504(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{Fault: func(r *http.Request) int {
		if strings.HasSuffix(r.URL.Path, ".deb") {
			<-r.Context().Done() // never answers
		}
		return 0
	}})
	p := startProxy(t, "http://"+mirror.Addr()+"/", func(c *Config) { c.DebTimeout = 500 * time.Millisecond })
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	get(t, c, "GET", base+"dists/bookworm/Release")
	st, _, _ := get(t, c, "GET", base+"dists/bookworm/main/binary-amd64/Packages.xz")
	require.Equal(t, http.StatusOK, st)
	st, _, body := get(t, c, "GET", base+arch.Debs[0].Filename)
	assert.Equal(t, http.StatusGatewayTimeout, st)
	assert.Contains(t, body, "timed out")
}

// stuckFetcher never delivers: it waits until its caller gives up.
type stuckFetcher struct{ calls chan struct{} }

func (s stuckFetcher) Fetch(ctx context.Context, t *Torrent, file int) error {
	s.calls <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestPeerWaitForcesMirror: when the engine does not deliver within
// PeerWait, the mirror is asked and APT still gets the package.
func TestPeerWaitForcesMirror(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	f := stuckFetcher{calls: make(chan struct{}, 10)}
	p := startProxy(t, "http://"+mirror.Addr()+"/", func(c *Config) {
		c.Fetcher = f
		c.PeerWait = 200 * time.Millisecond
	})
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	get(t, c, "GET", base+"dists/bookworm/Release")
	get(t, c, "GET", base+"dists/bookworm/main/binary-amd64/Packages.xz")
	d := arch.Debs[0]
	st, _, body := get(t, c, "GET", base+d.Filename)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, d.SHA256, sha256.Sum256([]byte(body)))
	assert.Len(t, f.calls, 1, "the engine was asked first")
	assert.Equal(t, int64(1), p.Status().DebsBySource["mirror"])
}
