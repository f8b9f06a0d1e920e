package piecepicker_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// A Debian-sized torrent: one piece per package of bookworm main amd64.
const (
	benchPieces = 63440
	benchPeers  = 200
	benchWanted = 300
	benchUrgent = 10
)

// debianLengths synthesises package sizes: lognormal with a median of 59 KB
// and a 90th percentile of 1.45 MB (σ = ln(1.45e6/59e3)/1.2816), clamped to
// 100 B .. 1.5 GB.
func debianLengths(rng *rand.Rand, n int) []int64 {
	sigma := math.Log(1.45e6/59e3) / 1.2816
	out := make([]int64, n)
	for i := range out {
		v := 59e3 * math.Exp(sigma*rng.NormFloat64())
		out[i] = int64(min(max(v, 100), 1.5e9))
	}
	return out
}

// swarmFixture is the costly part of a benchmark swarm, built once: piece
// lengths and each peer's bitfield.
type swarmFixture struct {
	lengths []int64
	haves   []*bitfield.Bitfield
}

var (
	fixtureOnce sync.Once
	fixture     swarmFixture
)

// benchFixture returns the shared fixture: benchPeers peers, each having each
// piece with its own probability between 2% and 50%.
func benchFixture() swarmFixture {
	fixtureOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 1))
		fixture.lengths = debianLengths(rng, benchPieces)
		for range benchPeers {
			frac := 0.02 + 0.48*rng.Float64()
			bf := bitfield.New(benchPieces)
			for i := range benchPieces {
				if rng.Float64() < frac {
					bf.Set(i)
				}
			}
			fixture.haves = append(fixture.haves, bf)
		}
	})
	return fixture
}

// benchSwarm builds a picker over the fixture's pieces and unchoked peers,
// with benchWanted pieces chosen at random by seed (the first benchUrgent of
// them urgent), or every piece wanted when all is set.
func benchSwarm(b *testing.B, all bool, seed uint64) (*piecepicker.Picker, []*piecepicker.Peer) {
	b.Helper()
	fx := benchFixture()
	rng := rand.New(rand.NewPCG(seed, 2))
	pk, err := piecepicker.New(fx.lengths, piecepicker.Options{Rand: rng})
	if err != nil {
		b.Fatal(err)
	}
	if all {
		for i := range benchPieces {
			pk.SetPriority(i, piecepicker.Normal)
		}
	} else {
		for k, i := range rng.Perm(benchPieces)[:benchWanted] {
			if k < benchUrgent {
				pk.SetUrgent(i, time.Unix(int64(k), 0))
			} else {
				pk.SetPriority(i, piecepicker.Normal)
			}
		}
	}
	peers := make([]*piecepicker.Peer, benchPeers)
	for k := range peers {
		peers[k] = pk.AddPeer()
		pk.SetChoking(peers[k], false)
		if err := pk.PeerBitfield(peers[k], fx.haves[k]); err != nil {
			b.Fatal(err)
		}
	}
	return pk, peers
}

// benchPickCycle asks each peer in turn for 4 blocks and cancels them, so
// that the swarm stays in the same state; ns/op is one Pick plus the Cancels
// of what it returned.
func benchPickCycle(b *testing.B, all bool) {
	pk, peers := benchSwarm(b, all, 1)
	dst := make([]piecepicker.Request, 0, 4)
	picked := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := peers[i%benchPeers]
		dst = pk.Pick(p, 4, dst[:0])
		picked += len(dst)
		for _, r := range dst {
			pk.Cancel(p, r)
		}
	}
	b.ReportMetric(float64(picked)/float64(b.N), "blocks/pick")
}

// BenchmarkPick: 63,440 pieces, 300 wanted (10 urgent), 200 peers; one
// Pick of 4 blocks plus their 4 Cancels.
func BenchmarkPick(b *testing.B) { benchPickCycle(b, false) }

// BenchmarkPickAllWanted: as BenchmarkPick, every one of the 63,440 pieces
// wanted.
func BenchmarkPickAllWanted(b *testing.B) { benchPickCycle(b, true) }

