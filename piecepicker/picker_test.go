package piecepicker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/metainfo"
)

// newTest returns a Picker with a fixed random source over pieces of the
// given lengths, checking its invariants when the test ends.
func newTest(t *testing.T, lengths ...int64) *Picker {
	t.Helper()
	pk, err := New(lengths, Options{Rand: rand.New(rand.NewPCG(1, 2))})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := pk.check(); err != nil {
			t.Errorf("invariants at the end: %v", err)
		}
	})
	return pk
}

// seedPeer adds an unchoked peer that has every piece listed.
func seedPeer(pk *Picker, pieces ...int) *Peer {
	p := pk.AddPeer()
	pk.SetChoking(p, false)
	for _, i := range pieces {
		pk.PeerHave(p, i)
	}
	return p
}

func pieces(reqs []Request) []int {
	var out []int
	for _, r := range reqs {
		if len(out) == 0 || out[len(out)-1] != r.Piece {
			out = append(out, r.Piece)
		}
	}
	return out
}

func TestNewRejectsBadLengths(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lengths []int64
	}{
		{"zero", []int64{10, 0}},
		{"negative", []int64{-1}},
		{"too long", []int64{1<<32 + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.lengths, Options{})
			require.Error(t, err)
		})
	}
	pk, err := New(nil, Options{})
	require.NoError(t, err)
	assert.Equal(t, 0, pk.NumPieces())
}

func TestFromInfo(t *testing.T) {
	files := []metainfo.File{
		{Path: "pool/main/h/hello/hello_2.10-3_amd64.deb", Length: 56_000},
		{Path: "pool/main/b/big/big_1.0_amd64.deb", Length: 1_500_000_000},
	}
	info, err := metainfo.NewPiecePerFileInfo("bookworm", files, make([]byte, 2*32))
	require.NoError(t, err)
	pk, err := FromInfo(info, Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, pk.NumPieces())
	assert.Equal(t, int64(56_000), pk.PieceLength(0))
	assert.Equal(t, 4, pk.NumBlocks(0))
	assert.Equal(t, 91553, pk.NumBlocks(1))
	assert.Equal(t, int64(0), pk.PieceLength(2))
}

func TestBlocksOfAPiece(t *testing.T) {
	pk := newTest(t, 100, BlockSize, BlockSize+1, 1_500_000_000)
	for _, tc := range []struct{ piece, blocks int }{{0, 1}, {1, 1}, {2, 2}, {3, 91553}} {
		assert.Equal(t, tc.blocks, pk.NumBlocks(tc.piece), "piece %d", tc.piece)
	}
	p := seedPeer(pk, 0, 2)
	pk.SetPriority(0, Normal)
	pk.SetPriority(2, Normal)
	got := pk.Pick(p, 10, nil)
	assert.ElementsMatch(t, []Request{
		{Piece: 0, Begin: 0, Length: 100},
		{Piece: 2, Begin: 0, Length: BlockSize},
		{Piece: 2, Begin: BlockSize, Length: 1},
	}, got)
}

func TestOnlyWantedPiecesArePicked(t *testing.T) {
	pk := newTest(t, 100, 100, 100)
	p := seedPeer(pk, 0, 1, 2)
	assert.Empty(t, pk.Pick(p, 10, nil), "nothing is wanted by default")
	assert.False(t, pk.Interesting(p))

	pk.SetPriority(1, Normal)
	pk.SetPriority(2, High)
	pk.PieceVerified(2)
	assert.True(t, pk.Interesting(p))
	assert.Equal(t, []Request{{Piece: 1, Length: 100}}, pk.Pick(p, 10, nil), "only the wanted, missing piece")
	assert.Empty(t, pk.Pick(p, 10, nil), "its only block is taken")

	pk.SetPriority(1, None)
	assert.Equal(t, 0, pk.NumWanted())
	assert.False(t, pk.Interesting(p))
}

func TestUrgentFirstInDeadlineThenArrivalOrder(t *testing.T) {
	pk := newTest(t, 100, 100, 100, 100, 100, 100)
	p := seedPeer(pk, 0, 1, 2, 3, 4, 5)
	now := time.Unix(1000, 0)
	pk.SetPriority(0, High)
	pk.SetPriority(1, Normal)
	pk.SetUrgent(2, now.Add(time.Second))
	pk.SetUrgent(3, now)                  // earlier deadline: first
	pk.SetUrgent(4, now.Add(time.Second)) // same deadline as 2, asked later
	pk.SetUrgent(5, time.Time{})          // no deadline: after every deadline
	pk.SetUrgent(2, now.Add(time.Hour))   // a later deadline does not demote
	got := pk.Pick(p, 10, nil)
	assert.Equal(t, []int{3, 2, 4, 5, 0, 1}, pieces(got))
}

