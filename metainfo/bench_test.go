package metainfo

import (
	"bytes"
	"context"
	"crypto/sha1"
	"io"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkParseInfoDebian parses the info dictionary of a Debian torrent
// the size of bookworm main amd64 (63,440 packages).
func BenchmarkParseInfoDebian(b *testing.B) {
	raw := debianInfo(b, 63440).Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseInfo(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewPiecePerFileInfoDebian builds and bencodes the same Info.
func BenchmarkNewPiecePerFileInfoDebian(b *testing.B) {
	info := debianInfo(b, 63440)
	hashes := make([]byte, 32*len(info.Files))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewPiecePerFileInfo(info.Name, info.Files, hashes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashPieces measures HashPieces on 64 MiB in memory against a
// plain one-goroutine loop that reads the same data through the same 4 MiB
// buffer and hashes it, in one run.
func BenchmarkHashPieces(b *testing.B) {
	data := randomBytes(3, 64<<20)
	const pieceLength = 256 << 10
	b.Run("HashPieces", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := HashPieces(context.Background(), bytes.NewReader(data), int64(len(data)), pieceLength); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sequential-sha1", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		buf := make([]byte, hashChunkSize)
		for b.Loop() {
			r := bytes.NewReader(data)
			for {
				n, err := io.ReadFull(r, buf)
				for off := 0; off < n; off += pieceLength {
					sha1.Sum(buf[off:min(n, off+pieceLength)])
				}
				if err != nil {
					break
				}
			}
		}
	})
}

// BenchmarkCreate makes a torrent of 100 files of 640 KiB on disk (in the
// page cache after the first round).
func BenchmarkCreate(b *testing.B) {
	dir := b.TempDir()
	files := make(map[string]string)
	for i := range 100 {
		files["d"+strconv.Itoa(i%7)+"/f"+strconv.Itoa(i)] = string(randomBytes(uint64(i), 640<<10))
	}
	writeTree(b, dir, files)
	b.SetBytes(100 * 640 << 10)
	for b.Loop() {
		if _, err := Create(context.Background(), filepath.Clean(dir), CreateOptions{PieceLength: 256 << 10}); err != nil {
			b.Fatal(err)
		}
	}
}
