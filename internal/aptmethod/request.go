package aptmethod

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Scheme is the URI scheme the method serves.
const Scheme = "debtorrent"

// Request is one "600 URI Acquire": what to fetch and where to put it.
type Request struct {
	// URI is the URI exactly as APT sent it; replies must quote it back.
	URI string
	// Target is the HTTP URL the URI maps to.
	Target *url.URL
	// Filename is the file APT wants the data in.
	Filename string
	// LastModified is the time of the copy APT already has (zero if none);
	// it is sent as If-Modified-Since.
	LastModified time.Time
	// Expected lists the hashes APT expects, keyed by APT's hash name
	// ("SHA256", "MD5Sum", ...), hex-encoded and lower case.
	Expected map[string]string
	// ExpectedSize is the size APT expects (Expected-Checksum-FileSize),
	// or -1 if it named none.
	ExpectedSize int64
	// MaximumSize is the most bytes APT accepts, or 0 for no limit.
	MaximumSize int64
}

// ParseRequest reads a "600 URI Acquire" message.
func ParseRequest(m *Message) (*Request, error) {
	if m.Code != CodeURIAcquire {
		return nil, fmt.Errorf("aptmethod: message %d is not a %d URI Acquire", m.Code, CodeURIAcquire)
	}
	r := &Request{URI: m.Value("URI"), Filename: m.Value("Filename"), ExpectedSize: -1}
	if r.URI == "" {
		return nil, fmt.Errorf("aptmethod: %w: URI Acquire without a URI", ErrSyntax)
	}
	if r.Filename == "" {
		return r, fmt.Errorf("aptmethod: URI Acquire of %s without a Filename", r.URI)
	}
	target, err := TranslateURI(r.URI)
	if err != nil {
		return r, err
	}
	r.Target = target
	if v := m.Value("Last-Modified"); v != "" {
		// An unreadable date only costs the If-Modified-Since shortcut.
		if t, err := http.ParseTime(v); err == nil {
			r.LastModified = t
		} else if t, err := time.Parse(time.RFC1123Z, v); err == nil {
			r.LastModified = t
		}
	}
	if v := m.Value("Maximum-Size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return r, fmt.Errorf("aptmethod: %s: Maximum-Size %q is not a size", r.URI, v)
		}
		r.MaximumSize = n
	}
	for _, f := range m.Fields {
		name, ok := cutPrefixFold(f.Name, "Expected-")
		if !ok {
			continue
		}
		if strings.EqualFold(name, "Checksum-FileSize") {
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil || n < 0 {
				return r, fmt.Errorf("aptmethod: %s: Expected-Checksum-FileSize %q is not a size", r.URI, f.Value)
			}
			r.ExpectedSize = n
			continue
		}
		if canon, ok := canonicalHashName(name); ok {
			if r.Expected == nil {
				r.Expected = make(map[string]string)
			}
			r.Expected[canon] = strings.ToLower(f.Value)
		}
	}
	return r, nil
}

// TranslateURI maps debtorrent://HOST:PORT/PATH to http://HOST:PORT/PATH.
// APT sends URIs percent-encoded or not, depending on its version; escapes
// already present are kept and any byte that may not appear in a URL path
// is escaped, so both forms give the same URL.
func TranslateURI(uri string) (*url.URL, error) {
	rest, ok := cutPrefixFold(uri, Scheme+"://")
	if !ok {
		return nil, fmt.Errorf("aptmethod: URI %q: want %s://HOST:PORT/PATH", uri, Scheme)
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" {
		return nil, fmt.Errorf("aptmethod: URI %q has no host: want %s://HOST:PORT/PATH", uri, Scheme)
	}
	if strings.ContainsAny(host, "@?#%") {
		return nil, fmt.Errorf("aptmethod: URI %q: host %q must be a plain HOST:PORT", uri, host)
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	escaped := escapePath("/" + path)
	u, err := url.Parse("http://" + host + escaped)
	if err != nil {
		return nil, fmt.Errorf("aptmethod: URI %q: %w", uri, err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("aptmethod: URI %q has no host: want %s://HOST:PORT/PATH", uri, Scheme)
	}
	return u, nil
}

// escapePath escapes the bytes of p that may not appear in a URL path,
// leaving valid %XX escapes as they are.
func escapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+2 < len(p) && unhex(p[i+1]) >= 0 && unhex(p[i+2]) >= 0:
			b.WriteByte(c)
		case pathByteOK(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// pathByteOK reports whether c may appear unescaped in a URL path
// (RFC 3986 pchar, plus '/').
func pathByteOK(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
