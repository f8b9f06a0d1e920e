package debtorrent_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
)

// BenchmarkDownload measures one leecher downloading a 64 MiB torrent from
// one seed over loopback, with the default disk storage on both sides
// (b.TempDir): bytes per second are the whole torrent per iteration.
func BenchmarkDownload(b *testing.B) {
	src := b.TempDir()
	info := makeTree(b, src, "bench", map[string]int{"a.bin": 48 << 20, "b.bin": 16 << 20}, 256<<10, 1)
	seed, _ := newClient(b, nil)
	_, err := seed.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(b, err)
	b.SetBytes(info.TotalLength())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: b.TempDir()})
		require.NoError(b, err)
		tr, err := c.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
		require.NoError(b, err)
		require.NoError(b, tr.AddPeer(seed.Addr().String()))
		waitComplete(b, tr)
		b.StopTimer()
		require.NoError(b, c.Close())
		b.StartTimer()
	}
}
