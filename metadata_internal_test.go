package debtorrent

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/peerwire"
)

// A seed answers ut_metadata requests with its info dictionary's bytes,
// rejects a piece out of range, and rejects a peer that keeps asking.
func TestServeMetadata(t *testing.T) {
	info := pexInfo(t, "serve")
	c := pexClient(t)
	_, err := c.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	conn, meta := rawExtPeer(t, c, info)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ask := func(piece int) peerwire.MetadataMessage {
		t.Helper()
		req, err := peerwire.MarshalMetadataMessage(peerwire.MetadataMessage{Type: peerwire.MetadataRequest, Piece: piece})
		require.NoError(t, err)
		require.NoError(t, conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: extMetadata, Payload: req}))
		select {
		case b, ok := <-meta:
			require.True(t, ok, "connection closed")
			m, err := peerwire.ParseMetadataMessage(b)
			require.NoError(t, err)
			require.Equal(t, piece, m.Piece)
			return m
		case <-ctx.Done():
			t.Fatal("no ut_metadata answer")
		}
		return peerwire.MetadataMessage{}
	}
	m := ask(0)
	require.Equal(t, peerwire.MetadataData, m.Type)
	require.Equal(t, len(info.Bytes()), m.TotalSize)
	require.Equal(t, info.Bytes(), m.Data)
	require.Equal(t, peerwire.MetadataReject, ask(1).Type, "piece out of range")
	// One piece: 2 + maxMetadataServedExtra answers in all, then rejects.
	for range 1 + maxMetadataServedExtra {
		require.Equal(t, peerwire.MetadataData, ask(0).Type)
	}
	require.Equal(t, peerwire.MetadataReject, ask(0).Type, "asked too often")
}