func TestUrgentBeforePartialAndRare(t *testing.T) {
	pk := newTest(t, 3*BlockSize, 100, 100)
	a := seedPeer(pk, 0, 1)
	b := seedPeer(pk, 0, 1, 2)
	pk.SetPriority(0, High)
	pk.SetPriority(1, High)
	require.Len(t, pk.Pick(a, 1, nil), 1) // piece 0 or 1 started
	pk.SetUrgent(2, time.Time{})          // the commonest piece
	got := pk.Pick(b, 1, nil)
	assert.Equal(t, []int{2}, pieces(got))
}

func TestRarestFirst(t *testing.T) {
	pk := newTest(t, 100, 100, 100, 100)
	for i := range 4 {
		pk.SetPriority(i, Normal)
	}
	// Piece i is had by 4-i peers.
	var peers []*Peer
	for k := range 4 {
		peers = append(peers, seedPeer(pk))
		for i := 0; i < 4-k; i++ {
			pk.PeerHave(peers[k], i)
		}
	}
	assert.Equal(t, 4, pk.Availability(0))
	assert.Equal(t, 1, pk.Availability(3))
	got := pk.Pick(peers[0], 4, nil)
	assert.Equal(t, []int{3, 2, 1, 0}, pieces(got))
}

func TestRarestFirstTieBreakIsRandomAndSeeded(t *testing.T) {
	first := func(seed uint64) int {
		lengths := make([]int64, 50)
		for i := range lengths {
			lengths[i] = 100
		}
		pk, err := New(lengths, Options{Rand: rand.New(rand.NewPCG(seed, 0))})
		require.NoError(t, err)
		p := pk.AddPeer()
		pk.SetChoking(p, false)
		pk.PeerHaveAll(p)
		for i := range lengths {
			pk.SetPriority(i, Normal)
		}
		return pk.Pick(p, 1, nil)[0].Piece
	}
	assert.Equal(t, first(1), first(1), "the same seed picks the same piece")
	seen := map[int]bool{}
	for seed := range uint64(20) {
		seen[first(seed)] = true
	}
	assert.Greater(t, len(seen), 5, "different seeds pick different pieces among equals")
}

func TestStartedPiecesAreFinishedFirst(t *testing.T) {
	pk := newTest(t, 4*BlockSize, 100)
	a := seedPeer(pk, 0)
	b := seedPeer(pk, 0, 1) // piece 1 is rarer
	pk.SetPriority(0, Normal)
	pk.SetPriority(1, Normal)
	require.Len(t, pk.Pick(a, 2, nil), 2)
	got := pk.Pick(b, 3, nil)
	assert.Equal(t, []Request{
		{Piece: 0, Begin: 2 * BlockSize, Length: BlockSize},
		{Piece: 0, Begin: 3 * BlockSize, Length: BlockSize},
		{Piece: 1, Length: 100},
	}, got)
}

func TestLargePieceSpreadsOverPeers(t *testing.T) {
	pk := newTest(t, 10*BlockSize)
	pk.SetPriority(0, Normal)
	var all []Request
	for _, n := range []int{4, 4, 2} {
		got := pk.Pick(seedPeer(pk, 0), n, nil)
		require.Len(t, got, n)
		all = append(all, got...)
	}
	seen := map[int64]bool{}
	for _, r := range all {
		assert.False(t, seen[r.Begin], "block at %d given twice", r.Begin)
		seen[r.Begin] = true
	}
	assert.Len(t, seen, 10, "three peers share the ten blocks")
}

