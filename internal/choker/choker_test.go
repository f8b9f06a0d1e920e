package choker

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// fakePeer is a Peer whose every answer the test sets.
type fakePeer struct {
	name        string
	interested  bool
	down, up    float64
	lastBlock   time.Time
	connectedAt time.Time
	unchoked    bool
	unchokedAt  time.Time
	optimistic  bool
}

func (p *fakePeer) Interested() bool       { return p.interested }
func (p *fakePeer) DownloadRate() float64  { return p.down }
func (p *fakePeer) UploadRate() float64    { return p.up }
func (p *fakePeer) LastBlockAt() time.Time { return p.lastBlock }
func (p *fakePeer) ConnectedAt() time.Time { return p.connectedAt }
func (p *fakePeer) Unchoked() bool         { return p.unchoked }
func (p *fakePeer) UnchokedAt() time.Time  { return p.unchokedAt }
func (p *fakePeer) Optimistic() bool       { return p.optimistic }

var t0 = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func asPeers(fs []*fakePeer) []Peer {
	out := make([]Peer, len(fs))
	for i, f := range fs {
		out[i] = f
	}
	return out
}

// names returns the names of the peers at indexes, sorted.
func names(fs []*fakePeer, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, fs[i].name)
	}
	slices.Sort(out)
	return out
}

// apply does what the engine does with a decision.
func apply(now time.Time, fs []*fakePeer, d Decision) {
	for i, f := range fs {
		un := d.Unchoked(i)
		if un && !f.unchoked {
			f.unchokedAt = now
		}
		f.unchoked = un
		f.optimistic = i == d.Optimistic
	}
}

// old returns an interested peer connected long ago.
func old(name string, down, up float64) *fakePeer {
	return &fakePeer{name: name, interested: true, down: down, up: up, connectedAt: t0.Add(-time.Hour), lastBlock: t0.Add(-time.Second)}
}

func TestRegularSlots(t *testing.T) {
	notInterested := old("lazy", 1000, 1000)
	notInterested.interested = false
	snubbed := old("snub", 900, 0)
	snubbed.unchoked, snubbed.unchokedAt, snubbed.lastBlock = true, t0.Add(-5*time.Minute), t0.Add(-61*time.Second)
	justUnchoked := old("fresh", 5, 0)
	justUnchoked.unchoked, justUnchoked.unchokedAt, justUnchoked.lastBlock = true, t0.Add(-10*time.Second), time.Time{}
	chokedQuiet := old("quiet", 800, 0)
	chokedQuiet.lastBlock = t0.Add(-10 * time.Minute) // not unchoked, so not snubbed

	tests := []struct {
		name    string
		peers   []*fakePeer
		seeding bool
		want    []string
	}{
		{
			name:  "leeching: the four fastest uploaders to us",
			peers: []*fakePeer{old("a", 10, 0), old("b", 50, 0), old("c", 30, 0), old("d", 40, 0), old("e", 20, 0), old("f", 1, 0)},
			want:  []string{"b", "c", "d", "e"},
		},
		{
			name:  "leeching: peers not interested get no slot however fast",
			peers: []*fakePeer{notInterested, old("a", 10, 0), old("b", 5, 0)},
			want:  []string{"a", "b"},
		},
		{
			name:  "leeching: a snubbed peer loses its slot",
			peers: []*fakePeer{snubbed, old("a", 10, 0), old("b", 5, 0), old("c", 4, 0), old("d", 3, 0)},
			want:  []string{"a", "b", "c", "d"},
		},
		{
			name:  "leeching: a peer unchoked 10 s ago is not snubbed yet",
			peers: []*fakePeer{justUnchoked, old("a", 10, 0), old("b", 5, 0), old("c", 4, 0)},
			want:  []string{"a", "b", "c", "fresh"},
		},
		{
			name:  "leeching: a choked quiet peer is not snubbed",
			peers: []*fakePeer{chokedQuiet, old("a", 10, 0), old("b", 5, 0), old("c", 4, 0), old("d", 3, 0)},
			want:  []string{"a", "b", "c", "quiet"},
		},
		{
			name:    "seeding: three fastest downloaders from us plus the longest waiting",
			peers:   []*fakePeer{old("a", 0, 10), old("b", 0, 50), old("c", 0, 30), old("d", 0, 40), old("e", 0, 20)},
			seeding: true,
			// b, c, d by rate; a and e were never unchoked, a tie broken at random.
		},
		{
			name:    "seeding: download rate does not count",
			peers:   []*fakePeer{old("a", 999, 1), old("b", 0, 50), old("c", 0, 30), old("d", 0, 40), old("e", 0, 20)},
			seeding: true,
			// a only as the rotation slot, as e might be.
		},
		{
			name:    "nobody interested: nobody unchoked",
			peers:   []*fakePeer{notInterested},
			seeding: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			d := Choose(t0, asPeers(tt.peers), tt.seeding, State{}, rng, DefaultConfig())
			got := names(tt.peers, d.Regular)
			if tt.seeding && len(tt.peers) == 5 {
				// The rotation slot goes to a or e, the two never unchoked.
				if len(got) != 4 || !slices.Contains(got, "b") || !slices.Contains(got, "c") || !slices.Contains(got, "d") ||
					!slices.Contains(got, "a") && !slices.Contains(got, "e") {
					t.Errorf("regular = %v, want b, c, d and one of a, e", got)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("regular = %v, want %v", got, tt.want)
			}
			if slices.Contains(d.Regular, d.Optimistic) {
				t.Errorf("optimistic peer %d is also regular", d.Optimistic)
			}
		})
	}
}