// benchPickOnly times Pick alone: each peer in turn asks for 4 blocks; every
// 512 picks, outside the timer, all requests go back to the pool.
func benchPickOnly(b *testing.B, all bool) {
	pk, peers := benchSwarm(b, all, 1)
	dst := make([]piecepicker.Request, 0, 4)
	picked := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%512 == 511 {
			b.StopTimer()
			for _, p := range peers {
				pk.DropRequests(p)
			}
			b.StartTimer()
		}
		dst = pk.Pick(peers[i%benchPeers], 4, dst[:0])
		picked += len(dst)
	}
	b.ReportMetric(float64(picked)/float64(b.N), "blocks/pick")
}

// BenchmarkPickOnly: one Pick of 4 blocks in the swarm of BenchmarkPick.
func BenchmarkPickOnly(b *testing.B) { benchPickOnly(b, false) }

// BenchmarkPickOnlyAllWanted: one Pick of 4 blocks, every piece wanted.
func BenchmarkPickOnlyAllWanted(b *testing.B) { benchPickOnly(b, true) }

// BenchmarkPickPipeline keeps up to 16 requests in flight per peer and
// delivers the oldest, verifying complete pieces, as a download does; the
// swarm is rebuilt (outside the timer) when the wanted pieces run out.
// ns/op is one Pick (topping the pipeline up) plus one BlockReceived.
func BenchmarkPickPipeline(b *testing.B) {
	pk, peers := benchSwarm(b, false, 1)
	var dst, out []piecepicker.Request
	rebuilds := uint64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if pk.NumWanted() < benchWanted/2 {
			b.StopTimer()
			rebuilds++
			pk, peers = benchSwarm(b, false, rebuilds)
			b.StartTimer()
		}
		p := peers[i%benchPeers]
		dst = pk.Pick(p, 16-p.NumRequests(), dst[:0])
		out = pk.Requests(p, out[:0])
		if len(out) > 0 {
			if rc := pk.BlockReceived(p, out[0]); rc.PieceDone {
				pk.PieceVerified(out[0].Piece)
			}
		}
	}
}

// benchHave sends have messages, each peer walking its own order through
// all pieces; ns/op is one PeerHave.
func benchHave(b *testing.B, all bool) {
	pk, _ := benchSwarm(b, all, 1)
	rng := rand.New(rand.NewPCG(3, 3))
	order := rng.Perm(benchPieces)
	peers := make([]*piecepicker.Peer, benchPeers)
	fresh := func() {
		for k := range peers {
			if peers[k] != nil {
				pk.RemovePeer(peers[k])
			}
			peers[k] = pk.AddPeer()
		}
	}
	fresh()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % benchPeers
		step := i / benchPeers % benchPieces
		if k == 0 && step == 0 && i > 0 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		pk.PeerHave(peers[k], order[(step+k*317)%benchPieces])
	}
}

// BenchmarkPeerHave: haves into the swarm of BenchmarkPick (few pieces
// wanted: most haves only count).
func BenchmarkPeerHave(b *testing.B) { benchHave(b, false) }

// BenchmarkPeerHaveAllWanted: every piece wanted, so every have moves a
// piece to the next availability bucket.
func BenchmarkPeerHaveAllWanted(b *testing.B) { benchHave(b, true) }

// BenchmarkPeerHaveAll: a BEP 6 have-all and the peer leaving again.
func BenchmarkPeerHaveAll(b *testing.B) {
	pk, _ := benchSwarm(b, false, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p := pk.AddPeer()
		pk.PeerHaveAll(p)
		pk.RemovePeer(p)
	}
}

// BenchmarkPickNothing is Pick's worst case: the peer has one wanted piece,
// fully requested from another peer, so Pick walks every wanted piece and
// returns nothing.
func BenchmarkPickNothing(b *testing.B) {
	pk, peers := benchSwarm(b, false, 1)
	var piece int
	for piece = range benchPieces {
		if pk.Priority(piece) == piecepicker.Normal && pk.NumBlocks(piece) < 64 {
			break
		}
	}
	q := pk.AddPeer()
	pk.SetChoking(q, false)
	pk.PeerHave(q, piece)
	owner := pk.AddPeer()
	pk.SetChoking(owner, false)
	pk.PeerHave(owner, piece)
	pk.Pick(peers[0], 20, nil) // some pieces in progress, as in a download
	for len(pk.Pick(owner, 64, nil)) > 0 {
	}
	if got := pk.Pick(q, 4, nil); len(got) != 0 || pk.Endgame() {
		b.Fatalf("setup: picked %v, endgame %v", got, pk.Endgame())
	}
	dst := make([]piecepicker.Request, 0, 4)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst = pk.Pick(q, 4, dst[:0])
	}
}
