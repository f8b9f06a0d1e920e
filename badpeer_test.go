package debtorrent_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
)

// lyingStorage serves every piece with its bytes flipped, as a peer sending
// corrupt blocks would.
type lyingStorage struct{ debtorrent.Storage }

func (s lyingStorage) OpenTorrent(info *metainfo.Info) (debtorrent.TorrentStorage, error) {
	ts, err := s.Storage.OpenTorrent(info)
	return lyingTorrent{ts}, err
}

type lyingTorrent struct{ debtorrent.TorrentStorage }

func (t lyingTorrent) OpenPiece(i int) (debtorrent.PieceReader, error) {
	r, err := t.TorrentStorage.OpenPiece(i)
	if err != nil {
		return nil, err
	}
	return lyingReader{r}, nil
}

type lyingReader struct{ debtorrent.PieceReader }

func (r lyingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.PieceReader.ReadAt(p, off)
	for k := range p[:n] {
		p[k] ^= 0x55
	}
	return n, err
}

// A peer sending corrupt blocks is caught and banned, and the download still
// completes with the right bytes from the honest (slower) seed.
func TestCorruptPeerBanned(t *testing.T) {
	before := runtime.NumGoroutine()
	src := t.TempDir()
	info := makeTree(t, src, "victim", map[string]int{"x.bin": 3 << 20, "y/z.bin": 500_000}, 64<<10, 9)

	honest, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.UploadRate = 2 << 20 })
	_, err := honest.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)

	disk, err := debtorrent.OpenDiskStorage(t.TempDir(), debtorrent.DiskOptions{})
	require.NoError(t, err)
	defer disk.Close()
	liar, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Storage = lyingStorage{disk} })
	lt, err := liar.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	require.True(t, lt.Stats().Complete())

	leech, dir := newClient(t, nil)
	tr, err := leech.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	require.NoError(t, tr.AddPeer(liar.Addr().String()))
	require.NoError(t, tr.AddPeer(honest.Addr().String()))
	waitComplete(t, tr)
	sameTree(t, info, src, dir)
	s := tr.Stats()
	require.Equal(t, 1, s.Banned, "the liar is banned, the honest seed is not")
	require.Positive(t, s.HashFailures)

	// The liar's connection is closed (on its side too), and it may not come
	// back: a connection under its peer ID is refused.
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, lt.WaitFor(ctx, func(s debtorrent.TorrentStats) bool { return s.Peers == 0 }))
	_, admitted := dialFrom(t, "127.0.0.1", leech.Addr().String(), info, liar.PeerID(), peerwire.HaveAll)
	require.False(t, admitted, "the liar comes back")

	require.NoError(t, leech.Close())
	require.NoError(t, liar.Close())
	require.NoError(t, honest.Close())
	checkNoLeaks(t, before)
}

// A download interrupted and restarted with the same data directory resumes:
// verified pieces are not fetched again.
func TestRestartResumes(t *testing.T) {
	src := t.TempDir()
	info := makeTree(t, src, "resume", map[string]int{"big.bin": 4 << 20, "small.bin": 70_000}, 64<<10, 11)
	seed, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.UploadRate = 4 << 20 })
	_, err := seed.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)

	dir := t.TempDir()
	first, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: dir})
	require.NoError(t, err)
	tr, err := first.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	require.NoError(t, tr.AddPeer(seed.Addr().String()))
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, tr.WaitFor(ctx, func(s debtorrent.TorrentStats) bool { return s.PiecesHave >= 10 }))
	require.NoError(t, first.Close())

	second, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: dir})
	require.NoError(t, err)
	defer second.Close()
	tr2, err := second.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	had := tr2.Stats()
	require.GreaterOrEqual(t, had.PiecesHave, 10, "verified pieces survive a restart")
	require.Less(t, had.PiecesHave, had.Pieces, "the test stopped mid-download")
	require.NoError(t, tr2.AddPeer(seed.Addr().String()))
	waitComplete(t, tr2)
	sameTree(t, info, src, dir)
	require.Equal(t, info.TotalLength()-had.BytesHave, tr2.Stats().BytesFromPeers, "only the missing pieces were fetched")
}
