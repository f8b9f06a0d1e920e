package debtorrent_test

import (
	"context"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/tracker"
)

// One seed, five leechers of a multi-file torrent, meeting through a real
// tracker on loopback: every leecher ends with the same bytes, and nothing is
// left running after Close.
func TestSwarmOneSeedFiveLeechers(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := tracker.NewServer(tracker.ServerConfig{})
	web := httptest.NewServer(srv)
	announce := [][]string{{web.URL + "/announce"}}

	src := t.TempDir()
	info := makeTree(t, src, "multi", map[string]int{
		"a.bin":       3<<20 + 12345,
		"sub/b.bin":   700_000,
		"sub/c/d.bin": 1,
		"empty.bin":   0,
		"z/last.bin":  2<<20 + 7,
	}, 64<<10, 1)

	seedC, _ := newClient(t, nil)
	seed, err := seedC.AddTorrent(info, debtorrent.TorrentOptions{Trackers: announce, ImportDir: src})
	require.NoError(t, err)
	require.True(t, seed.Stats().Complete(), "the seed imported every piece")

	var leechers []*debtorrent.Torrent
	var dirs []string
	var clients []*debtorrent.Client
	for range 5 {
		c, dir := newClient(t, nil)
		tr, err := c.AddTorrent(info, debtorrent.TorrentOptions{Trackers: announce, DownloadAll: true})
		require.NoError(t, err)
		leechers = append(leechers, tr)
		dirs = append(dirs, dir)
		clients = append(clients, c)
	}
	waitComplete(t, leechers...)
	var fromPeers int64
	for i, tr := range leechers {
		sameTree(t, info, src, dirs[i])
		s := tr.Stats()
		require.Equal(t, info.TotalLength(), s.BytesHave)
		require.Zero(t, s.BytesFromWeb)
		fromPeers += s.BytesFromPeers
	}
	require.GreaterOrEqual(t, fromPeers, 5*info.TotalLength())
	require.Positive(t, seed.Stats().BytesUploaded)
	// Each leecher announced "completed" with nothing left: six seeds.
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, seed.WaitFor(ctx, func(debtorrent.TorrentStats) bool { return srv.Stats().Seeders == 6 }))

	for _, c := range clients {
		require.NoError(t, c.Close())
	}
	require.NoError(t, seedC.Close())
	web.Close()
	checkNoLeaks(t, before)
}

// A torrent keeps to its connection limit: of four peers that connect, two
// stay.
func TestPerTorrentConnectionLimit(t *testing.T) {
	src := t.TempDir()
	info := makeTree(t, src, "limited", map[string]int{"f": 100_000}, 32<<10, 3)
	target, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.MaxConnsPerTorrent = 2 })
	tt, err := target.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	var others []*debtorrent.Torrent
	for range 4 {
		c, _ := newClient(t, nil)
		tr, err := c.AddTorrent(info, debtorrent.TorrentOptions{})
		require.NoError(t, err)
		require.NoError(t, tr.AddPeer(target.Addr().String()))
		others = append(others, tr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	connected := func() int {
		n := 0
		for _, o := range others {
			n += o.Stats().Peers
		}
		return n
	}
	require.NoError(t, tt.WaitFor(ctx, func(s debtorrent.TorrentStats) bool {
		return s.Peers == 2 && connected() == 2 && target.Stats().Conns == 2
	}))
}

// The client-wide limit holds across torrents: with room for one connection,
// peers of two torrents get one between them.
func TestClientConnectionLimit(t *testing.T) {
	src := t.TempDir()
	infoA := makeTree(t, src, "one", map[string]int{"f": 50_000}, 32<<10, 4)
	infoB := makeTree(t, src, "two", map[string]int{"g": 50_000}, 32<<10, 5)
	target, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.MaxConns = 1 })
	ta, err := target.AddTorrent(infoA, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	tb, err := target.AddTorrent(infoB, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	var others []*debtorrent.Torrent
	for _, info := range []*metainfo.Info{infoA, infoB, infoA} {
		c, _ := newClient(t, nil)
		tr, err := c.AddTorrent(info, debtorrent.TorrentOptions{})
		require.NoError(t, err)
		require.NoError(t, tr.AddPeer(target.Addr().String()))
		others = append(others, tr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	// Each dial ends: connected, or refused (its dial fails or the
	// connection is closed at once).
	require.NoError(t, ta.WaitFor(ctx, func(debtorrent.TorrentStats) bool {
		connected := 0
		for _, o := range others {
			connected += o.Stats().Peers
		}
		return connected == 1 && ta.Stats().Peers+tb.Stats().Peers == 1 && target.Stats().Conns == 1
	}))
}

// Two peers that dial each other at once end with one connection between
// them, not none.
func TestSimultaneousDials(t *testing.T) {
	src := t.TempDir()
	info := makeTree(t, src, "both", map[string]int{"f": 40_000}, 32<<10, 6)
	for range 5 {
		a, _ := newClient(t, nil)
		b, _ := newClient(t, nil)
		ta, err := a.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
		require.NoError(t, err)
		tb, err := b.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
		require.NoError(t, err)
		require.NoError(t, ta.AddPeer(b.Addr().String()))
		require.NoError(t, tb.AddPeer(a.Addr().String()))
		ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
		require.NoError(t, ta.WaitFor(ctx, func(s debtorrent.TorrentStats) bool {
			return s.Peers == 1 && tb.Stats().Peers == 1 && a.Stats().Conns == 1 && b.Stats().Conns == 1
		}))
		cancel()
		waitComplete(t, tb)
	}
}
