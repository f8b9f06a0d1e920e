package aptproxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/debtorrent/debtorrent/debsource"
)

// Mirror is an upstream the proxy may reach: a name (the first path
// component of path-prefix requests) and one or more base URLs that serve
// the same files (tried in order).
type Mirror struct {
	// Name is the path prefix: http://proxy/<Name>/... reaches URLs[0]/...
	Name string
	// URLs are base URLs ending in "/".
	URLs []*url.URL
	// Prefixes, when not empty, limit the reachable paths under a base to
	// those starting with one of them (e.g. "debian/", "debian-security/"
	// for a mirror taken from the APT sources).
	Prefixes []string
}

// NewMirror parses a mirror's base URLs (http or https).
func NewMirror(name string, rawURLs ...string) (*Mirror, error) {
	if name == "" || strings.ContainsAny(name, "/?#% ") || name == "." || name == ".." {
		return nil, fmt.Errorf("aptproxy: mirror name %q: use letters, digits, dots and dashes", name)
	}
	m := &Mirror{Name: name}
	for _, raw := range rawURLs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("aptproxy: mirror %s: %w", name, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("aptproxy: mirror %s: %q is not an http(s) base URL", name, raw)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
			u.RawPath = ""
		}
		u.Host = strings.ToLower(u.Host)
		m.URLs = append(m.URLs, u)
	}
	if len(m.URLs) == 0 {
		return nil, fmt.Errorf("aptproxy: mirror %s has no URL", name)
	}
	return m, nil
}

// Target is what a proxied request asks for.
type Target struct {
	// Mirror is the upstream.
	Mirror *Mirror
	// Base is the index in Mirror.URLs the request named (0 for path
	// prefix requests).
	Base int
	// Rest is the escaped path under the base, without a leading "/".
	Rest string
	// Root is the archive root within Rest ("debian/"; "" when the base
	// is the root): the part before "dists/" or "pool/".
	Root string
	// Path classifies the part after Root.
	Path debsource.MirrorPath
}

// Key names the target in caches: mirror name and path.
func (t Target) Key() string { return t.Mirror.Name + "/" + t.Rest }

// ArchiveKey names the archive the target belongs to.
func (t Target) ArchiveKey() string { return t.Mirror.Name + "/" + t.Root }

// UpstreamURLs returns the URLs of the target on every base of its mirror,
// the one the request named first.
func (t Target) UpstreamURLs() []string {
	var out []string
	add := func(u *url.URL) { out = append(out, u.String()+t.Rest) }
	add(t.Mirror.URLs[t.Base])
	for i, u := range t.Mirror.URLs {
		if i != t.Base {
			add(u)
		}
	}
	return out
}

// RootURLs returns the archive root's URL on every base.
func (t Target) RootURLs() []string {
	var out []string
	for _, u := range t.Mirror.URLs {
		out = append(out, u.String()+t.Root)
	}
	return out
}

// Mirrors is the set of mirrors a proxy serves. Set SelfHosts before the
// first Resolve; Resolve may then be called concurrently.
type Mirrors struct {
	// SelfHosts are the host names, besides the defaults, under which
	// the proxy's own pages (status, metrics) are served: "apt-cache.lan"
	// (any port) or "apt-cache.lan:3142" (that port only); case does not
	// matter. The defaults need no configuration: an IP address literal
	// (127.0.0.1:3142, [::1]:3142, 192.168.1.5:3142), localhost and names
	// under .localhost, and an absent Host (HTTP/1.0). A request for the
	// proxy's pages under any other Host is refused (403): a web page
	// whose name was rebound to this machine's address (DNS rebinding)
	// sends its own name, never an IP literal, so it cannot read them.
	SelfHosts []string

	byName map[string]*Mirror
	list   []*Mirror
}

// NewMirrors indexes the mirrors; names must be unique.
func NewMirrors(ms []*Mirror) (*Mirrors, error) {
	t := &Mirrors{byName: make(map[string]*Mirror)}
	for _, m := range ms {
		if _, dup := t.byName[m.Name]; dup {
			return nil, fmt.Errorf("aptproxy: mirror name %s given twice", m.Name)
		}
		t.byName[m.Name] = m
		t.list = append(t.list, m)
	}
	sort.Slice(t.list, func(i, j int) bool { return t.list[i].Name < t.list[j].Name })
	return t, nil
}

// List returns the mirrors by name.
func (t *Mirrors) List() []*Mirror { return t.list }

