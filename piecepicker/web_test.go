package piecepicker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebSourceGetsWholePieces(t *testing.T) {
	pk := newTest(t, 5*BlockSize, 3*BlockSize+1, 100)
	w := pk.AddWebSource()
	assert.True(t, w.IsWeb())
	p := seedPeer(pk, 0, 1)
	pk.SetPriority(0, Normal)
	pk.SetUrgent(1, time.Time{}) // peer p has it
	pk.SetUrgent(2, time.Time{}) // nobody has it: first for the mirror
	assert.Empty(t, pk.Pick(w, 5, nil), "a web source is not a peer")

	r, ok := pk.PickForWeb(w, 0, Urgent)
	require.True(t, ok)
	assert.Equal(t, Request{Piece: 2, Length: 100}, r)
	r, ok = pk.PickForWeb(w, 0, Urgent)
	require.True(t, ok)
	assert.Equal(t, Request{Piece: 1, Length: 3*BlockSize + 1}, r, "then urgent pieces peers have, whole")
	_, ok = pk.PickForWeb(w, 0, Urgent)
	assert.False(t, ok, "normal pieces are below minPrio")

	got := pk.Pick(p, 10, nil)
	assert.Equal(t, []int{0}, pieces(got), "the mirror's blocks are not given to peers")
	assert.True(t, pk.Endgame())
	assert.Len(t, pk.Pick(p, 10, nil), 0, "nor duplicated in the endgame")

	for off := int64(0); off < r.Length; off += BlockSize {
		rc := pk.BlockReceived(w, Request{Piece: 1, Begin: off, Length: min(BlockSize, r.Length-off)})
		require.True(t, rc.Wanted)
		assert.Equal(t, off+BlockSize >= r.Length, rc.PieceDone)
	}
	assert.Equal(t, 1, w.NumRequests())
	pk.RemovePeer(w)
	_, ok = pk.PickForWeb(w, 0, Normal)
	assert.False(t, ok, "a removed source gets nothing")
}

func TestWebSourceRunsOfHugePieces(t *testing.T) {
	pk := newTest(t, 100*BlockSize)
	pk.SetPriority(0, Normal)
	w := pk.AddWebSource()
	r1, ok := pk.PickForWeb(w, 40*BlockSize+5, Normal)
	require.True(t, ok)
	assert.Equal(t, Request{Piece: 0, Begin: 0, Length: 40 * BlockSize}, r1)
	r2, ok := pk.PickForWeb(w, 40*BlockSize, Normal)
	require.True(t, ok)
	assert.Equal(t, Request{Piece: 0, Begin: 40 * BlockSize, Length: 40 * BlockSize}, r2)

	// The mirror served half of r1, then failed.
	for b := int64(0); b < 20; b++ {
		require.True(t, pk.BlockReceived(w, Request{Piece: 0, Begin: b * BlockSize, Length: BlockSize}).Wanted)
	}
	assert.Equal(t, 20, pk.WebFailed(w, r1))
	assert.Equal(t, 0, pk.WebFailed(w, r1), "already returned")
	p := seedPeer(pk, 0)
	got := pk.Pick(p, 100, nil)
	require.Len(t, got, 40, "20 blocks taken back from the mirror, 20 never handed out")
	assert.Equal(t, int64(20*BlockSize), got[0].Begin)
}
