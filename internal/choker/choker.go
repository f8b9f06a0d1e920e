// Package choker decides which peers to upload to: BitTorrent's choking
// policy as a pure function.
//
// The engine calls Choose every 10 seconds (Config.Round) with the current
// time, its peers seen through the small Peer interface, the State returned by
// the previous call and a random source, and applies the Decision: unchoke the
// peers it names, choke every other. Nothing here keeps time or state of its
// own, so tests drive it round by round with a seeded random source.
//
// Leeching, the regular slots go tit-for-tat to the interested peers that
// upload to us fastest, except snubbed ones. Seeding, they go to the peers we
// upload to fastest, with one slot per round rotated to the interested peer
// that has waited longest, so every interested peer is served in turn. In
// both modes one optimistic slot goes to a random interested peer and moves
// every OptimisticPeriod, with new peers NewPeerWeight times as likely to get
// it.
package choker

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// Peer is what the choker needs to know of one connected peer.
type Peer interface {
	// Interested reports whether the peer wants data we have.
	Interested() bool
	// DownloadRate is how fast the peer sends us piece data recently, in
	// bytes per second (a rolling average over ~20 s).
	DownloadRate() float64
	// UploadRate is how fast we send the peer piece data recently.
	UploadRate() float64
	// LastBlockAt is when the peer last sent us a block (zero: never).
	LastBlockAt() time.Time
	// ConnectedAt is when the connection was established.
	ConnectedAt() time.Time
	// Unchoked reports whether we unchoke the peer now.
	Unchoked() bool
	// UnchokedAt is when we last unchoked the peer (zero: never).
	UnchokedAt() time.Time
	// Optimistic reports whether the peer holds the optimistic slot, as the
	// previous Decision said.
	Optimistic() bool
}

// Config holds the policy's numbers. DefaultConfig gives the classic ones.
type Config struct {
	// Round is how often the engine calls Choose (documentation for the
	// engine; Choose itself works from now).
	Round time.Duration
	// RegularSlots is how many peers are unchoked on merit.
	RegularSlots int
	// OptimisticPeriod is how long the optimistic slot stays with one peer.
	OptimisticPeriod time.Duration
	// NewPeerAge: a peer connected for less than this is new.
	NewPeerAge time.Duration
	// NewPeerWeight is how many times likelier a new peer is to get the
	// optimistic slot than an old one.
	NewPeerWeight int
	// SnubTimeout: an unchoked peer that has sent no block for this long is
	// snubbed and loses its regular slot while leeching.
	SnubTimeout time.Duration
}

// DefaultConfig returns 4 regular slots and 1 optimistic slot, rounds of 10 s,
// an optimistic period of 30 s (3 rounds), new peers (under a minute) three
// times as likely to be picked optimistically, and a 60 s snub timeout.
func DefaultConfig() Config {
	return Config{
		Round:            10 * time.Second,
		RegularSlots:     4,
		OptimisticPeriod: 30 * time.Second,
		NewPeerAge:       time.Minute,
		NewPeerWeight:    3,
		SnubTimeout:      time.Minute,
	}
}

// State is what Choose remembers between rounds. The zero value starts fresh.
type State struct {
	// OptimisticSince is when the optimistic slot last moved.
	OptimisticSince time.Time
}

// Decision is the outcome of one round: indexes into the peers given to
// Choose. Every peer not named is to be choked.
type Decision struct {
	// Regular are the peers unchoked on merit, best first.
	Regular []int
	// Optimistic is the peer holding the optimistic slot, or -1.
	Optimistic int
	// State is to be passed to the next call.
	State State
}

// Unchoked reports whether the decision unchokes peer i.
func (d Decision) Unchoked(i int) bool {
	return i == d.Optimistic || slices.Contains(d.Regular, i)
}

// Snubbed reports whether p, unchoked by us, has sent nothing for timeout:
// counted from its last block, or from when it was unchoked or connected if
// later, so that a freshly unchoked peer is given its chance.
func Snubbed(p Peer, now time.Time, timeout time.Duration) bool {
	if !p.Unchoked() {
		return false
	}
	last := p.ConnectedAt()
	for _, t := range []time.Time{p.LastBlockAt(), p.UnchokedAt()} {
		if t.After(last) {
			last = t
		}
	}
	return now.Sub(last) >= timeout
}

