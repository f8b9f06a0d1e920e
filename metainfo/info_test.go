package metainfo

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildInfo builds an Info straight from the piece model, without bencoding.
func buildInfo(t testing.TB, layout Layout, pieceLength int64, lengths ...int64) *Info {
	t.Helper()
	info := &Info{Name: "t", Layout: layout, PieceLength: pieceLength}
	var total int64
	for i, n := range lengths {
		info.Files = append(info.Files, File{Path: "f" + strconv.Itoa(i), Length: n})
		total += n
	}
	var pieces int64
	if layout == PiecePerFile {
		pieces = int64(len(lengths))
	} else {
		pieces = (total + pieceLength - 1) / pieceLength
	}
	require.NoError(t, info.build(make([]byte, pieces*int64(layout.HashType().Size()))))
	return info
}

func TestFileRanges(t *testing.T) {
	// Files f0..f5 of 0, 5, 0, 10, 0, 3 bytes: 18 bytes in pieces of 4.
	info := buildInfo(t, FixedPieces, 4, 0, 5, 0, 10, 0, 3)
	require.Equal(t, 5, info.NumPieces())
	require.EqualValues(t, 18, info.TotalLength())
	tests := []struct {
		piece int
		want  []FileRange
	}{
		{0, []FileRange{{File: 1, Offset: 0, Length: 4, PieceOffset: 0}}},
		{1, []FileRange{{File: 1, Offset: 4, Length: 1, PieceOffset: 0}, {File: 3, Offset: 0, Length: 3, PieceOffset: 1}}},
		{2, []FileRange{{File: 3, Offset: 3, Length: 4, PieceOffset: 0}}},
		{3, []FileRange{{File: 3, Offset: 7, Length: 3, PieceOffset: 0}, {File: 5, Offset: 0, Length: 1, PieceOffset: 3}}},
		{4, []FileRange{{File: 5, Offset: 1, Length: 2, PieceOffset: 0}}},
		{5, nil},
		{-1, nil},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.piece), func(t *testing.T) {
			assert.Equal(t, tt.want, info.FileRanges(tt.piece))
		})
	}
	assert.EqualValues(t, 2, info.Pieces[4].Length, "the last piece is short")
}

func TestFileRangesPieceSpanningManyFiles(t *testing.T) {
	lengths := make([]int64, 100)
	for i := range lengths {
		lengths[i] = int64(i % 3) // 0, 1, 2, 0, 1, 2, ...: 99 bytes, a third of files empty
	}
	info := buildInfo(t, FixedPieces, 65, lengths...)
	ranges := info.FileRanges(0)
	var covered int64
	for i, r := range ranges {
		assert.NotZero(t, info.Files[r.File].Length, "empty files are skipped")
		assert.Equal(t, covered, r.PieceOffset, "range %d follows the previous one", i)
		covered += r.Length
	}
	assert.EqualValues(t, 65, covered)
	assert.Len(t, ranges, 44, "65 bytes of files of 1 and 2 bytes: 21 pairs, one more and half of the next")
	last := info.FileRanges(1)
	assert.Equal(t, FileRange{File: ranges[len(ranges)-1].File, Offset: 1, Length: 1, PieceOffset: 0}, last[0],
		"piece 1 continues the 2-byte file that piece 0 cut")
}

func TestRangesBounds(t *testing.T) {
	info := buildInfo(t, FixedPieces, 4, 5, 10)
	tests := []struct {
		name   string
		off, n int64
		want   []FileRange
	}{
		{"whole stream", 0, 15, []FileRange{{File: 0, Length: 5}, {File: 1, Length: 10, PieceOffset: 5}}},
		{"last byte", 14, 1, []FileRange{{File: 1, Offset: 9, Length: 1}}},
		{"at a file boundary", 5, 2, []FileRange{{File: 1, Offset: 0, Length: 2}}},
		{"past the end", 14, 2, nil},
		{"at the end", 15, 1, nil},
		{"empty", 3, 0, nil},
		{"negative offset", -1, 2, nil},
		{"negative length", 2, -1, nil},
		{"overflowing length", 1, math.MaxInt64, nil},
		{"overflowing offset", math.MaxInt64, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, info.Ranges(tt.off, tt.n))
		})
	}
}

// TestFileRangesCoverEveryByte checks on random layouts that the pieces'
// ranges tile each file exactly once, in order.
func TestFileRangesCoverEveryByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		lengths := make([]int64, 1+rng.IntN(20))
		for i := range lengths {
			if rng.IntN(4) > 0 {
				lengths[i] = rng.Int64N(100)
			}
		}
		lengths[rng.IntN(len(lengths))]++ // at least one byte
		pieceLength := 1 + rng.Int64N(64)
		info := buildInfo(t, FixedPieces, pieceLength, lengths...)
		next := make([]int64, len(lengths)) // next expected offset in each file
		for p := range info.Pieces {
			var inPiece int64
			for _, r := range info.FileRanges(p) {
				require.Equal(t, next[r.File], r.Offset, "round %d piece %d file %d", round, p, r.File)
				require.Equal(t, inPiece, r.PieceOffset, "round %d piece %d", round, p)
				require.Positive(t, r.Length)
				next[r.File] += r.Length
				inPiece += r.Length
			}
			require.Equal(t, info.Pieces[p].Length, inPiece, "round %d piece %d is covered", round, p)
		}
		for i, n := range lengths {
			require.Equal(t, n, next[i], "round %d file %d is covered", round, i)
		}
	}
}

