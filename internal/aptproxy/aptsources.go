package aptproxy

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/debtorrent/debtorrent/debsource/aptsources"
)

// MirrorsFromAPT returns the mirrors of the APT sources of the system at
// root ("/" for this machine): one per host, named by the host (so that
// http://proxy/deb.debian.org/debian reaches http://deb.debian.org/debian),
// limited to the archive roots the sources name. notes say what was left
// out and why.
func MirrorsFromAPT(root string) ([]*Mirror, []string, error) {
	sources, err := aptsources.Read(root)
	if err != nil {
		return nil, nil, fmt.Errorf("aptproxy: read APT sources: %w", err)
	}
	ms, notes := aptsources.Mirrors(sources)
	type hostKey struct{ scheme, host string }
	prefixes := map[hostKey]map[string]bool{}
	for _, m := range ms {
		k := hostKey{m.URI.Scheme, strings.ToLower(m.URI.Host)}
		if prefixes[k] == nil {
			prefixes[k] = map[string]bool{}
		}
		prefixes[k][strings.TrimPrefix(m.URI.EscapedPath(), "/")] = true
	}
	keys := make([]hostKey, 0, len(prefixes))
	for k := range prefixes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].host != keys[j].host {
			return keys[i].host < keys[j].host
		}
		return keys[i].scheme < keys[j].scheme
	})
	var out []*Mirror
	seen := map[string]bool{}
	for _, k := range keys {
		name := k.host
		if seen[name] {
			name += "-" + k.scheme
		}
		seen[name] = true
		m, err := NewMirror(name, (&url.URL{Scheme: k.scheme, Host: k.host, Path: "/"}).String())
		if err != nil {
			notes = append(notes, err.Error())
			continue
		}
		all := false
		for p := range prefixes[k] {
			if p == "" {
				all = true
			}
			m.Prefixes = append(m.Prefixes, p)
		}
		if all {
			m.Prefixes = nil
		}
		sort.Strings(m.Prefixes)
		out = append(out, m)
	}
	return out, notes, nil
}
