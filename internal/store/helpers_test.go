package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// debFixture is a Debian torrent and the content of each of its files.
type debFixture struct {
	info *metainfo.Info
	data [][]byte
}

// newDebFixture builds a PiecePerFile torrent named name over the given
// contents, with paths like pool/main/p/pkgN/pkgN_1.0_arch.deb.
func newDebFixture(t testing.TB, name, arch string, contents [][]byte) debFixture {
	t.Helper()
	var files []metainfo.File
	var sums []byte
	for i, c := range contents {
		files = append(files, metainfo.File{Path: fmt.Sprintf("pool/main/p/pkg%d/pkg%d_1.0_%s.deb", i, i, arch), Length: int64(len(c))})
		s := sha256.Sum256(c)
		sums = append(sums, s[:]...)
	}
	info, err := metainfo.NewPiecePerFileInfo(name, files, sums)
	require.NoError(t, err)
	return debFixture{info: info, data: contents}
}

// fixedFixture is a standard multi-file torrent and its byte stream.
type fixedFixture struct {
	info   *metainfo.Info
	stream []byte
}

func newFixedFixture(t testing.TB, name string, pieceLen int64, sizes []int, seed uint64) fixedFixture {
	t.Helper()
	var files []metainfo.File
	var stream []byte
	for i, n := range sizes {
		files = append(files, metainfo.File{Path: fmt.Sprintf("dir%d/file%d.bin", i%2, i), Length: int64(n)})
		stream = append(stream, randomBytes(n, seed+uint64(i))...)
	}
	sums, err := metainfo.HashPieces(context.Background(), bytes.NewReader(stream), int64(len(stream)), pieceLen)
	require.NoError(t, err)
	info, err := metainfo.NewInfo(name, pieceLen, files, sums, false)
	require.NoError(t, err)
	return fixedFixture{info: info, stream: stream}
}

func (f fixedFixture) piece(i int) []byte {
	p := f.info.Pieces[i]
	return f.stream[p.Offset : p.Offset+p.Length]
}

// writePiece writes data into piece i in blocks of blockSize, in order.
func writePiece(t testing.TB, tor *Torrent, i int, data []byte, blockSize int) {
	t.Helper()
	for off := 0; off < len(data); off += blockSize {
		end := min(off+blockSize, len(data))
		require.NoError(t, tor.WriteBlock(i, int64(off), data[off:end]))
	}
}

// readPiece reads all of a verified piece.
func readPiece(t testing.TB, tor *Torrent, i int) []byte {
	t.Helper()
	r, err := tor.OpenPiece(i)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

// dirEntries lists the names in dir (nil if absent).
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// casFiles lists every file under sha256/.
func casFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "sha256"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}
