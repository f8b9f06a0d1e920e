package debtorrent_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
)

// vanishingStorage says its pieces are complete but cannot open them, as a
// store that evicted a piece between the check of a request and its upload.
type vanishingStorage struct{ debtorrent.Storage }

func (s vanishingStorage) OpenTorrent(info *metainfo.Info) (debtorrent.TorrentStorage, error) {
	ts, err := s.Storage.OpenTorrent(info)
	return vanishingTorrent{ts}, err
}

type vanishingTorrent struct{ debtorrent.TorrentStorage }

func (vanishingTorrent) OpenPiece(i int) (debtorrent.PieceReader, error) {
	return nil, fmt.Errorf("piece %d: %w", i, debtorrent.ErrNotComplete)
}

// A request accepted for a piece that is gone by the time it is served gets
// a reject, not silence.
func TestUploadOfGonePieceRejected(t *testing.T) {
	s := makeDebs(t, 2, 24)
	disk, err := debtorrent.OpenDiskStorage(t.TempDir(), debtorrent.DiskOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { disk.Close() })
	ts, err := disk.OpenTorrent(s.info)
	require.NoError(t, err)
	for i, p := range s.order {
		require.NoError(t, ts.WriteBlock(i, 0, s.debs[p]))
		require.NoError(t, ts.FinishPiece(i))
	}
	require.NoError(t, ts.Close())
	c, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Storage = vanishingStorage{disk} })
	_, err = c.AddTorrent(s.info, debtorrent.TorrentOptions{})
	require.NoError(t, err)

	peer := dialRaw(t, c.Addr().String(), s.info, 0)
	peer.send(peerwire.Message{ID: peerwire.Interested})
	peer.await("unchoke", swarmTimeout, func(m peerwire.Message) bool { return m.ID == peerwire.Unchoke })
	peer.send(peerwire.Message{ID: peerwire.Request, Index: 1, Begin: 0, Length: 16 << 10})
	peer.await("reject", 3*time.Second, func(m peerwire.Message) bool {
		require.NotEqual(t, peerwire.Piece, m.ID)
		return m.ID == peerwire.Reject && m.Index == 1 && m.Begin == 0 && m.Length == 16<<10
	})
}
