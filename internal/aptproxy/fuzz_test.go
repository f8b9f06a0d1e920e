package aptproxy

import (
	"bufio"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/debtorrent/debtorrent/debsource"
)

// FuzzParseRange: any Range header gives a range inside the body, or none.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-", "bytes=100-199", "bytes=-500", "bytes=5-1", "bytes=0-0,5-9", "bytes=99999999999999999999-", "items=1-2", "bytes=-0", "bytes= 7 - "} {
		f.Add(s, int64(1000))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		start, end, ok, unsat := parseRange(s, size)
		if ok && unsat {
			t.Fatalf("%q: both satisfiable and not", s)
		}
		if ok && (start < 0 || end < start || end >= size) {
			t.Fatalf("%q size %d: range %d-%d outside the body", s, size, start, end)
		}
	})
}

// FuzzResolve: any request line either is refused, is for the proxy
// itself, or names a path under a configured mirror that ClassifyPath
// accepts; never a panic, never a path escaping the base.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"GET /test/debian/dists/bookworm/InRelease HTTP/1.1",
		"GET http://deb.example.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb HTTP/1.1",
		"GET /test/debian/../../etc/passwd HTTP/1.1",
		"GET /test/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/" + strings.Repeat("a", 64) + " HTTP/1.1",
		"GET http://deb.example.org:80/debian/%2e%2e/x HTTP/1.1",
		"GET / HTTP/1.1", "GET /status.json HTTP/1.1",
	} {
		f.Add(s)
	}
	m1, _ := NewMirror("test", "http://127.0.0.1:1/")
	m2, _ := NewMirror("deb.example.org", "http://deb.example.org/")
	m2.Prefixes = []string{"debian/"}
	ms, _ := NewMirrors([]*Mirror{m1, m2})
	f.Fuzz(func(t *testing.T, line string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(line + "\r\nHost: proxy\r\n\r\n")))
		if err != nil {
			return
		}
		tg, err := ms.Resolve(r)
		if err != nil {
			if !errors.Is(err, ErrSelf) && !errors.Is(err, ErrNotAllowed) && !errors.Is(err, debsource.ErrUnsafePath) {
				t.Fatalf("%q: unexpected error kind %v", line, err)
			}
			return
		}
		if strings.Contains("/"+tg.Rest+"/", "/../") || strings.HasPrefix(tg.Rest, "/") {
			t.Fatalf("%q: path %q escapes the base", line, tg.Rest)
		}
		if tg.Mirror == m2 && !strings.HasPrefix(tg.Rest, "debian/") {
			t.Fatalf("%q: %q is outside the allowed prefixes", line, tg.Rest)
		}
	})
}
