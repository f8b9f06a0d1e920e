package websource

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// buildTorrent makes a standard torrent of the given files and returns it
// with the concatenated byte stream.
func buildTorrent(t *testing.T, name string, pieceLen int64, files map[string][]byte, order []string, single bool) (*metainfo.Info, []byte) {
	t.Helper()
	var stream []byte
	var fs []metainfo.File
	for _, p := range order {
		stream = append(stream, files[p]...)
		fs = append(fs, metainfo.File{Path: p, Length: int64(len(files[p]))})
	}
	sums, err := metainfo.HashPieces(context.Background(), bytes.NewReader(stream), int64(len(stream)), pieceLen)
	require.NoError(t, err)
	info, err := metainfo.NewInfo(name, pieceLen, fs, sums, single)
	require.NoError(t, err)
	return info, stream
}

func TestURLListMultiFile(t *testing.T) {
	files := map[string][]byte{
		"a.bin":          randomBytes(100_000, 20),
		"sub/b c+d.bin":  randomBytes(50_000, 21),
		"empty":          nil,
		"sub/deeper/z~1": randomBytes(30_000, 22),
	}
	order := []string{"a.bin", "sub/b c+d.bin", "empty", "sub/deeper/z~1"}
	info, stream := buildTorrent(t, "My Torrent", 32768, files, order, false)
	served := map[string][]byte{}
	for p, d := range files {
		served["seed/My Torrent/"+p] = d
	}
	srv := newMirrorServer(t, served, nil)
	for _, base := range []string{srv.URL + "/seed/", srv.URL + "/seed"} {
		src, err := NewURLList([]string{base}, info, fastOptions())
		require.NoError(t, err)
		var got bytes.Buffer
		for p := range info.Pieces {
			_, err := FetchPiece(context.Background(), src, info, p, &got)
			require.NoError(t, err, "piece %d from %s", p, base)
		}
		require.True(t, bytes.Equal(stream, got.Bytes()), "stream from %s", base)
	}
	assert.Contains(t, srv.requestPaths(), "/seed/My%20Torrent/sub/b%20c+d.bin")

	// Piece 3 spans a.bin's tail and the next file's head.
	reqs := PieceRequests(info, 3)
	require.Len(t, reqs, 2)
	assert.Equal(t, Request{Path: "My Torrent/a.bin", Offset: 98304, Length: 1696, FileSize: 100_000}, reqs[0])
	assert.Equal(t, Request{Path: "My Torrent/sub/b c+d.bin", Offset: 0, Length: 31072, FileSize: 50_000}, reqs[1])
	assert.Nil(t, PieceRequests(info, len(info.Pieces)))
}

func TestURLListSingleFile(t *testing.T) {
	data := randomBytes(70_000, 23)
	info, _ := buildTorrent(t, "disk.iso", 16384, map[string][]byte{"disk.iso": data}, []string{"disk.iso"}, true)
	srv := newMirrorServer(t, map[string][]byte{
		"elsewhere/renamed.iso": data, // a URL not ending in "/" is the file itself
		"dir/disk.iso":          data, // one ending in "/" is a directory holding the name
	}, nil)
	for _, u := range []string{srv.URL + "/elsewhere/renamed.iso", srv.URL + "/dir/"} {
		src, err := NewURLList([]string{u}, info, fastOptions())
		require.NoError(t, err)
		var got bytes.Buffer
		for p := range info.Pieces {
			_, err := FetchPiece(context.Background(), src, info, p, &got)
			require.NoError(t, err, u)
		}
		require.Equal(t, data, got.Bytes(), u)
	}
}

func TestPieceRequestsDebian(t *testing.T) {
	files := []metainfo.File{
		{Path: "pool/main/h/hello/hello_2.10-3_amd64.deb", Length: 10},
		{Path: "pool/main/g/g++-12/g++-12_12.2.0-14+deb12u1_amd64.deb", Length: 20},
	}
	info, err := metainfo.NewPiecePerFileInfo("debian bookworm main amd64", files, make([]byte, 64))
	require.NoError(t, err)
	assert.Equal(t, []Request{{Path: files[1].Path, Offset: 0, Length: 20, FileSize: 20}}, PieceRequests(info, 1))
}