func TestSnubbed(t *testing.T) {
	tests := []struct {
		name string
		p    fakePeer
		want bool
	}{
		{"choked peers are never snubbed", fakePeer{connectedAt: t0.Add(-time.Hour)}, false},
		{"unchoked, no block for 60 s", fakePeer{unchoked: true, connectedAt: t0.Add(-time.Hour), unchokedAt: t0.Add(-2 * time.Minute), lastBlock: t0.Add(-60 * time.Second)}, true},
		{"unchoked, block 59 s ago", fakePeer{unchoked: true, connectedAt: t0.Add(-time.Hour), unchokedAt: t0.Add(-2 * time.Minute), lastBlock: t0.Add(-59 * time.Second)}, false},
		{"unchoked 30 s ago, never sent", fakePeer{unchoked: true, connectedAt: t0.Add(-time.Hour), unchokedAt: t0.Add(-30 * time.Second)}, false},
		{"connected 30 s ago, never sent", fakePeer{unchoked: true, connectedAt: t0.Add(-30 * time.Second)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Snubbed(&tt.p, t0, time.Minute); got != tt.want {
				t.Errorf("Snubbed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSnubbedPeerMayBeOptimistic(t *testing.T) {
	snub := old("snub", 900, 0)
	snub.unchoked, snub.unchokedAt, snub.lastBlock = true, t0.Add(-5*time.Minute), t0.Add(-2*time.Minute)
	fs := []*fakePeer{snub, old("a", 10, 0), old("b", 5, 0), old("c", 4, 0), old("d", 3, 0)}
	d := Choose(t0, asPeers(fs), false, State{}, rand.New(rand.NewPCG(3, 4)), DefaultConfig())
	if got := names(fs, d.Regular); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("regular = %v, want a, b, c, d", got)
	}
	if d.Optimistic != 0 {
		t.Errorf("optimistic = %d, want 0: the only peer left over is the snubbed one", d.Optimistic)
	}
}

func TestOptimisticRotatesEveryThreeRounds(t *testing.T) {
	cfg := DefaultConfig()
	// Four fast peers fill the regular slots; five slow ones share the
	// optimistic slot.
	fs := []*fakePeer{old("r1", 100, 0), old("r2", 90, 0), old("r3", 80, 0), old("r4", 70, 0)}
	for _, n := range []string{"o1", "o2", "o3", "o4", "o5"} {
		fs = append(fs, old(n, 0, 0))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var st State
	var holders []int
	for round := range 12 {
		now := t0.Add(time.Duration(round) * cfg.Round)
		for _, f := range fs[:4] {
			f.lastBlock = now // the fast peers keep sending
		}
		d := Choose(now, asPeers(fs), false, st, rng, cfg)
		if d.Optimistic < 4 {
			t.Fatalf("round %d: optimistic slot went to peer %d, not one of the slow ones", round, d.Optimistic)
		}
		apply(now, fs, d)
		st = d.State
		holders = append(holders, d.Optimistic)
	}
	for round := range holders {
		if round%3 == 0 {
			if round > 0 && holders[round-1] == holders[round] {
				t.Errorf("round %d: slot did not move after 30 s: %v", round, holders)
			}
			continue
		}
		if holders[round-1] != holders[round] {
			t.Errorf("round %d: slot moved before 30 s: %v", round, holders)
		}
	}
}

func TestOptimisticMovesWhenHolderLeaves(t *testing.T) {
	fs := []*fakePeer{old("a", 0, 0), old("b", 0, 0)}
	fs[0].optimistic, fs[0].unchoked = true, true
	cfg := DefaultConfig()
	cfg.RegularSlots = 0
	st := State{OptimisticSince: t0.Add(-10 * time.Second)}
	d := Choose(t0, asPeers(fs), false, st, rand.New(rand.NewPCG(1, 1)), cfg)
	if d.Optimistic != 0 {
		t.Errorf("optimistic = %d, want 0: kept within its period", d.Optimistic)
	}
	fs[0].interested = false
	d = Choose(t0, asPeers(fs), false, st, rand.New(rand.NewPCG(1, 1)), cfg)
	if d.Optimistic != 1 || !d.State.OptimisticSince.Equal(t0) {
		t.Errorf("optimistic = %d since %v, want 1 since %v: moved once the holder lost interest", d.Optimistic, d.State.OptimisticSince, t0)
	}
}

func TestNewPeersThreeTimesLikelierOptimistic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RegularSlots = 0
	newPeer := old("new", 0, 0)
	newPeer.connectedAt = t0.Add(-30 * time.Second)
	fs := []*fakePeer{newPeer, old("a", 0, 0), old("b", 0, 0), old("c", 0, 0)}
	rng := rand.New(rand.NewPCG(7, 8))
	const trials = 30000
	picks := make([]int, len(fs))
	for range trials {
		d := Choose(t0, asPeers(fs), false, State{}, rng, cfg)
		picks[d.Optimistic]++
	}
	// Weights 3:1:1:1, so the new peer should win half the time and each old
	// one a sixth. Three standard deviations are below 0.01.
	near := func(got, want, delta float64) bool { return got >= want-delta && got <= want+delta }
	if f := float64(picks[0]) / trials; !near(f, 0.5, 0.015) {
		t.Errorf("new peer picked %.3f of the time, want 0.5 (picks %v)", f, picks)
	}
	for i := 1; i < len(fs); i++ {
		if f := float64(picks[i]) / trials; !near(f, 1.0/6, 0.015) {
			t.Errorf("old peer %d picked %.3f of the time, want 0.167 (picks %v)", i, f, picks)
		}
	}
	oldMean := float64(picks[1]+picks[2]+picks[3]) / 3
	if r := float64(picks[0]) / oldMean; !near(r, 3, 0.2) {
		t.Errorf("new/old ratio %.2f, want 3", r)
	}
}

func TestSeedingServesEveryInterestedPeer(t *testing.T) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(9, 10))
	// Twelve interested peers of very different speeds: without rotation the
	// three fastest and the optimistic slot would starve the rest.
	var fs []*fakePeer
	for i := range 12 {
		fs = append(fs, old(string(rune('a'+i)), 0, 0))
	}
	capacity := func(i int) float64 { return float64(1000 * (i + 1)) }
	var st State
	lastServed := make([]int, len(fs))
	for i := range lastServed {
		lastServed[i] = -1
	}
	maxGap := 0
	const rounds = 60
	for round := range rounds {
		now := t0.Add(time.Duration(round) * cfg.Round)
		d := Choose(now, asPeers(fs), true, st, rng, cfg)
		if len(d.Regular) > cfg.RegularSlots {
			t.Fatalf("round %d: %d regular slots", round, len(d.Regular))
		}
		apply(now, fs, d)
		st = d.State
		for i, f := range fs {
			if f.unchoked {
				f.up = capacity(i) // a served peer shows its speed
				maxGap = max(maxGap, round-lastServed[i])
				lastServed[i] = round
			} else {
				f.up /= 2 // rates decay while choked
			}
		}
	}
	for i, r := range lastServed {
		if r <= rounds-len(fs) {
			t.Errorf("peer %s last served in round %d, not in the last %d rounds", fs[i].name, r, len(fs))
		}
	}
	// With one rotating slot among 12 peers, nobody waits more than 12 rounds.
	if maxGap > len(fs) {
		t.Errorf("a peer waited %d rounds between services, want at most %d", maxGap, len(fs))
	}
}

func TestDecisionUnchoked(t *testing.T) {
	d := Decision{Regular: []int{1, 3}, Optimistic: 5}
	for i, want := range []bool{false, true, false, true, false, true} {
		if got := d.Unchoked(i); got != want {
			t.Errorf("Unchoked(%d) = %v, want %v", i, got, want)
		}
	}
}
