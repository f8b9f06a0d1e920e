package choker_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/debtorrent/debtorrent/internal/choker"
)

// peer is how an engine might expose its connections to the choker.
type peer struct {
	name       string
	interested bool
	down, up   float64
	connected  time.Time
	lastBlock  time.Time
	unchoked   bool
	unchokedAt time.Time
	optimistic bool
}

func (p *peer) Interested() bool       { return p.interested }
func (p *peer) DownloadRate() float64  { return p.down }
func (p *peer) UploadRate() float64    { return p.up }
func (p *peer) LastBlockAt() time.Time { return p.lastBlock }
func (p *peer) ConnectedAt() time.Time { return p.connected }
func (p *peer) Unchoked() bool         { return p.unchoked }
func (p *peer) UnchokedAt() time.Time  { return p.unchokedAt }
func (p *peer) Optimistic() bool       { return p.optimistic }

// One round of the choker while leeching: the four peers that send us the
// most are unchoked, one more peer gets the optimistic slot.
func ExampleChoose() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	hourAgo := now.Add(-time.Hour)
	peers := []*peer{
		{name: "fast", interested: true, down: 900e3, connected: hourAgo},
		{name: "good", interested: true, down: 500e3, connected: hourAgo},
		{name: "fair", interested: true, down: 200e3, connected: hourAgo},
		{name: "slow", interested: true, down: 50e3, connected: hourAgo},
		{name: "idle", interested: true, down: 0, connected: hourAgo},
		{name: "seed", interested: false, down: 0, connected: hourAgo},
	}
	in := make([]choker.Peer, len(peers))
	for i, p := range peers {
		in[i] = p
	}
	rng := rand.New(rand.NewPCG(1, 2)) // the engine seeds it once
	d := choker.Choose(now, in, false, choker.State{}, rng, choker.DefaultConfig())
	for _, i := range d.Regular {
		fmt.Println("unchoke", peers[i].name)
	}
	fmt.Println("optimistic", peers[d.Optimistic].name)
	// Keep d.State for the next round, 10 s later.
	// Output:
	// unchoke fast
	// unchoke good
	// unchoke fair
	// unchoke slow
	// optimistic idle
}
