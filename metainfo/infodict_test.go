package metainfo

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewPiecePerFileInfoFormat(t *testing.T) {
	hello := sha256.Sum256([]byte("hello"))
	bye := sha256.Sum256([]byte("bye"))
	files := []File{
		{Path: "pool/main/h/hello/hello_2.10-3_amd64.deb", Length: 5},
		{Path: "pool/main/b/bye/bye_1.0_all.deb", Length: 3},
	}
	info, err := NewPiecePerFileInfo("bookworm main amd64", files, append(hello[:], bye[:]...))
	require.NoError(t, err)
	want := "d5:filesl" +
		"d6:lengthi5e4:pathl4:pool4:main1:h5:hello22:hello_2.10-3_amd64.debee" +
		"d6:lengthi3e4:pathl4:pool4:main1:b3:bye15:bye_1.0_all.debee" +
		"e4:name19:bookworm main amd6412:piece layout15:per-file-sha2566:pieces64:" + string(hello[:]) + string(bye[:]) + "e"
	assert.Equal(t, want, string(info.Bytes()), "files keep their order, no piece length key")
	assert.Equal(t, InfoHash(sha1.Sum([]byte(want))), info.InfoHash())
	assert.Equal(t, PiecePerFile, info.Layout)
	assert.Equal(t, []Piece{{Index: 0, Offset: 0, Length: 5, Hash: hello[:]}, {Index: 1, Offset: 5, Length: 3, Hash: bye[:]}}, info.Pieces)
	assert.Zero(t, files[1].Offset, "the caller's files are not modified")

	parsed, err := ParseInfo(info.Bytes())
	require.NoError(t, err)
	assertSameInfo(t, info, parsed)
}

// assertSameInfo checks that two Infos describe the same torrent.
func assertSameInfo(t *testing.T, want, got *Info) {
	t.Helper()
	assert.Equal(t, want.InfoHash(), got.InfoHash())
	assert.Equal(t, want.Bytes(), got.Bytes())
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Layout, got.Layout)
	assert.Equal(t, want.PieceLength, got.PieceLength)
	assert.Equal(t, want.Files, got.Files)
	assert.Equal(t, want.Pieces, got.Pieces)
	assert.Equal(t, want.Private, got.Private)
	assert.Equal(t, want.SingleFile, got.SingleFile)
	for _, f := range want.Files {
		i, ok := got.FileByPath(f.Path)
		assert.True(t, ok, f.Path)
		assert.Equal(t, f, got.Files[i])
	}
}

func TestNewInfoRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		files  []File
		single bool
		opts   []InfoOption
		want   string // the info dictionary, with PIECES for the hashes
	}{
		{
			name: "single", files: []File{{Length: 40000}}, single: true,
			want: "d6:lengthi40000e4:name6:single12:piece lengthi16384e6:pieces60:PIECESe",
		},
		{
			name: "multi", files: []File{{Path: "b/c", Length: 20000}, {Path: "empty", Length: 0}, {Path: "a", Length: 20000}},
			opts: []InfoOption{WithPrivate()},
			want: "d5:filesld6:lengthi20000e4:pathl1:b1:ceed6:lengthi0e4:pathl5:emptyeed6:lengthi20000e4:pathl1:aeee" +
				"4:name5:multi12:piece lengthi16384e6:pieces60:PIECES7:privatei1ee",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hashes := bytes.Repeat([]byte("0123456789abcdefghij"), 3)
			info, err := NewInfo(tt.name, 16384, tt.files, hashes, tt.single, tt.opts...)
			require.NoError(t, err)
			assert.Equal(t, strings.Replace(tt.want, "PIECES", string(hashes), 1), string(info.Bytes()))
			hashes[0] = 'X'
			assert.Equal(t, byte('0'), info.Pieces[0].Hash[0], "the hashes were copied")
			parsed, err := ParseInfo(info.Bytes())
			require.NoError(t, err)
			assertSameInfo(t, info, parsed)
		})
	}
}

func TestNewInfoRejects(t *testing.T) {
	h := make([]byte, 20)
	tests := []struct {
		name    string
		build   func() (*Info, error)
		errPart string
	}{
		{"single with two files", func() (*Info, error) {
			return NewInfo("x", 16384, []File{{Path: "a", Length: 1}, {Path: "b", Length: 1}}, h, true)
		}, "exactly one file"},
		{"name with slash", func() (*Info, error) { return NewInfo("a/b", 16384, []File{{Length: 1}}, h, true) }, "\"/\""},
		{"empty name", func() (*Info, error) { return NewInfo("", 16384, []File{{Path: "a", Length: 1}}, h, false) }, "empty"},
		{"bad path", func() (*Info, error) { return NewInfo("x", 16384, []File{{Path: "../a", Length: 1}}, h, false) }, "\"..\""},
		{"hash count", func() (*Info, error) { return NewInfo("x", 16384, []File{{Path: "a", Length: 1}}, nil, false) }, "0 piece hashes"},
		{"per-file NUL name", func() (*Info, error) {
			return NewPiecePerFileInfo("a\x00", []File{{Path: "a", Length: 1}}, make([]byte, 32))
		}, "NUL"},
		{"per-file hash count", func() (*Info, error) {
			return NewPiecePerFileInfo("deb", []File{{Path: "a", Length: 1}}, make([]byte, 20))
		}, "not a multiple of 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.build()
			require.ErrorIs(t, err, ErrInvalid)
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestParseInfoKeepsUnknownKeys(t *testing.T) {
	// A hybrid-style dictionary: extra keys, and a BEP 47 padding file.
	raw := "d5:filesld6:lengthi5e4:pathl1:aeed4:attr1:p6:lengthi16379e4:pathl4:.pad5:16379eed6:lengthi1e4:pathl1:beee" +
		"12:meta versioni2e4:name1:x12:piece lengthi16384e6:pieces40:" + strings.Repeat("h", 40) + "6:source3:srce"
	info, err := ParseInfo([]byte(raw))
	require.NoError(t, err)
	assert.Equal(t, InfoHash(sha1.Sum([]byte(raw))), info.InfoHash())
	assert.Equal(t, []File{{Path: "a", Length: 5}, {Path: ".pad/16379", Length: 16379, Offset: 5}, {Path: "b", Length: 1, Offset: 16384}}, info.Files)
	assert.Equal(t, 2, info.NumPieces())
}

// debianInfo builds a Debian-sized piece-per-file Info: n packages with
// pool paths like a real archive's.
func debianInfo(tb testing.TB, n int) *Info {
	tb.Helper()
	files := make([]File, n)
	for i := range files {
		pkg := fmt.Sprintf("package-%d", i)
		files[i] = File{Path: fmt.Sprintf("pool/main/%c/%s/%s_1.%d-1_amd64.deb", 'a'+i%26, pkg, pkg, i), Length: int64(1000 + i*37)}
	}
	info, err := NewPiecePerFileInfo("debian bookworm main amd64", files, make([]byte, 32*n))
	require.NoError(tb, err)
	return info
}

func TestParseInfoDebianScale(t *testing.T) {
	info := debianInfo(t, 63440)
	parsed, err := ParseInfo(info.Bytes())
	require.NoError(t, err)
	assertSameInfo(t, info, parsed)
}
