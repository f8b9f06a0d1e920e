package debtorrent

import (
	"bytes"
	"crypto/sha1"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/internal/rate"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// fakePeer registers a peer on a torrent whose loop is not running, over a
// pipe nobody reads.
func fakePeer(t *testing.T, tr *Torrent, addr string, id byte) *peer {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	p := &peer{
		t: tr, conn: peerwire.NewConn(tr.ctx, a, peerwire.Config{}), addr: addr, id: peerwire.PeerID{id},
		down: rate.NewMeter(0), up: rate.NewMeter(0), sent: map[piecepicker.Request]time.Time{},
	}
	p.out.wake = make(chan struct{}, 1)
	p.pp = tr.pk.AddPeer()
	tr.peers[p] = struct{}{}
	tr.byPP[p.pp] = p
	tr.pk.PeerHaveAll(p.pp)
	tr.pk.SetChoking(p.pp, false)
	return p
}

// next runs the next event the torrent's workers send, as the loop would.
func next(tr *Torrent) { tr.handle(<-tr.events) }

// A piece made of blocks from two peers fails: neither can be blamed yet.
// Once the piece verifies from the honest peer alone, the liar's remembered
// block hashes differ from the good data and it is banned; the honest peer is
// not.
func TestSuspectsComparedAfterGoodPiece(t *testing.T) {
	good := bytes.Repeat([]byte("0123456789abcdef"), 2*piecepicker.BlockSize/16)
	sum := sha1.Sum(good)
	info, err := metainfo.NewInfo("p", int64(len(good)), []metainfo.File{{Path: "p", Length: int64(len(good))}}, sum[:], true)
	require.NoError(t, err)
	c, err := New(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	require.NoError(t, err)
	defer c.Close()
	ts, err := c.storage.OpenTorrent(info)
	require.NoError(t, err)
	tr, err := newTorrent(c, info, ts, TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	tr.startWriters() // but not the loop: the test plays it
	defer func() {
		tr.cancel()
		tr.wg.Wait()
		ts.Close()
	}()
	honest := fakePeer(t, tr, "192.0.2.1:1", 1)
	liar := fakePeer(t, tr, "192.0.2.2:2", 2)
	b0 := piecepicker.Request{Piece: 0, Begin: 0, Length: piecepicker.BlockSize}
	b1 := piecepicker.Request{Piece: 0, Begin: piecepicker.BlockSize, Length: piecepicker.BlockSize}
	receive := func(p *peer, r piecepicker.Request, data []byte) {
		rc := tr.pk.BlockReceived(p.pp, r)
		require.True(t, rc.Wanted)
		tr.keepBlock(r, data, nil, rc.PieceDone)
	}

	bad := bytes.Clone(good[piecepicker.BlockSize:])
	bad[7] ^= 1
	receive(honest, b0, good[:piecepicker.BlockSize])
	receive(liar, b1, bad)
	next(tr) // verification fails
	require.Equal(t, 1, tr.counts.hashFailures)
	require.Len(t, tr.active[0].suspects, 2, "two senders: both suspected, none banned")
	require.Zero(t, tr.counts.banned)

	receive(honest, b0, good[:piecepicker.BlockSize])
	receive(honest, b1, good[piecepicker.BlockSize:])
	next(tr) // verified
	next(tr) // the suspects' blocks compared with the good data
	require.True(t, tr.pk.HavePiece(0))
	require.Nil(t, tr.active[0], "nothing is kept about a verified piece")
	require.Equal(t, 1, tr.counts.banned)
	require.True(t, c.bans.banned(liar.addr, liar.id))
	require.False(t, c.bans.banned(honest.addr, honest.id))
	require.True(t, liar.removed, "the liar's connection is closed")
	require.False(t, honest.removed)
}
