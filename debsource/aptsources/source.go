// Package aptsources reads a machine's APT source configuration
// (/etc/apt/sources.list, sources.list.d/*.list in the one-line format and
// sources.list.d/*.sources in the deb822 format) into Source values, and tells
// which of them an HTTP proxy can serve.
package aptsources

import (
	"fmt"
	"net/url"
	"strings"
)

// Source is one entry of APT's configuration: a one-line "deb" line, or one
// stanza of a .sources file (which may name several types, URIs and suites).
type Source struct {
	// File and Line locate the entry, for messages.
	File string
	Line int
	// Types holds "deb" and/or "deb-src".
	Types []string
	// URIs are the archive roots, as written.
	URIs []string
	// Suites are e.g. "bookworm", "bookworm-updates"; a suite ending in "/"
	// names a flat repository (no Components).
	Suites []string
	// Components are e.g. "main", "contrib".
	Components []string
	// Enabled is false for a .sources stanza with "Enabled: no".
	Enabled bool
	// Architectures restricts the architectures fetched ("arch=" / Architectures:).
	Architectures []string
	// SignedBy lists keyring paths or fingerprints ("signed-by=" / Signed-By:).
	SignedBy []string
	// SignedByKey is an inline ASCII-armored key block from a .sources
	// file's Signed-By field, with " ." lines turned back into blank lines.
	SignedByKey string
	// Trusted is the "trusted=yes"/"Trusted: yes" option, which makes APT
	// skip signature checks for the source.
	Trusted bool
	// Options holds every option as given, keyed by its lower-case deb822
	// name ("architectures", "signed-by", "trusted", "pdiffs", ...).
	Options map[string]string
}

// HasType reports whether the source is of type t ("deb" or "deb-src").
func (s *Source) HasType(t string) bool {
	for _, x := range s.Types {
		if x == t {
			return true
		}
	}
	return false
}

// Mirror is an archive root a proxy may serve, with the suites and
// components APT fetches from it.
type Mirror struct {
	// URI is the archive root, with a trailing "/".
	URI *url.URL
	// Suites and Components as the sources list them.
	Suites, Components []string
	// Architectures restricts the architectures, when the source does.
	Architectures []string
	// Trusted says APT skips signature checks for this source.
	Trusted bool
	// SignedBy lists the keyrings that sign it.
	SignedBy []string
	// From locates the entry, for messages ("file:line").
	From string
}

// Mirrors returns one Mirror per http or https URI of every enabled "deb"
// source, and a note for every source or URI it leaves out and why (deb-src,
// disabled, cdrom:, file:, other schemes). The proxy only proxies http(s).
func Mirrors(sources []Source) (mirrors []Mirror, notes []string) {
	for _, s := range sources {
		from := fmt.Sprintf("%s:%d", s.File, s.Line)
		if !s.Enabled {
			notes = append(notes, from+": disabled (Enabled: no)")
			continue
		}
		if !s.HasType("deb") {
			notes = append(notes, from+": deb-src only; the proxy serves binary packages")
			continue
		}
		for _, raw := range s.URIs {
			u, err := url.Parse(raw)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s: URI %q: %v", from, raw, err))
				continue
			}
			switch u.Scheme {
			case "http", "https":
			case "cdrom":
				notes = append(notes, fmt.Sprintf("%s: %s is a CD-ROM; APT reads it locally", from, raw))
				continue
			case "file", "copy":
				notes = append(notes, fmt.Sprintf("%s: %s is a local directory; APT reads it directly", from, raw))
				continue
			default:
				notes = append(notes, fmt.Sprintf("%s: %s: scheme %q is not http(s); not proxied", from, raw, u.Scheme))
				continue
			}
			if u.Host == "" {
				notes = append(notes, fmt.Sprintf("%s: %s has no host", from, raw))
				continue
			}
			if !strings.HasSuffix(u.Path, "/") {
				u.Path += "/"
			}
			mirrors = append(mirrors, Mirror{
				URI: u, Suites: s.Suites, Components: s.Components, Architectures: s.Architectures,
				Trusted: s.Trusted, SignedBy: s.SignedBy, From: from,
			})
		}
	}
	return mirrors, notes
}
