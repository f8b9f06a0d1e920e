package debsource

import (
	"bytes"
	"io"
	"testing"

	"github.com/ulikunitz/xz"
)

// FuzzDecompressXZ: any bytes through the xz guard and decoder, with small
// limits: an error or bounded output, never a panic, a hang, or a
// dictionary past the cap.
func FuzzDecompressXZ(f *testing.F) {
	for _, cfg := range []xz.WriterConfig{{}, {CheckSum: xz.CRC32, BlockSize: 4096}, {CheckSum: xz.SHA256}} {
		var buf bytes.Buffer
		w, err := cfg.NewWriter(&buf)
		if err != nil {
			f.Fatal(err)
		}
		w.Write(bytes.Repeat([]byte("Package: hello\nSize: 12\n\n"), 300))
		w.Close()
		f.Add(buf.Bytes())
		f.Add(append(append(bytes.Clone(buf.Bytes()), 0, 0, 0, 0), buf.Bytes()...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DecompressWith(bytes.NewReader(data), "x.xz", DecompressOptions{MaxBytes: 1 << 20, MaxXZDict: 1 << 20})
		if err != nil {
			return
		}
		defer d.Close()
		n, _ := io.Copy(io.Discard, d)
		if n > 1<<20 {
			t.Fatalf("produced %d bytes past the 1 MiB limit", n)
		}
	})
}
