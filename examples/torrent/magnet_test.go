package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
)

// "torrent download MAGNET" with no .torrent file: the info comes from the
// seed named by -peer, then the data.
func TestDownloadMagnet(t *testing.T) {
	root := writeContent(t)
	info, err := metainfo.Create(context.Background(), root, metainfo.CreateOptions{PieceLength: 16 << 10})
	require.NoError(t, err)
	seed, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	require.NoError(t, err)
	defer seed.Close()
	_, err = seed.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: filepath.Dir(root)})
	require.NoError(t, err)

	out := t.TempDir()
	magnet := metainfo.Magnet{InfoHash: info.InfoHash(), Name: info.Name}.String()
	code, stdout, stderr := runCLI(t, "download", "-dir", out, "-progress", "0", "-timeout", "60s", "-peer", seed.Addr().String(), magnet)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "share: complete")
	for _, f := range []string{"a.txt", "sub/b.bin"} {
		want, err := os.ReadFile(filepath.Join(root, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(out, "share", f))
		require.NoError(t, err)
		require.Equal(t, want, got, f)
	}
}
