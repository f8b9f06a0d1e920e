package debsource

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// compressed returns text compressed with c (bzip2 comes from testdata: the
// standard library only decodes it).
func compressed(t *testing.T, c Compression, text []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch c {
	case Uncompressed:
		return text
	case Gzip:
		w = gzip.NewWriter(&buf)
	case XZ:
		w, err = xz.NewWriter(&buf)
	case LZ4:
		w = lz4.NewWriter(&buf)
	case Zstd:
		w, err = zstd.NewWriter(&buf)
	case Bzip2:
		b, err := os.ReadFile("testdata/Packages.excerpt.bz2")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecompressEveryFormat(t *testing.T) {
	text, err := os.ReadFile("testdata/Packages.excerpt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Compression{Uncompressed, Gzip, XZ, Bzip2, LZ4, Zstd} {
		data := compressed(t, c, text)
		for _, name := range []string{"Packages" + c.Ext(), "by-hash/SHA256/0123", ""} {
			t.Run(c.String()+"/"+name, func(t *testing.T) {
				d, err := Decompress(bytes.NewReader(data), name)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				if d.Compression != c {
					t.Fatalf("recognised %s, want %s", d.Compression, c)
				}
				got, err := io.ReadAll(d)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, text) {
					t.Fatalf("decompressed %d bytes differ from the %d original", len(got), len(text))
				}
			})
		}
	}
}

func TestDecompressMismatch(t *testing.T) {
	text := []byte("Package: x\n")
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"Packages.xz", text},
		{"Packages.gz", compressed(t, XZ, text)},
		{"Packages.zst", compressed(t, LZ4, text)},
	} {
		_, err := Decompress(bytes.NewReader(tt.data), tt.name)
		if !errors.Is(err, ErrCompressionMismatch) {
			t.Errorf("%s: error %v, want ErrCompressionMismatch", tt.name, err)
		}
	}
}

func TestDecompressCorrupt(t *testing.T) {
	data := compressed(t, XZ, bytes.Repeat([]byte("Package: x\n\n"), 100))
	data = data[:len(data)/2]
	d, err := Decompress(bytes.NewReader(data), "Packages.xz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(d); err == nil {
		t.Fatal("truncated xz read without error")
	}
}

func TestCompressionByName(t *testing.T) {
	for name, want := range map[string]Compression{"Packages.gz": Gzip, "a/Sources.xz": XZ, "Translation-en.bz2": Bzip2, "P.lz4": LZ4, "P.zst": Zstd} {
		if got, ok := CompressionByName(name); !ok || got != want {
			t.Errorf("%s: %s,%v want %s", name, got, ok, want)
		}
	}
	if _, ok := CompressionByName("Packages"); ok {
		t.Error("Packages named a compression")
	}
}