func TestPiecePerFileModel(t *testing.T) {
	info := buildInfo(t, PiecePerFile, 0, 7, 1, 300)
	require.Equal(t, 3, info.NumPieces())
	assert.Equal(t, SHA256, info.HashType())
	for i, f := range info.Files {
		assert.Equal(t, Piece{Index: i, Offset: f.Offset, Length: f.Length, Hash: info.Pieces[i].Hash}, info.Pieces[i])
		assert.Len(t, info.Pieces[i].Hash, 32)
		assert.Equal(t, []FileRange{{File: i, Length: f.Length}}, info.FileRanges(i))
		p, ok := info.PieceForFile(i)
		assert.True(t, ok)
		assert.Equal(t, i, p)
	}
	assert.EqualValues(t, 8, info.Pieces[2].Offset)
}

func TestPieceForFile(t *testing.T) {
	info := buildInfo(t, FixedPieces, 4, 5, 0, 10, 1, 0)
	tests := []struct {
		file   int
		piece  int
		wantOK bool
	}{
		{0, 0, true}, {1, 1, true}, {2, 1, true}, {3, 3, true},
		{4, 0, false}, // empty, at the very end: no piece
		{5, 0, false}, {-1, 0, false},
	}
	for _, tt := range tests {
		p, ok := info.PieceForFile(tt.file)
		assert.Equal(t, tt.wantOK, ok, "file %d", tt.file)
		assert.Equal(t, tt.piece, p, "file %d", tt.file)
	}
}

func TestFileByPath(t *testing.T) {
	info := buildInfo(t, FixedPieces, 4, 5, 0, 10)
	i, ok := info.FileByPath("f2")
	assert.True(t, ok)
	assert.Equal(t, 2, i)
	_, ok = info.FileByPath("nope")
	assert.False(t, ok)
}

func TestPieceHashesAliasOneArray(t *testing.T) {
	hashes := bytes.Repeat([]byte{1}, 3*20)
	info := &Info{Name: "t", PieceLength: 4, Files: []File{{Path: "a", Length: 10}}}
	require.NoError(t, info.build(hashes))
	hashes[20] = 9
	assert.Equal(t, byte(9), info.Pieces[1].Hash[0], "Hash slices alias the pieces string")
	assert.Equal(t, 20, cap(info.Pieces[1].Hash), "appending to a Hash cannot overwrite the next one")
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name   string
		info   Info
		hashes int
	}{
		{"duplicate path", Info{PieceLength: 4, Files: []File{{Path: "a", Length: 1}, {Path: "a", Length: 1}}}, 1},
		{"dot-dot path", Info{PieceLength: 4, Files: []File{{Path: "a/../b", Length: 1}}}, 1},
		{"absolute path", Info{PieceLength: 4, Files: []File{{Path: "/etc/passwd", Length: 1}}}, 1},
		{"negative length", Info{PieceLength: 4, Files: []File{{Path: "a", Length: -1}}}, 0},
		{"too few hashes", Info{PieceLength: 4, Files: []File{{Path: "a", Length: 9}}}, 2},
		{"too many hashes", Info{PieceLength: 4, Files: []File{{Path: "a", Length: 9}}}, 4},
		{"zero piece length", Info{PieceLength: 0, Files: []File{{Path: "a", Length: 9}}}, 1},
		{"empty file, piece per file", Info{Layout: PiecePerFile, Files: []File{{Path: "a", Length: 0}}}, 1},
		{"hash count, piece per file", Info{Layout: PiecePerFile, Files: []File{{Path: "a", Length: 3}}}, 2},
		{"unknown layout", Info{Layout: 7, PieceLength: 4, Files: []File{{Path: "a", Length: 3}}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.info.build(make([]byte, tt.hashes*tt.info.HashType().Size()))
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	t.Run("ragged hashes", func(t *testing.T) {
		info := Info{PieceLength: 4, Files: []File{{Path: "a", Length: 3}}}
		require.ErrorIs(t, info.build(make([]byte, 21)), ErrInvalid)
	})
}

func TestValidatePath(t *testing.T) {
	for _, ok := range []string{"a", "a/b/c", "pool/main/h/hello/hello_2.10-3_amd64.deb", ".hidden", "a..b"} {
		assert.NoError(t, ValidatePath(ok), ok)
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a\x00b", `a\b`, string(make([]byte, MaxPathLength+1))} {
		assert.ErrorIs(t, ValidatePath(bad), ErrInvalid, "%q", bad)
	}
}

func TestHashTypeAndLayoutNames(t *testing.T) {
	assert.Equal(t, "sha1", SHA1.String())
	assert.Equal(t, "sha256", SHA256.String())
	assert.Equal(t, "HashType(9)", HashType(9).String())
	assert.Equal(t, 0, HashType(9).Size())
	assert.Equal(t, "fixed", FixedPieces.String())
	assert.Equal(t, "per-file", PiecePerFile.String())
	assert.Equal(t, "Layout(9)", Layout(9).String())
}
