package aptsources

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/debtorrent/debtorrent/debsource/deb822"
)

// ParseDeb822 reads a .sources file (the deb822 format of sources.list(5),
// Debian 12's default):
//
//	Types: deb deb-src
//	URIs: http://deb.debian.org/debian
//	Suites: bookworm bookworm-updates
//	Components: main
//	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
//
// Every other field is kept in Source.Options under its lower-case name.
// name labels the entries and errors.
func ParseDeb822(r io.Reader, name string) ([]Source, error) {
	dr := deb822.NewReader(io.LimitReader(r, MaxFileBytes), deb822.Options{
		AllowComments: true,
		Limits:        deb822.Limits{MaxLineBytes: maxLine, MaxStanzaBytes: 1 << 20, MaxFields: 100},
	})
	var out []Source
	for {
		st, err := dr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("aptsources: %s: %w", name, err)
		}
		if len(out) >= MaxSources {
			return nil, fmt.Errorf("aptsources: %s:%d: more than %d entries", name, st.Line(), MaxSources)
		}
		s, err := sourceFromStanza(st)
		if err != nil {
			return nil, fmt.Errorf("aptsources: %s:%d: %w", name, st.Line(), err)
		}
		s.File = name
		out = append(out, s)
	}
}

func sourceFromStanza(st *deb822.Stanza) (Source, error) {
	s := Source{Line: st.Line(), Enabled: true}
	for i := range st.Len() {
		n, v := st.Field(i)
		name, value := strings.ToLower(string(n)), string(v)
		switch name {
		case "types":
			s.Types = strings.Fields(value)
			for _, t := range s.Types {
				if t != "deb" && t != "deb-src" {
					return s, fmt.Errorf("Types: %q is not deb or deb-src", t)
				}
			}
		case "uris":
			s.URIs = strings.Fields(value)
		case "suites":
			s.Suites = strings.Fields(value)
		case "components":
			s.Components = strings.Fields(value)
		default:
			if err := applyOption(&s, name, value); err != nil {
				return s, err
			}
		}
	}
	switch {
	case len(s.Types) == 0:
		return s, errors.New("no Types field")
	case len(s.URIs) == 0:
		return s, errors.New("no URIs field")
	case len(s.Suites) == 0:
		return s, errors.New("no Suites field")
	}
	flat := false
	for _, suite := range s.Suites {
		if strings.HasSuffix(suite, "/") {
			flat = true
		}
	}
	if flat && len(s.Components) > 0 {
		return s, errors.New("a suite ending in \"/\" (a flat repository) may not have Components")
	}
	if !flat && len(s.Components) == 0 {
		return s, errors.New("no Components field (needed unless the suite ends in \"/\")")
	}
	return s, nil
}
