package debtorrent_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
)

// debInfo builds a Debian torrent over the given package contents.
func debInfo(t testing.TB, name string, debs map[string][]byte, order []string) *metainfo.Info {
	t.Helper()
	var files []metainfo.File
	var sums []byte
	for _, p := range order {
		files = append(files, metainfo.File{Path: p, Length: int64(len(debs[p]))})
		s := sha256.Sum256(debs[p])
		sums = append(sums, s[:]...)
	}
	info, err := metainfo.NewPiecePerFileInfo(name, files, sums)
	require.NoError(t, err)
	return info
}

// A piece fetched from a mirror straight into storage, hashed as it arrives,
// then verified, deduplicated across torrents, and readable by SHA256.
func TestStorageWithWebSource(t *testing.T) {
	const path = "pool/main/h/hello/hello_2.10-3_amd64.deb"
	deb := bytes.Repeat([]byte("hello "), 50_000)
	bad := bytes.Clone(deb)
	bad[1000] = 'X'
	var serveBad atomic.Bool
	serveBad.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := deb
		if serveBad.Load() {
			body = bad
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	defer srv.Close()

	st, err := debtorrent.OpenDiskStorage(t.TempDir(), debtorrent.DiskOptions{})
	require.NoError(t, err)
	defer st.Close()
	amd := debInfo(t, "stable main amd64", map[string][]byte{path: deb}, []string{path})
	sec := debInfo(t, "stable-security main amd64", map[string][]byte{path: deb, "pool/x.deb": []byte("x")}, []string{"pool/x.deb", path})
	ta, err := st.OpenTorrent(amd)
	require.NoError(t, err)
	defer ta.Close()
	ts, err := st.OpenTorrent(sec)
	require.NoError(t, err)
	defer ts.Close()

	src, err := websource.NewHTTP([]string{srv.URL}, websource.Options{})
	require.NoError(t, err)
	res, err := websource.FetchPiece(context.Background(), src, amd, 0, &seqWriter{t: ta})
	require.NoError(t, err)
	require.ErrorIs(t, ta.FinishPiece(0), debtorrent.ErrHashMismatch)
	assert.False(t, ta.PieceComplete(0))
	for _, s := range res.Sources {
		src.BadHash(path, s)
	}

	serveBad.Store(false)
	_, err = websource.FetchPiece(context.Background(), src, amd, 0, &seqWriter{t: ta})
	require.NoError(t, err)
	require.NoError(t, ta.FinishPiece(0))
	assert.True(t, ts.PieceComplete(1), "the same .deb in the security torrent")
	assert.True(t, st.HasSHA256(sha256.Sum256(deb)))

	r, err := st.OpenSHA256(sha256.Sum256(deb))
	require.NoError(t, err)
	defer r.Close()
	_, err = r.Seek(100, io.SeekStart)
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, deb[100:], got)
	used, n := st.Usage()
	assert.Equal(t, int64(len(deb)), used)
	assert.Equal(t, 1, n)
}

func TestDiskStorageImportAndVerify(t *testing.T) {
	dir := t.TempDir()
	archives := t.TempDir()
	debs := map[string][]byte{"a_1_all.deb": []byte("package a"), "b_1_all.deb": []byte("package b")}
	for name, data := range debs {
		require.NoError(t, os.WriteFile(filepath.Join(archives, name), data, 0o644))
	}
	st, err := debtorrent.OpenDiskStorage(dir, debtorrent.DiskOptions{})
	require.NoError(t, err)
	is, err := st.Import(context.Background(), archives)
	require.NoError(t, err)
	assert.Equal(t, 2, is.Files)
	require.NoError(t, st.Close())

	st, err = debtorrent.OpenDiskStorage(dir, debtorrent.DiskOptions{})
	require.NoError(t, err)
	defer st.Close()
	for _, data := range debs {
		assert.True(t, st.HasSHA256(sha256.Sum256(data)), "found again after restart")
	}
	sum := sha256.Sum256(debs["a_1_all.deb"])
	h := fmt.Sprintf("%x", sum)
	// The imported file is a hard link: damage it through the store's name.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sha256", h[:2], h), []byte("damaged!!"), 0o644))
	vs, err := st.Verify(context.Background())
	require.NoError(t, err)
	assert.Equal(t, debtorrent.VerifyStats{Checked: 2, Removed: 1}, vs)
	assert.False(t, st.HasSHA256(sum))
}

// Write a Debian piece block by block, verify it, and read it back.
func ExampleOpenDiskStorage() {
	dir, _ := os.MkdirTemp("", "debtorrent-example")
	defer os.RemoveAll(dir)
	st, err := debtorrent.OpenDiskStorage(dir, debtorrent.DiskOptions{MaxBytes: 10 << 30})
	if err != nil {
		panic(err)
	}
	defer st.Close()

	deb := []byte("the bytes of hello_2.10-3_amd64.deb")
	sum := sha256.Sum256(deb)
	info, _ := metainfo.NewPiecePerFileInfo("bookworm main amd64",
		[]metainfo.File{{Path: "pool/main/h/hello/hello_2.10-3_amd64.deb", Length: int64(len(deb))}}, sum[:])
	t, err := st.OpenTorrent(info)
	if err != nil {
		panic(err)
	}
	defer t.Close()

	// Blocks may arrive from peers in any order.
	_ = t.WriteBlock(0, 16, deb[16:])
	_ = t.WriteBlock(0, 0, deb[:16])
	if err := t.FinishPiece(0); err != nil {
		panic(err)
	}
	r, _ := t.OpenPiece(0)
	defer r.Close()
	b, _ := io.ReadAll(r)
	fmt.Println(t.PieceComplete(0), string(b))
	// Output: true the bytes of hello_2.10-3_amd64.deb
}

// seqWriter writes a stream sequentially into piece 0 of a torrent's storage.
type seqWriter struct {
	t   debtorrent.TorrentStorage
	off int64
}

func (w *seqWriter) Write(p []byte) (int, error) {
	if err := w.t.WriteBlock(0, w.off, p); err != nil {
		return 0, err
	}
	w.off += int64(len(p))
	return len(p), nil
}