func TestEndgameDuplicatesAndCancels(t *testing.T) {
	pk := newTest(t, 2*BlockSize, 100)
	a := seedPeer(pk, 0, 1)
	b := seedPeer(pk, 0)
	pk.SetPriority(0, Normal)
	pk.SetPriority(1, Normal)
	require.Len(t, pk.Pick(a, 2, nil), 2)
	assert.False(t, pk.Endgame(), "piece 1 is still free")
	require.Len(t, pk.Pick(a, 1, nil), 1)
	assert.True(t, pk.Endgame())

	dups := pk.Pick(b, 10, nil)
	require.Len(t, dups, 2, "b duplicates a's blocks of piece 0 (it lacks piece 1)")
	assert.Empty(t, pk.Pick(b, 10, nil), "never the same block twice to one peer")

	rc := pk.BlockReceived(b, dups[0])
	assert.True(t, rc.Wanted)
	assert.Equal(t, []*Peer{a}, rc.Cancel, "a's copy of the request is cancelled")
	assert.Len(t, pk.Requests(a, nil), 2, "a keeps its other blocks")
	assert.False(t, pk.BlockReceived(a, dups[0]).Wanted, "a's late copy is a duplicate")

	rc = pk.BlockReceived(a, dups[1])
	assert.Equal(t, []*Peer{b}, rc.Cancel)
	assert.True(t, rc.PieceDone)
	assert.Empty(t, pk.PieceVerified(0))
	assert.Empty(t, pk.Requests(b, nil))
}

func TestEndgameIgnoresPiecesNobodyHas(t *testing.T) {
	pk := newTest(t, 100, 100)
	a := seedPeer(pk, 0)
	b := seedPeer(pk, 0)
	pk.SetPriority(0, Normal)
	pk.SetPriority(1, Normal) // no peer has it
	require.Len(t, pk.Pick(a, 1, nil), 1)
	assert.True(t, pk.Endgame())
	assert.Len(t, pk.Pick(b, 1, nil), 1)
}

func TestEndgameLimitsRequesters(t *testing.T) {
	pk := newTest(t, 100)
	pk.SetPriority(0, Normal)
	var got int
	for range 4 {
		got += len(pk.Pick(seedPeer(pk, 0), 1, nil))
	}
	assert.Equal(t, 2, got, "one request and one duplicate (EndgameRequesters defaults to 2)")
}

func TestBlockStateIsLazy(t *testing.T) {
	pk := newTest(t, 1_500_000_000, 100)
	pk.SetPriority(0, Normal)
	assert.Nil(t, pk.states[0], "a wanted piece untouched has no block state")
	p := seedPeer(pk, 0)
	got := pk.Pick(p, 3, nil)
	require.Len(t, got, 3)
	require.NotNil(t, pk.states[0])
	assert.Len(t, pk.states[0].blocks, 91553)
	for _, r := range got {
		require.True(t, pk.Reject(p, r))
	}
	assert.Nil(t, pk.states[0], "the state goes when nothing is requested or received")
	assert.Empty(t, pk.pool, "huge block state is not kept with small ones")
	assert.Len(t, pk.bigPool, 1, "but kept within the big pool's budget")
	got = pk.Pick(p, 99, nil)
	assert.Equal(t, []int{0}, pieces(got))
	assert.Empty(t, pk.bigPool, "reused")
}

func TestAvailabilityCounts(t *testing.T) {
	pk := newTest(t, 100, 100, 100)
	a := pk.AddPeer()
	b := pk.AddPeer()
	bf := bitfield.New(3)
	bf.Set(0)
	bf.Set(2)
	require.NoError(t, pk.PeerBitfield(a, bf))
	pk.PeerHave(a, 2) // repeated: no change
	pk.PeerHave(b, 2)
	pk.PeerHave(b, 7) // out of range: ignored
	assert.Equal(t, []int{1, 0, 2}, []int{pk.Availability(0), pk.Availability(1), pk.Availability(2)})

	s := pk.AddPeer()
	pk.PeerHave(s, 1)
	pk.PeerHaveAll(s)
	assert.Equal(t, []int{2, 1, 3}, []int{pk.Availability(0), pk.Availability(1), pk.Availability(2)})

	pk.RemovePeer(a)
	pk.RemovePeer(s)
	pk.RemovePeer(s) // twice: no effect
	assert.Equal(t, []int{0, 0, 1}, []int{pk.Availability(0), pk.Availability(1), pk.Availability(2)})

	require.Error(t, pk.PeerBitfield(b, bitfield.New(4)), "wrong length")
	pk.PeerHaveNone(b)
	assert.Equal(t, 0, pk.Availability(2))
}

