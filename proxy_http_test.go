package debtorrent_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPBehaviour(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"

	// Index files: Release, then Packages by-hash; the torrent appears.
	st, h, body := httpGet(t, c, "GET", base+"dists/bookworm/Release")
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, body, "Acquire-By-Hash: yes")
	lm := h.Get("Last-Modified")
	require.NotEmpty(t, lm)
	st, _, _ = httpGet(t, c, "GET", base+"dists/bookworm/Release", "If-Modified-Since", lm)
	assert.Equal(t, http.StatusNotModified, st, "APT's If-Modified-Since is answered 304")
	httpGet(t, c, "GET", base+"dists/bookworm/Release", "Cache-Control", "max-age=0")
	assert.GreaterOrEqual(t, mirror.Count("dists/bookworm/Release", http.StatusNotModified), 1, "max-age=0 revalidates upstream")

	st, _, _ = httpGet(t, c, "GET", base+"dists/bookworm/main/binary-amd64/Packages.xz")
	require.Equal(t, http.StatusOK, st)
	st, _, _ = httpGet(t, c, "GET", base+"dists/bookworm/InRelease")
	assert.Equal(t, http.StatusNotFound, st, "a 404 upstream is a 404")

	d := arch.Debs[3]
	debURL := base + d.Filename
	// HEAD answers from the Packages entry, without a download.
	st, h, body = httpGet(t, c, "HEAD", debURL)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, fmt.Sprint(d.Size), h.Get("Content-Length"))
	assert.Empty(t, body)
	assert.Equal(t, 0, mirror.Count(d.Filename, http.StatusOK))

	st, h, full := httpGet(t, c, "GET", debURL)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, int(d.Size), len(full))
	assert.NotEmpty(t, h.Get("Last-Modified"))
	etag := h.Get("ETag")

	// Range, as APT resumes: with a matching If-Range, then a stale one.
	st, h, body = httpGet(t, c, "GET", debURL, "Range", "bytes=1000-", "If-Range", etag)
	assert.Equal(t, http.StatusPartialContent, st)
	assert.Equal(t, full[1000:], body)
	assert.Equal(t, fmt.Sprintf("bytes 1000-%d/%d", d.Size-1, d.Size), h.Get("Content-Range"))
	st, _, body = httpGet(t, c, "GET", debURL, "Range", "bytes=1000-", "If-Range", `"other"`)
	assert.Equal(t, http.StatusOK, st)
	assert.Equal(t, full, body)
	st, h, _ = httpGet(t, c, "GET", debURL, "Range", fmt.Sprintf("bytes=%d-", d.Size))
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, st)
	assert.Equal(t, fmt.Sprintf("bytes */%d", d.Size), h.Get("Content-Range"))
	assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), "fetched from the mirror once")

	// Unlisted pool files pass through and are cached; missing ones are 404.
	st, _, _ = httpGet(t, c, "GET", base+"pool/main/x/xyz/xyz_1_amd64.deb")
	assert.Equal(t, http.StatusNotFound, st)
	st, _, body = httpGet(t, c, "GET", base+arch.Debs[0].Filename+"/../../../../../etc/passwd")
	assert.NotEqual(t, http.StatusOK, st, body)

	// Not a mirror: 403 with a reason, on both ways in.
	st, _, body = httpGet(t, c, "GET", "http://"+p.Addr+"/other/debian/dists/x/Release")
	assert.Equal(t, http.StatusForbidden, st, "an unknown mirror name is refused")
	assert.Contains(t, body, "not a configured mirror")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(body), "\n")+1, "one line")
	fwd := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse("http://" + p.Addr) }}}
	st, _, body = httpGet(t, fwd, "GET", "http://example.invalid/debian/dists/bookworm/Release")
	assert.Equal(t, http.StatusForbidden, st)
	assert.Contains(t, body, "not a configured mirror")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(body), "\n")+1, "one line")
	st, _, _ = httpGet(t, fwd, "GET", mirror.URL()+"dists/bookworm/Release")
	assert.Equal(t, http.StatusOK, st, "forward proxy to the configured mirror")
	st, _, _ = httpGet(t, fwd, "GET", "http://"+p.Addr+"/status.json")
	assert.Equal(t, http.StatusForbidden, st, "status pages only for requests addressed to the proxy")

	// Status pages.
	st, h, body = httpGet(t, c, "GET", "http://"+p.Addr+"/status.json")
	require.Equal(t, http.StatusOK, st)
	var s debtorrent.ProxyStatus
	require.NoError(t, json.Unmarshal([]byte(body), &s))
	require.Len(t, s.Torrents, 1)
	assert.Equal(t, len(arch.Debs), s.Torrents[0].Packages)
	assert.Equal(t, "Test/bookworm/main/binary-amd64", s.Torrents[0].Name)
	assert.Greater(t, s.BytesFromMirrors, d.Size)
	assert.Equal(t, 1, s.CachePieces)
	assert.NotEmpty(t, s.Recent)
	st, _, body = httpGet(t, c, "GET", "http://"+p.Addr+"/metrics")
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, body, "# TYPE debtorrent_proxy_requests_total counter")
	assert.Contains(t, body, `debtorrent_proxy_debs_total{source="mirror"} 1`)
	st, h, body = httpGet(t, c, "GET", "http://"+p.Addr+"/")
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
	st, _, body := httpGet(t, &http.Client{}, "GET", "http://"+p.Addr+"/test/debian/dists/bookworm/Release")
	assert.Equal(t, http.StatusBadGateway, st)
	assert.Contains(t, body, "cannot be reached")
	assert.Contains(t, body, "connection refused", "the cause")
}

