package debtorrent_test

import (
	"context"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
)

// DiskStorage streams a piece while it is written and resumes it after a
// restart, through the public optional interfaces.
func TestDiskStoragePartialAndResume(t *testing.T) {
	dir := t.TempDir()
	deb := make([]byte, 200_000)
	for i := range deb {
		deb[i] = byte(i * 7)
	}
	sum := sha256.Sum256(deb)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	st, err := debtorrent.OpenDiskStorage(dir, debtorrent.DiskOptions{})
	require.NoError(t, err)
	cw, err := st.CreateSHA256(sum, int64(len(deb)))
	require.NoError(t, err)
	w, ok := cw.(debtorrent.PartialContentWriter)
	require.True(t, ok, "DiskStorage's writers can be read while written")
	r, err := w.OpenPartial()
	require.NoError(t, err)
	_, err = w.Write(deb[:100_000])
	require.NoError(t, err)
	n, err := r.Wait(ctx, 0)
	require.NoError(t, err)
	require.Equal(t, int64(100_000), n)
	_, err = r.ReadAt(make([]byte, 10), 100_000)
	require.ErrorIs(t, err, debtorrent.ErrBeyondPrefix)
	require.NoError(t, w.Close(), "stop, keeping what was written")
	_, err = r.Wait(ctx, n)
	require.ErrorIs(t, err, debtorrent.ErrWriterStopped)
	require.NoError(t, r.Close())
	require.NoError(t, st.Close())

	st, err = debtorrent.OpenDiskStorage(dir, debtorrent.DiskOptions{})
	require.NoError(t, err)
	defer st.Close()
	info := debInfo(t, "t", map[string][]byte{"pool/a.deb": deb}, []string{"pool/a.deb"})
	ts, err := st.OpenTorrent(info)
	require.NoError(t, err)
	po, ok := ts.(debtorrent.PartialOpener)
	require.True(t, ok, "DiskStorage's torrents are PartialOpeners")
	const kept = 98_304 // 100_000 cut to whole 16 KiB blocks
	require.Equal(t, int64(kept), po.PartialLength(0))
	require.NoError(t, ts.Close())

	w, err = st.ResumeSHA256(sum, int64(len(deb)))
	require.NoError(t, err)
	require.Equal(t, int64(kept), w.Written())
	r, err = w.OpenPartial()
	require.NoError(t, err)
	defer r.Close()
	_, err = w.Write(deb[w.Written():])
	require.NoError(t, err)
	require.Equal(t, int64(len(deb)-1), r.Prefix(), "the last byte waits for the check")
	require.NoError(t, w.Commit())
	n, err = r.Wait(ctx, int64(len(deb)-1))
	require.NoError(t, err)
	require.Equal(t, r.Size(), n)
	got, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
	require.NoError(t, err)
	require.Equal(t, deb, got)
	require.True(t, st.HasSHA256(sum))

	ts, err = st.OpenTorrent(info)
	require.NoError(t, err)
	defer ts.Close()
	tr, err := ts.(debtorrent.PartialOpener).OpenPartial(0)
	require.NoError(t, err)
	defer tr.Close()
	require.Equal(t, tr.Size(), tr.Prefix(), "a stored piece reads whole")
}
