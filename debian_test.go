package debtorrent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/debsource"
)

// packagesFile writes the Packages stanzas of a set of packages.
func packagesFile(s debSet) string {
	var b strings.Builder
	for i, p := range s.order {
		sum := sha256.Sum256(s.debs[p])
		fmt.Fprintf(&b, "Package: pkg%d\nVersion: 1.0\nArchitecture: amd64\nFilename: %s\nSize: %d\nSHA256: %s\n\n",
			i, p, len(s.debs[p]), hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// Two machines that read the same Packages file meet in the same swarm, and
// a package is fetched by its path from the one that has it.
func TestDebianTorrentFromPackages(t *testing.T) {
	s := makeDebs(t, 6, 8)
	name := debsource.TorrentName{Origin: "Debian", Suite: "bookworm", Component: "main", Arch: "amd64"}
	build := func() *debsource.TorrentResult {
		res, err := debsource.BuildInfo(strings.NewReader(packagesFile(s)), name)
		require.NoError(t, err)
		return res
	}
	mine, theirs := build(), build()
	require.Equal(t, mine.Info.InfoHash(), theirs.Info.InfoHash(), "the same Packages file, the same swarm")
	s.info = theirs.Info

	a := partialSeed(t, s, func(int) bool { return true })
	_, err := a.AddTorrent(theirs.Info, debtorrent.TorrentOptions{})
	require.NoError(t, err)
	b, _ := newClient(t, nil)
	tb, err := b.AddTorrent(mine.Info, debtorrent.TorrentOptions{})
	require.NoError(t, err)
	require.NoError(t, tb.AddPeer(a.Addr().String()))

	want := s.order[4]
	file, ok := mine.Info.FileByPath(want)
	require.True(t, ok)
	piece, ok := mine.Info.PieceForFile(file)
	require.True(t, ok)
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, tb.WaitPiece(ctx, piece, debtorrent.WithDeadline(time.Now().Add(time.Second))))
	require.Equal(t, s.debs[want], readAll(t, tb, piece))
	require.Equal(t, 1, tb.Stats().PiecesHave, "only the package asked for")
}

// A package stored by one swarm is there for another swarm listing it too:
// waiting for it there fetches nothing.
func TestSharedPieceAcrossTorrents(t *testing.T) {
	s := makeDebs(t, 3, 13)
	m := newMirror(t, s.debs, nil)
	other := debInfo(t, "other", s.debs, []string{s.order[2], s.order[0]})
	c, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Web.NormalDelay = -1 })
	ta, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
	require.NoError(t, err)
	tb, err := c.AddTorrent(other, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
	require.NoError(t, err)
	require.Equal(t, s.debs[s.order[2]], readAll(t, ta, 2))
	sent := m.total()
	require.Equal(t, s.debs[s.order[2]], readAll(t, tb, 0), "the same package, stored once")
	require.Equal(t, sent, m.total(), "nothing fetched again")
	require.Equal(t, 1, tb.Stats().PiecesHave)
}
