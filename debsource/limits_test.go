package debsource

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// withDictCode rewrites the LZMA2 dictionary code in the first block header
// of an xz file made by ulikunitz/xz, fixing the header's CRC32.
func withDictCode(t *testing.T, data []byte, code byte) []byte {
	t.Helper()
	out := bytes.Clone(data)
	h := out[12:]
	size := (int(h[0]) + 1) * 4
	i := bytes.Index(h[:size], []byte{0x21, 0x01})
	if i < 0 {
		t.Fatal("no LZMA2 filter in the first block header")
	}
	h[i+2] = code
	binary.LittleEndian.PutUint32(h[size-4:], crc32.ChecksumIEEE(h[:size-4]))
	return out
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestXZDictionaryCap: a stream declaring a 3 GiB dictionary is refused
// before the decoder allocates it, with the numbers in the error.
func TestXZDictionaryCap(t *testing.T) {
	text := bytes.Repeat([]byte("Package: x\nVersion: 1\n\n"), 1000)
	data := compressed(t, XZ, text)
	// Sanity: the patching keeps a valid file (code 22 is 8 MiB).
	d, err := Decompress(bytes.NewReader(withDictCode(t, data, 22)), "Packages.xz")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, text) {
		t.Fatalf("8 MiB dictionary: %v (%d bytes)", err, len(got))
	}
	before := heapInUse()
	hostile := withDictCode(t, data, 39) // 3 GiB
	d, err = Decompress(bytes.NewReader(hostile), "Packages.xz")
	if err == nil {
		_, err = io.ReadAll(d)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("3 GiB dictionary: error %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(3<<30)) || !strings.Contains(err.Error(), fmt.Sprint(DefaultMaxXZDict)) {
		t.Errorf("error %q does not name the numbers", err)
	}
	grew := int64(heapInUse()) - int64(before)
	t.Logf("3 GiB dictionary refused: %v; heap +%d KiB", err, grew>>10)
	if grew > 100<<20 {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
	// A lower cap refuses the 8 MiB of xz -6.
	_, err = DecompressWith(bytes.NewReader(data), "", DecompressOptions{MaxXZDict: 1 << 20})
	if err == nil {
		d, _ := DecompressWith(bytes.NewReader(data), "", DecompressOptions{MaxXZDict: 1 << 20})
		_, err = io.ReadAll(d)
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxXZDict 1 MiB: error %v, want ErrTooLarge", err)
	}
}

// TestXZGuardAcceptsRealStreams: several blocks, several streams, stream
// padding, every check type the writer makes.
func TestXZGuardAcceptsRealStreams(t *testing.T) {
	text := bytes.Repeat([]byte("Package: y\nDescription: some text to compress\n\n"), 20000)
	var all []byte
	var want []byte
	for _, cfg := range []xz.WriterConfig{
		{CheckSum: xz.CRC32, BlockSize: 64 << 10},
		{CheckSum: xz.CRC64},
		{CheckSum: xz.SHA256, BlockSize: 300 << 10},
		{CheckSum: xz.None, NoCheckSum: true},
	} {
		var buf bytes.Buffer
		w, err := cfg.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(text)
		w.Close()
		all = append(all, buf.Bytes()...)
		all = append(all, 0, 0, 0, 0) // stream padding
		want = append(want, text...)
	}
	d, err := Decompress(bytes.NewReader(all), "x.xz")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if f, err := os.ReadFile("testdata/Packages.excerpt"); err == nil {
		d, err := Decompress(bytes.NewReader(compressed(t, XZ, f)), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDecompressedSizeLimit(t *testing.T) {
	text := bytes.Repeat([]byte("a"), 10000)
	for _, c := range []Compression{Uncompressed, Gzip, XZ, LZ4, Zstd} {
		for _, limit := range []int64{9999, 10000} {
			d, err := DecompressWith(bytes.NewReader(compressed(t, c, text)), "", DecompressOptions{MaxBytes: limit})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(d)
			d.Close()
			if limit < 10000 {
				if !errors.Is(err, ErrTooLarge) || int64(len(got)) != limit {
					t.Errorf("%s limit %d: %d bytes, error %v; want %d bytes and ErrTooLarge", c, limit, len(got), err, limit)
				}
			} else if err != nil || len(got) != 10000 {
				t.Errorf("%s limit %d: %d bytes, error %v", c, limit, len(got), err)
			}
		}
	}
}

// TestReleaseSizeBounds: an oversized InRelease is refused before it is
// split into lines, and ParseRelease stops reading past MaxReleaseBytes.
func TestReleaseSizeBounds(t *testing.T) {
	huge := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: x\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\n", MaxReleaseBytes/1000+10)
	_, err := ParseClearsigned([]byte(huge))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized InRelease: %v", err)
	}
	_, err = ParseRelease(strings.NewReader("Origin: x\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\n", MaxReleaseBytes/1000+10)))
	if err == nil {
		t.Fatal("oversized Release accepted")
	}
}

// hostilePackages returns n tiny, distinct, usable stanzas.
func hostilePackages(n int) io.Reader {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Package: p%d\nFilename: p/%d.deb\nSize: 1\nSHA256: %064x\n\n", i, i, i)
	}
	return strings.NewReader(b.String())
}

// TestBuildInfoBounds: 100,000 tiny stanzas build a torrent within a
// bounded heap, and more usable entries than MaxTorrentPackages are refused.
func TestBuildInfoBounds(t *testing.T) {
	r := hostilePackages(100_000)
	before := heapInUse()
	res, err := BuildInfo(r, TorrentName{Origin: "Debian", Suite: "x", Component: "main", Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	grew := int64(heapInUse()) - int64(before)
	t.Logf("100,000 stanzas: %d pieces, heap +%d MiB while the result is alive", res.Info.NumPieces(), grew>>20)
	if grew > 200<<20 {
		t.Errorf("heap grew by %d MiB, want < 200", grew>>20)
	}
	runtime.KeepAlive(res)

	pr := NewPackagesReader(hostilePackages(11))
	_, _, err = collectPieces(pr, &TorrentResult{}, 10)
	if err == nil || !strings.Contains(err.Error(), "more than 10") {
		t.Fatalf("11 entries with a bound of 10: %v", err)
	}
}