func TestMirrorErrorsPassedOn(t *testing.T) {
	_, mirror := buildMirror(t, testSpec(), testmirror.Options{Fault: func(r *http.Request) int {
		if strings.HasSuffix(r.URL.Path, "/Release") {
			return http.StatusInternalServerError
		}
		return 0
	}})
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	st, _, _ := httpGet(t, &http.Client{}, "GET", "http://"+p.Addr+"/test/debian/dists/bookworm/Release")
	assert.Equal(t, http.StatusInternalServerError, st, "upstream status codes are passed on")
}

// TestUnlistedPoolFilePassesThrough: a pool file no torrent lists is
// relayed from the mirror, never refused and never cached: one wrong answer
// (a captive portal's page) is not served again once the mirror is right.
func TestUnlistedPoolFilePassesThrough(t *testing.T) {
	arch, err := testmirror.Build(t.TempDir(), testSpec())
	require.NoError(t, err)
	d := arch.Debs[1]
	var poisoned atomic.Bool
	poisoned.Store(true)
	files := http.StripPrefix("/debian", http.FileServer(http.Dir(arch.Root)))
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if poisoned.Swap(false) {
			w.Header().Set("Last-Modified", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
			w.Write([]byte("<html>log in to the hotel wifi</html>"))
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer mirror.Close()
	p := startProxy(t, mirror.URL+"/", nil)
	url := "http://" + p.Addr + "/test/debian/" + d.Filename
	st, _, body := httpGet(t, &http.Client{}, "GET", url)
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, body, "hotel wifi", "the wrong answer is relayed once, as the mirror gave it")
	for range 2 {
		st, _, body = httpGet(t, &http.Client{}, "GET", url)
		require.Equal(t, http.StatusOK, st)
		require.Equal(t, d.SHA256, sha256.Sum256([]byte(body)), "the next download is right")
	}
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
	p := startProxy(t, "http://"+mirror.Addr()+"/", func(c *debtorrent.ProxyConfig) { c.DebTimeout = 500 * time.Millisecond })
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	httpGet(t, c, "GET", base+"dists/bookworm/Release")
	st, _, _ := httpGet(t, c, "GET", base+"dists/bookworm/main/binary-amd64/Packages.xz")
	require.Equal(t, http.StatusOK, st)
	st, _, body := httpGet(t, c, "GET", base+arch.Debs[0].Filename)
	assert.Equal(t, http.StatusGatewayTimeout, st)
	assert.Contains(t, body, "timed out")
}
