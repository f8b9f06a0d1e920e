package debtorrent_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/peerwire"
)

// Requests are served in the order they were received, even when the upload
// limit makes them queue.
func TestUploadsInRequestOrder(t *testing.T) {
	src := t.TempDir()
	info := makeTree(t, src, "order", map[string]int{"f": 512 << 10}, 256<<10, 38)
	// 64 KiB/s: the burst covers four blocks, the other four queue.
	seed, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.UploadRate = 64 << 10 })
	_, err := seed.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	p := dialRaw(t, seed.Addr().String(), info, 0)
	p.send(peerwire.Message{ID: peerwire.Interested})
	p.await("unchoke", swarmTimeout, func(m peerwire.Message) bool { return m.ID == peerwire.Unchoke })
	order := []uint32{5, 2, 7, 0, 3, 6, 1, 4, 9, 8}
	for _, b := range order {
		p.send(peerwire.Message{ID: peerwire.Request, Index: 0, Begin: b * 16 << 10, Length: 16 << 10})
	}
	var got []uint32
	for range order {
		m := p.await("block", swarmTimeout, func(m peerwire.Message) bool { return m.ID == peerwire.Piece })
		got = append(got, m.Begin/(16<<10))
		m.Release()
	}
	require.Equal(t, order, got)
}
