package aptsources

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/etc/apt/sources.list*")
	more, _ := filepath.Glob("testdata/etc/apt/sources.list.d/*")
	for _, name := range append(files, more...) {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []parser{ParseOneLine, ParseDeb822} {
			sources, err := parse(bytes.NewReader(data), "fuzz")
			if err != nil {
				continue
			}
			for _, s := range sources {
				if len(s.Types) == 0 || len(s.URIs) == 0 || len(s.Suites) == 0 {
					t.Fatalf("accepted a source without types, URIs or suites: %+v", s)
				}
			}
			mirrors, _ := Mirrors(sources)
			for _, m := range mirrors {
				if m.URI.Scheme != "http" && m.URI.Scheme != "https" {
					t.Fatalf("mirror with scheme %q", m.URI.Scheme)
				}
			}
		}
	})
}