func TestWantedPieceMovesWithAvailability(t *testing.T) {
	pk := newTest(t, 100, 100)
	pk.SetPriority(0, Normal)
	pk.SetPriority(1, Normal)
	a := seedPeer(pk, 0, 1)
	b := seedPeer(pk, 0)
	c := seedPeer(pk, 0)
	// Piece 1 (one peer) is rarer than piece 0 (three peers)...
	got := pk.Pick(a, 1, nil)
	assert.Equal(t, []int{1}, pieces(got))
	require.True(t, pk.Reject(a, got[0]))
	// ...until b and c leave and two peers with piece 1 come.
	pk.RemovePeer(b)
	pk.RemovePeer(c)
	seedPeer(pk, 1)
	seedPeer(pk, 1)
	assert.Equal(t, []int{0}, pieces(pk.Pick(a, 1, nil)), "piece 0 is now the rarer")
}

func TestChokingPeerServesOnlyAllowedFast(t *testing.T) {
	pk := newTest(t, 100, 100, 100)
	p := pk.AddPeer()
	pk.PeerHaveAll(p)
	for i := range 3 {
		pk.SetPriority(i, Normal)
	}
	assert.True(t, p.Choking(), "peers start choking")
	assert.Empty(t, pk.Pick(p, 5, nil))
	pk.AllowFast(p, 2)
	pk.AllowFast(p, 2)
	assert.Equal(t, []int{2}, pieces(pk.Pick(p, 5, nil)))
	pk.SetChoking(p, false)
	assert.ElementsMatch(t, []int{0, 1}, pieces(pk.Pick(p, 5, nil)))
}

func TestRequestsReturnToThePool(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(pk *Picker, p *Peer, got []Request)
	}{
		{"remove peer", func(pk *Picker, p *Peer, _ []Request) { pk.RemovePeer(p) }},
		{"drop requests", func(pk *Picker, p *Peer, _ []Request) { assert.Equal(t, 3, pk.DropRequests(p)) }},
		{"reject", func(pk *Picker, p *Peer, got []Request) {
			for _, r := range got {
				assert.True(t, pk.Reject(p, r))
			}
		}},
		{"cancel", func(pk *Picker, p *Peer, got []Request) {
			for _, r := range got {
				assert.True(t, pk.Cancel(p, r))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pk := newTest(t, 3*BlockSize)
			pk.SetPriority(0, Normal)
			a := seedPeer(pk, 0)
			got := pk.Pick(a, 3, nil)
			require.Len(t, got, 3)
			tc.leave(pk, a, got)
			b := seedPeer(pk, 0)
			assert.ElementsMatch(t, got, pk.Pick(b, 3, nil), "the blocks went back to the pool")
		})
	}
}

func TestRejectOfUnknownRequest(t *testing.T) {
	pk := newTest(t, 2*BlockSize)
	pk.SetPriority(0, Normal)
	a := seedPeer(pk, 0)
	b := seedPeer(pk, 0)
	got := pk.Pick(a, 1, nil)
	require.Len(t, got, 1)
	assert.False(t, pk.Reject(b, got[0]), "b never had it")
	assert.False(t, pk.Reject(a, Request{Piece: 0, Begin: 5, Length: 10}), "malformed")
	assert.False(t, pk.Reject(a, Request{Piece: 9, Length: 10}), "no such piece")
	assert.Len(t, pk.Requests(a, nil), 1)
}

func TestBlockReceived(t *testing.T) {
	pk := newTest(t, BlockSize+50, 100)
	pk.SetPriority(0, Normal)
	a := seedPeer(pk, 0, 1)
	b := seedPeer(pk, 0)
	got := pk.Pick(a, 2, nil)
	require.Len(t, got, 2)

	for _, r := range []Request{
		{Piece: 0, Begin: 0, Length: 100}, // wrong length
		{Piece: 0, Begin: 7, Length: 50},  // unaligned
		{Piece: 2, Begin: 0, Length: 100}, // no such piece
		{Piece: 1, Begin: 0, Length: 100}, // not wanted
		{Piece: 0, Begin: BlockSize, Length: 49},
	} {
		assert.False(t, pk.BlockReceived(a, r).Wanted, "%v", r)
	}
	// b answers a's request: a should cancel.
	rc := pk.BlockReceived(b, got[1])
	assert.True(t, rc.Wanted)
	assert.Equal(t, []*Peer{a}, rc.Cancel)
	assert.False(t, rc.PieceDone)
	rc = pk.BlockReceived(a, got[0])
	assert.True(t, rc.Wanted)
	assert.Empty(t, rc.Cancel)
	assert.True(t, rc.PieceDone)
	assert.Empty(t, pk.Requests(a, nil))
}