// Errors of Resolve.
var (
	// ErrSelf: the request is addressed to the proxy itself (status pages).
	ErrSelf = errors.New("aptproxy: request for the proxy itself")
	// ErrNotAllowed: the request names no configured mirror (403).
	ErrNotAllowed = errors.New("not a configured mirror")
	// ErrForeignHost: a request for the proxy's own pages came with a
	// Host that is not the proxy's (see Mirrors.SelfHosts); it also
	// wraps ErrNotAllowed (403).
	ErrForeignHost = errors.New("Host is not one of the proxy's names")
)

// Resolve finds the target of a request: an absolute URL (forward proxy)
// must lie under a mirror's base URL; a path /<name>/... names a mirror.
// Other paths are ErrSelf; anything unsafe or unknown wraps ErrNotAllowed or
// debsource.ErrUnsafePath.
func (t *Mirrors) Resolve(r *http.Request) (Target, error) {
	if r.URL.IsAbs() || (r.URL.Host != "" && r.URL.Scheme != "") {
		return t.resolveAbsolute(r.URL)
	}
	p := r.URL.EscapedPath()
	name, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	m, ok := t.byName[name]
	if !ok {
		if !t.isSelfHost(r.Host) {
			return Target{}, fmt.Errorf("%w: %q (%w); the proxy's pages are served to an IP address, localhost or a name in SelfHosts",
				ErrForeignHost, r.Host, ErrNotAllowed)
		}
		return Target{}, ErrSelf
	}
	return finish(m, 0, rest)
}

// isSelfHost reports whether a request's Host names the proxy (see
// SelfHosts).
func (t *Mirrors) isSelfHost(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	host = strings.ToLower(host)
	if net.ParseIP(host) != nil {
		return true
	}
	name := strings.TrimSuffix(host, ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	for _, s := range t.SelfHosts {
		if _, _, err := net.SplitHostPort(s); err == nil {
			if strings.EqualFold(s, hostport) {
				return true
			}
		} else if strings.EqualFold(strings.TrimSuffix(s, "."), name) {
			return true
		}
	}
	return false
}

func (t *Mirrors) resolveAbsolute(u *url.URL) (Target, error) {
	host := strings.ToLower(u.Host)
	p := u.EscapedPath()
	for _, m := range t.list {
		for i, b := range m.URLs {
			if b.Scheme != u.Scheme || !sameHost(b, host) {
				continue
			}
			if rest, ok := strings.CutPrefix(p, b.EscapedPath()); ok {
				return finish(m, i, rest)
			}
		}
	}
	return Target{}, fmt.Errorf("%s://%s%s: %w", u.Scheme, u.Host, p, ErrNotAllowed)
}

// Contains reports whether u is inside a configured mirror (its base and
// prefixes): the only place a redirect may lead.
func (t *Mirrors) Contains(u *url.URL) bool {
	_, err := t.resolveAbsolute(u)
	return err == nil
}

// AllowRedirect is the redirect policy of the proxy's upstream clients:
// follow only to URLs inside a configured mirror.
func (t *Mirrors) AllowRedirect(_, to *url.URL) bool { return t.Contains(to) }

// sameHost compares hosts, treating a missing default port as given.
func sameHost(b *url.URL, host string) bool {
	if b.Host == host {
		return true
	}
	def := map[string]string{"http": ":80", "https": ":443"}[b.Scheme]
	return b.Host+def == host || b.Host == host+def
}

// finish checks a path under a mirror base and classifies it.
func finish(m *Mirror, base int, rest string) (Target, error) {
	if len(m.Prefixes) > 0 {
		ok := false
		for _, pre := range m.Prefixes {
			if strings.HasPrefix(rest, pre) {
				ok = true
				break
			}
		}
		if !ok {
			return Target{}, fmt.Errorf("/%s under mirror %s: %w (allowed: %s)", rest, m.Name, ErrNotAllowed, strings.Join(m.Prefixes, ", "))
		}
	}
	// The whole path must be safe, not just the part under the archive
	// root: "debian/../other/dists/..." must not slip past Prefixes.
	if _, err := debsource.ClassifyPath(rest); err != nil {
		return Target{}, err
	}
	root, under := splitRoot(rest)
	mp, err := debsource.ClassifyPath(under)
	if err != nil {
		return Target{}, err
	}
	return Target{Mirror: m, Base: base, Rest: rest, Root: root, Path: mp}, nil
}

// splitRoot cuts a path at its first "dists" or "pool" component.
func splitRoot(rest string) (root, under string) {
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		if (p == "dists" || p == "pool") && i < len(parts)-1 {
			return strings.Join(parts[:i], "/") + slashIf(i > 0), strings.Join(parts[i:], "/")
		}
	}
	return "", rest
}

func slashIf(b bool) string {
	if b {
		return "/"
	}
	return ""
}
