package piecepicker_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/debtorrent/debtorrent/piecepicker"
)

// A download from one peer: APT waits for piece 2, piece 0 is wanted in the
// background, piece 1 not at all.
func Example() {
	lengths := []int64{40_000, 100, 20_000}
	pk, err := piecepicker.New(lengths, piecepicker.Options{Rand: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		panic(err)
	}
	pk.SetPriority(0, piecepicker.Normal)
	pk.SetUrgent(2, time.Now().Add(time.Minute))

	peer := pk.AddPeer() // a connection came up
	pk.PeerHaveAll(peer) // BEP 6 have-all
	fmt.Println("interested:", pk.Interesting(peer))
	pk.SetChoking(peer, false) // it unchoked us

	reqs := pk.Pick(peer, 10, nil)
	fmt.Println("requests:", reqs)

	for _, r := range reqs { // the blocks arrive
		if rc := pk.BlockReceived(peer, r); rc.PieceDone {
			// Hash the piece here; it matched.
			pk.PieceVerified(r.Piece)
			fmt.Println("verified piece", r.Piece)
		}
	}
	fmt.Println("still wanted:", pk.NumWanted())
	// Output:
	// interested: true
	// requests: [2:0+16384 2:16384+3616 0:0+16384 0:16384+16384 0:32768+7232]
	// verified piece 2
	// verified piece 0
	// still wanted: 0
}

// A piece nobody has is fetched whole from a mirror: one GET per .deb.
func ExamplePicker_PickForWeb() {
	pk, err := piecepicker.New([]int64{3_000_000, 50_000}, piecepicker.Options{})
	if err != nil {
		panic(err)
	}
	pk.SetUrgent(1, time.Time{})
	mirror := pk.AddWebSource()

	run, ok := pk.PickForWeb(mirror, 0, piecepicker.Urgent)
	fmt.Println(run, ok)
	for off := run.Begin; off < run.Begin+run.Length; off += piecepicker.BlockSize {
		b := piecepicker.Request{Piece: run.Piece, Begin: off, Length: min(piecepicker.BlockSize, run.Begin+run.Length-off)}
		if pk.BlockReceived(mirror, b).PieceDone {
			fmt.Println("piece", run.Piece, "ready to verify")
		}
	}
	// Output:
	// 1:0+50000 true
	// piece 1 ready to verify
}

// A piece that fails its hash check names who sent what.
func ExamplePicker_PieceFailed() {
	pk, err := piecepicker.New([]int64{2 * piecepicker.BlockSize}, piecepicker.Options{})
	if err != nil {
		panic(err)
	}
	pk.SetPriority(0, piecepicker.High)
	a, b := pk.AddPeer(), pk.AddPeer()
	for _, p := range []*piecepicker.Peer{a, b} {
		pk.PeerHave(p, 0)
		pk.SetChoking(p, false)
	}
	for _, p := range []*piecepicker.Peer{a, b} {
		for _, r := range pk.Pick(p, 1, nil) {
			pk.BlockReceived(p, r)
		}
	}
	for _, s := range pk.PieceFailed(0) {
		fmt.Printf("peer %d sent %v\n", s.Peer.ID(), s.Request)
	}
	// Output:
	// peer 1 sent 0:0+16384
	// peer 2 sent 0:16384+16384
}
