package deb822

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

func FuzzReader(f *testing.F) {
	for _, name := range []string{"../testdata/Packages.excerpt", "../testdata/Release.excerpt", "../aptsources/testdata/etc/apt/sources.list.d/debian.sources"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b, true)
		}
	}
	f.Add([]byte("A: 1\n b\n .\n\nB: 2\n# c\n"), true)
	f.Add([]byte("A: 1\nA: 2\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, comments bool) {
		r := NewReader(bytes.NewReader(data), Options{AllowComments: comments, Limits: Limits{MaxLineBytes: 4096, MaxStanzaBytes: 1 << 16, MaxFields: 64}})
		for i := 0; ; i++ {
			s, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					var se *SyntaxError
					if !errors.As(err, &se) && !errors.Is(err, ErrLimit) {
						t.Fatalf("unexpected error type %T: %v", err, err)
					}
				}
				return
			}
			if s.Len() == 0 || s.Len() > 64 {
				t.Fatalf("stanza with %d fields", s.Len())
			}
			for name, value := range s.Fields() {
				if len(name) == 0 || bytes.IndexByte(name, ':') >= 0 {
					t.Fatalf("bad field name %q", name)
				}
				if s.Index(string(name)) < 0 {
					t.Fatalf("field %q not found by its own name", name)
				}
				_ = Lines(value)
			}
			if i > len(data) {
				t.Fatal("more stanzas than input bytes")
			}
		}
	})
}
