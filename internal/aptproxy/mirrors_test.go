package aptproxy

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testMirrors(t *testing.T) *Mirrors {
	t.Helper()
	m, err := NewMirror("deb.example.org", "http://deb.example.org/")
	require.NoError(t, err)
	ms, err := NewMirrors([]*Mirror{m})
	require.NoError(t, err)
	ms.SelfHosts = []string{"apt-cache.lan", "Other.Lan:3142"}
	return ms
}

func readRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	require.NoError(t, err)
	return r
}

// TestSelfPagesNeedTheProxysHost: the status pages answer only to the
// proxy's names, so a DNS-rebinding page cannot read them.
func TestSelfPagesNeedTheProxysHost(t *testing.T) {
	ms := testMirrors(t)
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:3142", true},
		{"[::1]:3142", true},
		{"localhost:3142", true},
		{"LOCALHOST.:3142", true},
		{"status.localhost:3142", true},
		{"192.168.1.5:3142", true},
		{"[fe80::1]", true},
		{"127.0.0.1", true},
		{"", true},
		{"apt-cache.lan:3142", true},
		{"APT-CACHE.LAN", true},
		{"other.lan:3142", true},
		{"other.lan:80", false},
		{"evil.example:3142", false},
		{"localhost.evil.example:3142", false},
		{"127.0.0.1.evil.example", false},
		{"apt-cache.lan.evil.example:3142", false},
	} {
		for _, path := range []string{"/", "/status.json", "/metrics"} {
			r := readRequest(t, "GET "+path+" HTTP/1.1\r\nHost: "+c.host+"\r\n\r\n")
			_, err := ms.Resolve(r)
			if c.ok {
				assert.ErrorIs(t, err, ErrSelf, "Host %q %s", c.host, path)
				continue
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrForeignHost, "Host %q %s", c.host, path)
			assert.ErrorIs(t, err, ErrNotAllowed, "a 403 for Host %q", c.host)
			assert.Contains(t, err.Error(), c.host)
		}
	}
	// Mirror paths are served whatever the Host (their content is public).
	r := readRequest(t, "GET /deb.example.org/dists/bookworm/InRelease HTTP/1.1\r\nHost: evil.example\r\n\r\n")
	_, err := ms.Resolve(r)
	assert.NoError(t, err)
}

// TestPathNormalisation: paths whose percent-decoding is not valid UTF-8
// (overlong dots, stray bytes) are refused, valid ones pass.
func TestPathNormalisation(t *testing.T) {
	ms := testMirrors(t)
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"/deb.example.org/dists/bookworm/InRelease", true},
		{"/deb.example.org/pool/main/h/hello/hello_2.10-3%2bdeb12u1_amd64.deb", true},
		{"/deb.example.org/pool/main/c/caf%C3%A9/caf%C3%A9_1_all.deb", true},
		{"/deb.example.org/%c0%ae%c0%ae/etc/passwd", false},
		{"/deb.example.org/dists/%c0%ae%c0%ae/x", false},
		{"/deb.example.org/dists/%e0%80%ae/x", false},
		{"/deb.example.org/dists/%ff/x", false},
		{"/deb.example.org/dists/%c3/x", false},
		{"/deb.example.org/dists/%ed%a0%80/x", false}, // a UTF-16 surrogate
		{"/deb.example.org/dists/%2e%2e/x", false},
	} {
		for _, form := range []string{c.path, "http://deb.example.org" + strings.TrimPrefix(c.path, "/deb.example.org")} {
			r := readRequest(t, "GET "+form+" HTTP/1.1\r\nHost: 127.0.0.1:3142\r\n\r\n")
			tg, err := ms.Resolve(r)
			if c.ok {
				assert.NoError(t, err, form)
				continue
			}
			require.Error(t, err, "%s resolved to %q", form, tg.Rest)
			assert.True(t, errors.Is(err, debsource.ErrUnsafePath) || errors.Is(err, ErrNotAllowed), "%s: %v", form, err)
		}
	}
	r := readRequest(t, "GET /deb.example.org/dists/%c0%ae%c0%ae/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	_, err := ms.Resolve(r)
	assert.Contains(t, err.Error(), "invalid UTF-8")
}

// FuzzResolveHostAndPath: whatever the Host and path, a request resolved
// to a mirror has a path that decodes to valid UTF-8, and the proxy's own
// pages are only reached under an IP literal, a localhost name, a
// SelfHosts name or no Host.
func FuzzResolveHostAndPath(f *testing.F) {
	for _, s := range [][2]string{
		{"127.0.0.1:3142", "/status.json"},
		{"evil.example", "/"},
		{"apt-cache.lan", "/deb.example.org/dists/%c0%ae/x"},
		{"[::1]:1", "/deb.example.org/pool/main/h/hello/hello_1_all.deb"},
		{"localhost.", "/metrics"},
	} {
		f.Add(s[0], s[1])
	}
	m, _ := NewMirror("deb.example.org", "http://deb.example.org/")
	ms, _ := NewMirrors([]*Mirror{m})
	ms.SelfHosts = []string{"apt-cache.lan"}
	f.Fuzz(func(t *testing.T, host, path string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")))
		if err != nil {
			return
		}
		tg, err := ms.Resolve(r)
		switch {
		case err == nil:
			p, uerr := url.PathUnescape(tg.Rest)
			if uerr != nil || !utf8.ValidString(p) {
				t.Fatalf("%q resolved to %q, which does not decode to valid UTF-8", path, tg.Rest)
			}
		case errors.Is(err, ErrSelf):
			h := r.Host
			if hh, _, serr := net.SplitHostPort(h); serr == nil {
				h = hh
			}
			h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
			if r.Host != "" && net.ParseIP(h) == nil && h != "localhost" && !strings.HasSuffix(h, ".localhost") && h != "apt-cache.lan" {
				t.Fatalf("own pages served under Host %q", r.Host)
			}
		}
	})
}
