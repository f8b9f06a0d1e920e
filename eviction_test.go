package debtorrent_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/peerwire"
)

// A piece the size-capped store evicts is no longer had: the stats drop, a
// peer that speaks lt_donthave is told and one asking for it gets a reject,
// and the next wait fetches it again from the mirror.
func TestEvictedPieceFetchedAgain(t *testing.T) {
	s := makeDebs(t, 3, 21)
	var total int64
	for _, p := range s.order {
		total += int64(len(s.debs[p]))
	}
	m := newMirror(t, s.debs, nil)
	st, err := debtorrent.OpenDiskStorage(t.TempDir(), debtorrent.DiskOptions{MaxBytes: total - 1})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	c, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Storage = st; cfg.Web.NormalDelay = -1 })
	tr, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
	require.NoError(t, err)

	require.Equal(t, s.debs[s.order[0]], readAll(t, tr, 0))
	require.Equal(t, s.debs[s.order[1]], readAll(t, tr, 1))
	peer := dialRaw(t, c.Addr().String(), s.info, 7)
	peer.await("bitfield", swarmTimeout, func(m peerwire.Message) bool { return m.ID == peerwire.Bitfield })

	// Piece 2 does not fit with the others: piece 0, least recently used,
	// is evicted.
	require.Equal(t, s.debs[s.order[2]], readAll(t, tr, 2))
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, tr.WaitFor(ctx, func(ts debtorrent.TorrentStats) bool { return ts.PiecesHave == 2 }),
		"the evicted piece is not counted")
	require.Equal(t, total-int64(len(s.debs[s.order[0]])), tr.Stats().BytesHave)
	_, err = tr.OpenPiece(0)
	require.ErrorIs(t, err, debtorrent.ErrNotComplete)

	dh := peer.await("lt_donthave", swarmTimeout, func(m peerwire.Message) bool { return m.ID == peerwire.Extended && m.ExtendedID == 7 })
	i, err := peerwire.ParseDontHave(dh.Payload, s.info.NumPieces())
	require.NoError(t, err)
	require.Equal(t, 0, i)
	peer.send(peerwire.Message{ID: peerwire.Request, Index: 0, Begin: 0, Length: 16 << 10})
	peer.await("reject", swarmTimeout, func(m peerwire.Message) bool {
		require.NotEqual(t, peerwire.Piece, m.ID, "served a piece no longer stored")
		return m.ID == peerwire.Reject && m.Index == 0
	})

	sent := m.total()
	require.Equal(t, s.debs[s.order[0]], readAll(t, tr, 0), "fetched again")
	require.Equal(t, sent+int64(len(s.debs[s.order[0]])), m.total(), "from the mirror")
}

// A package stored through one swarm is announced (have) to the peers of
// another swarm listing it, without anyone waiting for it there.
func TestStoredPieceAnnouncedToOtherSwarm(t *testing.T) {
	s := makeDebs(t, 3, 22)
	m := newMirror(t, s.debs, nil)
	other := debInfo(t, "other", s.debs, []string{s.order[2], s.order[0]})
	c, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Web.NormalDelay = -1 })
	ta, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
	require.NoError(t, err)
	tb, err := c.AddTorrent(other, debtorrent.TorrentOptions{})
	require.NoError(t, err)
	peer := dialRaw(t, c.Addr().String(), other, 0)

	require.Equal(t, s.debs[s.order[2]], readAll(t, ta, 2))
	peer.await("have of the shared package", 10*time.Second, func(m peerwire.Message) bool {
		return m.ID == peerwire.Have && m.Index == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, tb.WaitFor(ctx, func(ts debtorrent.TorrentStats) bool {
		return ts.PiecesHave == 1 && ts.BytesHave == int64(len(s.debs[s.order[2]]))
	}))
}
