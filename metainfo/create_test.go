package metainfo

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultPieceLength(t *testing.T) {
	tests := []struct {
		total, want int64
	}{
		{0, 16 << 10},
		{1, 16 << 10},
		{1500 * 16 << 10, 16 << 10},
		{1500 * 64 << 10, 64 << 10},
		{1500 * 90 << 10, 64 << 10},       // 90 KiB ideal: 64 KiB is nearer (log scale) than 128
		{1500 * 91 << 10, 128 << 10},      // just past the geometric mean
		{700 << 20, 512 << 10},            // a CD image: 1400 pieces
		{4 << 30, 2 << 20},                // a DVD image: 2048 pieces
		{1 << 40, 16 << 20},               // capped
		{1500*16<<10 - 1, 16 << 10},       // floor
		{1500 * (1 << 20), 1 << 20},       // exact power of two
		{1500*(1<<20) + 1, 1 << 20},       // barely above
		{1500 * (3 << 19), 2 << 20},       // 1.5 MiB ideal: above the mean of 1 and 2 MiB
		{1500 * (1<<20 + 1<<18), 1 << 20}, // 1.25 MiB ideal: below it
	}
	for _, tt := range tests {
		got := DefaultPieceLength(tt.total)
		assert.Equal(t, tt.want, got, "total %d", tt.total)
		assert.Zero(t, got&(got-1), "a power of two")
	}
}

// sha1Pieces hashes data piece by piece, the obvious way.
func sha1Pieces(data []byte, pieceLength int) []byte {
	var out []byte
	for off := 0; off < len(data); off += pieceLength {
		sum := sha1.Sum(data[off:min(len(data), off+pieceLength)])
		out = append(out, sum[:]...)
	}
	return out
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestHashPieces(t *testing.T) {
	data := randomBytes(1, 9<<20+12345) // more than two read chunks
	for _, pieceLength := range []int{1, 16 << 10, 100_000, 1 << 20, 3 << 20, 8 << 20, 16 << 20} {
		n := len(data)
		if pieceLength == 1 {
			n = 5000
		}
		got, err := HashPieces(context.Background(), bytes.NewReader(data[:n]), int64(n), int64(pieceLength))
		require.NoError(t, err, "piece length %d", pieceLength)
		require.Equal(t, sha1Pieces(data[:n], pieceLength), got, "piece length %d", pieceLength)
	}
}

func TestHashPiecesEdges(t *testing.T) {
	ctx := context.Background()
	sums, err := HashPieces(ctx, strings.NewReader(""), 0, 1<<14)
	require.NoError(t, err)
	assert.Empty(t, sums)

	_, err = HashPieces(ctx, strings.NewReader("short"), 10, 4)
	require.ErrorContains(t, err, "data ended after 5 of 10 bytes")

	_, err = HashPieces(ctx, strings.NewReader("abc"), 3, 0)
	require.ErrorContains(t, err, "piece length")

	_, err = HashPieces(ctx, strings.NewReader("abc"), MaxPieces+1, 1)
	require.ErrorContains(t, err, "choose a bigger piece length")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = HashPieces(cancelled, bytes.NewReader(make([]byte, 64<<20)), 64<<20, 1<<14)
	require.ErrorIs(t, err, context.Canceled)

	_, err = HashPieces(ctx, iotestErrReader{}, 10, 4)
	require.ErrorContains(t, err, "disk on fire")
}

// iotestErrReader fails every read.
type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// writeTree creates files (slash-separated path → content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
}

func TestCreateDirectory(t *testing.T) {
	root := filepath.Join(t.TempDir(), "share")
	files := map[string]string{
		"a/b":         strings.Repeat("b", 40000),
		"a-c":         "dash sorts before slash",
		"empty":       "",
		".hidden":     "dot files are kept",
		"z/y/x/deep":  strings.Repeat("deep", 10000),
		"A-upper":     "upper case sorts first",
		"z/y/empty-2": "",
	}
	writeTree(t, root, files)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "empty-dir"), 0o755))

	info, err := Create(context.Background(), root, CreateOptions{PieceLength: 16 << 10})
	require.NoError(t, err)
	assert.Equal(t, "share", info.Name)
	assert.False(t, info.SingleFile)
	assert.False(t, info.Private)
	var paths []string
	var stream []byte
	for _, f := range info.Files {
		paths = append(paths, f.Path)
		assert.EqualValues(t, len(files[f.Path]), f.Length)
		stream = append(stream, files[f.Path]...)
	}
	assert.Equal(t, []string{".hidden", "A-upper", "a-c", "a/b", "empty", "z/y/empty-2", "z/y/x/deep"}, paths)
	assert.EqualValues(t, len(stream), info.TotalLength())
	var got []byte
	for _, p := range info.Pieces {
		got = append(got, p.Hash...)
	}
	assert.Equal(t, sha1Pieces(stream, 16<<10), got)

	again, err := ParseInfo(info.Bytes())
	require.NoError(t, err)
	assert.Equal(t, info.InfoHash(), again.InfoHash())
	assert.Equal(t, info.Files, again.Files)
}

func TestCreateSingleFilePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.bin")
	data := randomBytes(2, 100_000)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	info, err := Create(context.Background(), path, CreateOptions{Private: true})
	require.NoError(t, err)
	assert.True(t, info.SingleFile)
	assert.True(t, info.Private)
	assert.Equal(t, []File{{Path: "one.bin", Length: 100_000}}, info.Files)
	assert.EqualValues(t, 16<<10, info.PieceLength, "the default for a small file")
	assert.Contains(t, string(info.Bytes()), "7:privatei1ee")
	assert.Equal(t, 7, info.NumPieces())
}

func TestCreateRejects(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"withlink/file": "x", "withfifo/file": "x", "emptyfiles/a": "", "nofiles/sub/.keep": ""})
	require.NoError(t, os.Remove(filepath.Join(dir, "nofiles/sub/.keep")))
	require.NoError(t, os.Symlink("file", filepath.Join(dir, "withlink/link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "withfifo/pipe"), 0o644))
	tests := []struct {
		name, path, errPart string
		opts                CreateOptions
	}{
		{"symlink inside", "withlink", "symbolic link, not a regular file", CreateOptions{}},
		{"fifo inside", "withfifo", "named pipe, not a regular file", CreateOptions{}},
		{"fifo itself", "withfifo/pipe", "not a regular file or directory", CreateOptions{}},
		{"only empty files", "emptyfiles", "no data to share", CreateOptions{}},
		{"no files", "nofiles", "holds no files", CreateOptions{}},
		{"missing", "missing", "no such file", CreateOptions{}},
		{"odd piece length", "withlink/file", "power of two", CreateOptions{PieceLength: 20000}},
		{"tiny piece length", "withlink/file", "power of two", CreateOptions{PieceLength: 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Create(context.Background(), filepath.Join(dir, tt.path), tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestCreateFollowsSymlinkedRoot(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"real/f": "data"})
	require.NoError(t, os.Symlink("real", filepath.Join(dir, "alias")))
	info, err := Create(context.Background(), filepath.Join(dir, "alias"), CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "alias", info.Name)
	assert.Equal(t, "f", info.Files[0].Path)
}
