package debsource

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

func TestPackagesReaderExcerpt(t *testing.T) {
	f, err := os.Open("testdata/Packages.excerpt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr := NewPackagesReader(f)
	var entries []Entry
	for {
		rec, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, rec.Entry())
	}
	if len(entries) != 4 {
		t.Fatalf("%d entries, want 4", len(entries))
	}
	e := entries[0]
	if e.Package != "0ad" || e.Version != "0.0.26-3" || e.Architecture != "amd64" ||
		e.Filename != "pool/main/0/0ad/0ad_0.0.26-3_amd64.deb" || e.Size != 7891488 || !e.HasSHA256 || !e.HasMD5 ||
		!bytes.Equal(e.SHA256[:], mustHex(t, "3a2118df47bf3f04285649f0455c2fc6fe2dc7f0b237073038aa00af41f0d5f2")) ||
		!bytes.Equal(e.MD5[:], mustHex(t, "4d471183a39a3a11d00cd35bf9f6803d")) {
		t.Errorf("first entry: %+v", e)
	}
	if entries[1].Size != 1377557908 || entries[1].Architecture != "all" {
		t.Errorf("second entry: %+v", entries[1])
	}
}

func TestPackagesReaderOddEntries(t *testing.T) {
	const sum = "3a2118df47bf3f04285649f0455c2fc6fe2dc7f0b237073038aa00af41f0d5f2"
	text := "package: lower\nfilename: pool/a.deb\nsize: 12\nsha256: " + strings.ToUpper(sum) + "\n\n" +
		"Package: badsize\nSize: 12x\nSHA256: " + sum + "\n\n" +
		"Package: badsum\nSize: 1\nSHA256: 3a21\n"
	pr := NewPackagesReader(strings.NewReader(text))
	rec, err := pr.Next()
	if err != nil || string(rec.Package) != "lower" || string(rec.Filename) != "pool/a.deb" || !rec.SizeOK || rec.Size != 12 || !rec.HasSHA256 {
		t.Fatalf("lower-case field names: %+v, %v", rec, err)
	}
	rec, err = pr.Next()
	if err != nil || rec.SizeOK || rec.Entry().Size != -1 || rec.Line != 6 {
		t.Fatalf("bad size: %+v, %v", rec, err)
	}
	rec, err = pr.Next()
	if err != nil || rec.HasSHA256 || !rec.BadSHA256 {
		t.Fatalf("bad sum: %+v, %v", rec, err)
	}
	if _, err := pr.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
	pr = NewPackagesReader(strings.NewReader("Package: x\nbroken line\n"))
	if _, err := pr.Next(); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestVerifyingReader(t *testing.T) {
	text, err := os.ReadFile("testdata/Packages.excerpt")
	if err != nil {
		t.Fatal(err)
	}
	want := IndexFile{Size: int64(len(text)), HasSHA256: true}
	want.SHA256 = sha256Of(text)
	tests := []struct {
		name  string
		input []byte
		want  IndexFile
		ok    bool
		msg   string
	}{
		{"match", text, want, true, ""},
		{"short", text[:len(text)-1], want, false, "has 3594 bytes, the Release lists 3595"},
		{"long", append(bytes.Clone(text), '\n'), want, false, "longer than"},
		{"changed", bytes.Replace(text, []byte("0ad"), []byte("1ad"), 1), want, false, "has SHA256"},
		{"no sha256 listed", text, IndexFile{Size: want.Size}, false, "lists no SHA256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifyingReader(bytes.NewReader(tt.input), "Packages", tt.want)
			_, err := io.Copy(io.Discard, v)
			if tt.ok {
				if err != nil || !v.Verified() {
					t.Fatalf("error %v, verified %v", err, v.Verified())
				}
				return
			}
			if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), tt.msg) || v.Verified() {
				t.Fatalf("error %v, want ErrChecksum containing %q", err, tt.msg)
			}
		})
	}
}
