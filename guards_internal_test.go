package debtorrent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// seedTorrent runs a Client seeding one file of two pieces of 32 KiB and
// returns the torrent.
func seedTorrent(t *testing.T) *Torrent {
	t.Helper()
	src := t.TempDir()
	data := make([]byte, 64<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(src, "s"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "s", "f"), data, 0o644))
	info, err := metainfo.Create(t.Context(), filepath.Join(src, "s"), metainfo.CreateOptions{PieceLength: 32 << 10})
	require.NoError(t, err)
	c, err := New(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	tr, err := c.AddTorrent(info, TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	require.True(t, tr.Stats().Complete())
	return tr
}

// A peer's requests are queued only when it is unchoked and they lie
// within a piece we have; others are rejected (fast extension).
func TestRequestsChecked(t *testing.T) {
	tr := seedTorrent(t)
	cases := []struct {
		name    string
		choked  bool
		r       peerwire.Message
		queued  bool
		comment string
	}{
		{"valid", false, peerwire.Message{Index: 1, Begin: 16 << 10, Length: 16 << 10}, true, ""},
		{"choked", true, peerwire.Message{Index: 1, Begin: 0, Length: 16 << 10}, false, "choked peers are not served"},
		{"past the piece's end", false, peerwire.Message{Index: 1, Begin: 24 << 10, Length: 16 << 10}, false, "the piece has 32 KiB"},
		{"past the last piece", false, peerwire.Message{Index: 2, Begin: 0, Length: 16 << 10}, false, "two pieces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPeer(t, tr, "192.0.2.1:1", 1)
			p.amChoking.Store(c.choked)
			c.r.ID = peerwire.Request
			p.onRequest(c.r)
			want := piecepicker.Request{Piece: int(c.r.Index), Begin: int64(c.r.Begin), Length: int64(c.r.Length)}
			if c.queued {
				require.Equal(t, []piecepicker.Request{want}, p.out.uploads)
				require.Empty(t, p.out.ctrl)
				return
			}
			require.Empty(t, p.out.uploads, c.comment)
			require.Equal(t, []peerwire.Message{{ID: peerwire.Reject, Index: c.r.Index, Begin: c.r.Begin, Length: c.r.Length}}, p.out.ctrl)
		})
	}
}

// rechoke applies the choker's decision: the four peers that send fastest
// and one optimistic peer are unchoked, everyone else is choked, including
// a peer unchoked before that lost interest.
func TestRechokeApplied(t *testing.T) {
	tr, _ := stoppedTorrent(t, nil)
	now := time.Now()
	var fast, slow []*peer
	for k := range 6 {
		p := fakePeer(t, tr, "192.0.2.1:1", byte(10+k))
		p.interested = true
		if k < 4 {
			p.down.Add(int64(k+1)<<20, now)
			p.lastBlockAt = now
			fast = append(fast, p)
		} else {
			slow = append(slow, p)
		}
	}
	gone := fakePeer(t, tr, "192.0.2.1:1", 30)
	tr.unchoke(gone, now.Add(-time.Minute))
	tr.rechoke(now)
	for _, p := range fast {
		require.True(t, p.unchoked, "a fast peer keeps a regular slot")
		require.False(t, p.amChoking.Load())
		require.Contains(t, p.out.ctrl, peerwire.Message{ID: peerwire.Unchoke})
	}
	n := 0
	for _, p := range slow {
		if p.unchoked {
			n++
			require.True(t, p.optimistic)
		}
	}
	require.Equal(t, 1, n, "one optimistic slot among the slow peers")
	require.False(t, gone.unchoked, "an uninterested peer is choked")
	require.True(t, gone.amChoking.Load())
	require.Contains(t, gone.out.ctrl, peerwire.Message{ID: peerwire.Choke})
}

// maybeUnchoke gives a newly interested peer a slot only while one is free.
func TestMaybeUnchokeRespectsSlots(t *testing.T) {
	tr, _ := stoppedTorrent(t, nil)
	now := time.Now()
	var ps []*peer
	for k := range tr.uploadSlots() + 1 {
		p := fakePeer(t, tr, "192.0.2.1:1", byte(10+k))
		p.interested = true
		ps = append(ps, p)
	}
	for _, p := range ps[:tr.uploadSlots()-1] {
		tr.unchoke(p, now)
	}
	last, extra := ps[len(ps)-2], ps[len(ps)-1]
	tr.maybeUnchoke(last)
	require.True(t, last.unchoked, "the last free slot is taken")
	tr.maybeUnchoke(extra)
	require.False(t, extra.unchoked, "no slot is left")
	require.NotContains(t, extra.out.ctrl, peerwire.Message{ID: peerwire.Unchoke})
}