func TestUnsolicitedBlockOfWantedPieceIsKept(t *testing.T) {
	pk := newTest(t, 2*BlockSize)
	pk.SetPriority(0, Normal)
	p := seedPeer(pk, 0)
	rc := pk.BlockReceived(p, Request{Piece: 0, Begin: BlockSize, Length: BlockSize})
	assert.True(t, rc.Wanted)
	assert.Equal(t, []Request{{Piece: 0, Length: BlockSize}}, pk.Pick(p, 5, nil))
}

func TestPieceFailedNamesSendersAndReturnsThePiece(t *testing.T) {
	pk := newTest(t, 3*BlockSize+10)
	pk.SetPriority(0, Normal)
	a := seedPeer(pk, 0)
	b := seedPeer(pk, 0)
	ga := pk.Pick(a, 2, nil)
	gb := pk.Pick(b, 2, nil)
	require.Len(t, ga, 2)
	require.Len(t, gb, 2)
	pk.BlockReceived(a, ga[0])
	pk.BlockReceived(a, ga[1])
	pk.BlockReceived(b, gb[0])
	rc := pk.BlockReceived(b, gb[1])
	require.True(t, rc.PieceDone)
	assert.Len(t, pk.Senders(0), 2)

	senders := pk.PieceFailed(0)
	assert.Equal(t, []PeerBlocks{
		{Peer: a, Request: Request{Piece: 0, Begin: 0, Length: 2 * BlockSize}},
		{Peer: b, Request: Request{Piece: 0, Begin: 2 * BlockSize, Length: BlockSize + 10}},
	}, senders)
	assert.False(t, pk.HavePiece(0))
	assert.Len(t, pk.Pick(a, 10, nil), 4, "the whole piece is back in the pool")
	assert.Nil(t, pk.PieceFailed(1), "no such piece")
}

func TestPieceVerifiedReturnsOutstandingRequests(t *testing.T) {
	pk := newTest(t, 2*BlockSize)
	pk.SetUrgent(0, time.Time{})
	p := seedPeer(pk, 0)
	got := pk.Pick(p, 2, nil)
	require.Len(t, got, 2)
	// The piece arrived by another way (say, imported from APT's cache).
	c := pk.PieceVerified(0)
	assert.Equal(t, []PeerBlocks{{Peer: p, Request: Request{Piece: 0, Length: 2 * BlockSize}}}, c)
	assert.True(t, pk.HavePiece(0))
	assert.Empty(t, pk.Requests(p, nil))
	assert.Nil(t, pk.PieceVerified(0), "twice: nothing")
	assert.False(t, pk.Interesting(p))
}

func TestInterestFollowsWants(t *testing.T) {
	pk := newTest(t, 100, 100)
	p := seedPeer(pk, 1)
	s := seedPeer(pk)
	pk.PeerHaveAll(s)
	assert.False(t, pk.Interesting(p))
	assert.False(t, pk.Interesting(s))
	assert.False(t, pk.PeerHave(p, 0), "piece 0 not wanted")
	pk.SetPriority(1, High)
	assert.True(t, pk.Interesting(p))
	assert.True(t, pk.Interesting(s))
	pk.PieceVerified(1)
	assert.False(t, pk.Interesting(p))
	pk.SetPriority(0, Normal)
	assert.True(t, pk.Interesting(p))
}

func TestPriorityChangesMovePieces(t *testing.T) {
	pk := newTest(t, 3*BlockSize, 100, 100)
	p := seedPeer(pk, 0, 1, 2)
	pk.SetPriority(0, Normal)
	pk.SetPriority(1, Normal)
	pk.SetPriority(2, High)
	got := pk.Pick(p, 1, nil)
	assert.Equal(t, []int{2}, pieces(got), "high first")
	got = pk.Pick(p, 1, nil)
	require.Len(t, got, 1)
	started := got[0].Piece
	// Promote and demote pieces in progress and untouched.
	pk.SetUrgent(1-started, time.Unix(5, 0))
	pk.SetUrgent(started, time.Unix(6, 0))
	pk.SetPriority(2, None)
	require.NoError(t, pk.check())
	got = pk.Pick(p, 10, nil)
	if started == 0 {
		assert.Equal(t, []int{1, 0}, pieces(got))
	} else {
		assert.Equal(t, []int{0}, pieces(got))
	}
	pk.SetPriority(0, Normal)
	pk.SetPriority(1, High)
	require.NoError(t, pk.check())
}