// Choose decides one round. seeding selects the seeding policy (we have every
// piece and download nothing). rng breaks ties and picks the optimistic peer.
func Choose(now time.Time, peers []Peer, seeding bool, st State, rng *rand.Rand, cfg Config) Decision {
	// Shuffle first so that ties in the stable sorts below fall randomly
	// rather than by the engine's order.
	order := rng.Perm(len(peers))
	var candidates []int
	for _, i := range order {
		if peers[i].Interested() {
			candidates = append(candidates, i)
		}
	}
	var regular []int
	if seeding {
		regular = seedingSlots(now, peers, candidates, cfg.RegularSlots)
	} else {
		regular = leechingSlots(now, peers, candidates, cfg)
	}
	d := Decision{Regular: regular, Optimistic: -1, State: st}
	d.Optimistic, d.State.OptimisticSince = optimistic(now, peers, candidates, regular, st, rng, cfg)
	return d
}

// leechingSlots ranks interested, unsnubbed peers by how fast they send to us.
func leechingSlots(now time.Time, peers []Peer, candidates []int, cfg Config) []int {
	var ok []int
	for _, i := range candidates {
		if !Snubbed(peers[i], now, cfg.SnubTimeout) {
			ok = append(ok, i)
		}
	}
	slices.SortStableFunc(ok, func(a, b int) int {
		return cmp.Compare(peers[b].DownloadRate(), peers[a].DownloadRate())
	})
	return ok[:min(len(ok), cfg.RegularSlots)]
}

// seedingSlots gives all but one slot to the peers we upload to fastest and
// the last one to the interested peer served least recently (never first; a
// peer unchoked now counts as served now): one slot rotates each round, so
// every interested peer is served in turn.
func seedingSlots(now time.Time, peers []Peer, candidates []int, slots int) []int {
	if slots <= 0 || len(candidates) == 0 {
		return nil
	}
	byRate := slices.Clone(candidates)
	slices.SortStableFunc(byRate, func(a, b int) int {
		return cmp.Compare(peers[b].UploadRate(), peers[a].UploadRate())
	})
	regular := byRate[:min(len(byRate), slots-1)]
	waiting := byRate[len(regular):]
	if len(waiting) == 0 {
		return regular
	}
	servedAt := func(i int) time.Time {
		if peers[i].Unchoked() {
			return now
		}
		return peers[i].UnchokedAt()
	}
	longest := slices.MinFunc(waiting, func(a, b int) int {
		return servedAt(a).Compare(servedAt(b))
	})
	return append(regular, longest)
}

// optimistic keeps the optimistic peer for OptimisticPeriod, then (or when it
// leaves, loses interest or earns a regular slot) picks another at random
// among the interested peers without a regular slot, new peers weighted.
func optimistic(now time.Time, peers []Peer, candidates, regular []int, st State, rng *rand.Rand, cfg Config) (int, time.Time) {
	current := -1
	var pool []int
	for _, i := range candidates {
		if slices.Contains(regular, i) {
			continue
		}
		if peers[i].Optimistic() {
			current = i
		}
		pool = append(pool, i)
	}
	if current >= 0 && now.Sub(st.OptimisticSince) < cfg.OptimisticPeriod {
		return current, st.OptimisticSince
	}
	if current >= 0 && len(pool) > 1 {
		// Rotating: the slot moves to someone else.
		pool = slices.DeleteFunc(pool, func(i int) bool { return i == current })
	}
	if len(pool) == 0 {
		return -1, st.OptimisticSince
	}
	weight := func(i int) int {
		if now.Sub(peers[i].ConnectedAt()) < cfg.NewPeerAge {
			return max(cfg.NewPeerWeight, 1)
		}
		return 1
	}
	total := 0
	for _, i := range pool {
		total += weight(i)
	}
	pick := rng.IntN(total)
	for _, i := range pool {
		if pick -= weight(i); pick < 0 {
			return i, now
		}
	}
	return pool[len(pool)-1], now // unreachable: the weights sum to total
}
