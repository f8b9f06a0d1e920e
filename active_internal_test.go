package debtorrent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
)

// activeCount returns how many pieces have loop state, asked on the loop.
func activeCount(t *testing.T, tr *Torrent) int {
	t.Helper()
	n := -1
	require.NoError(t, tr.do(context.Background(), func() { n = len(tr.active) }))
	return n
}

// Per-piece state lives only while something happens to the piece: a
// verified piece, a wait given up and a failure past its retry delay leave
// nothing behind.
func TestActivePieceReleased(t *testing.T) {
	debs := map[string][]byte{
		"pool/a.deb": bytes.Repeat([]byte("a"), 40_000),
		"pool/b.deb": bytes.Repeat([]byte("b"), 30_000),
		"pool/c.deb": bytes.Repeat([]byte("c"), 20_000),
	}
	order := []string{"pool/a.deb", "pool/b.deb", "pool/c.deb"}
	var files []metainfo.File
	var sums []byte
	for _, p := range order {
		files = append(files, metainfo.File{Path: p, Length: int64(len(debs[p]))})
		s := sha256.Sum256(debs[p])
		sums = append(sums, s[:]...)
	}
	info, err := metainfo.NewPiecePerFileInfo("active", files, sums)
	require.NoError(t, err)
	hang := make(chan struct{})
	defer close(hang)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pool/a.deb":
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(debs["pool/a.deb"]))
		case "/pool/b.deb":
			select { // never answers: the waiter gives up
			case <-hang:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	src, err := websource.NewHTTP([]string{srv.URL}, websource.Options{})
	require.NoError(t, err)
	defer src.Close()
	c, err := New(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir(), Web: WebConfig{NormalDelay: -1}})
	require.NoError(t, err)
	defer c.Close()
	tr, err := c.AddTorrent(info, TorrentOptions{WebSource: src})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, tr.WaitPiece(ctx, 0))
	require.Zero(t, activeCount(t, tr), "a verified piece keeps nothing")

	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	require.ErrorIs(t, tr.WaitPiece(short, 1), context.DeadlineExceeded)
	stop()
	require.Zero(t, activeCount(t, tr), "a wait given up keeps nothing")

	require.ErrorIs(t, tr.WaitPiece(ctx, 2), ErrNoSource)
	require.Equal(t, 1, activeCount(t, tr), "the failure is kept for its retry delay")
	require.NoError(t, tr.do(ctx, func() {
		require.NoError(t, tr.web.failure(2, time.Now().Add(webRetryDelay+time.Second)))
	}))
	require.Zero(t, activeCount(t, tr), "a failure past its retry delay is forgotten")
}
