package tracker

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSwarmAgainstModel drives a swarm with random adds, touches and
// removals and checks it against a plain slice kept in last-seen order.
func TestSwarmAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sw := newSwarm()
	var model []*swarmPeer // oldest first
	now := time.Unix(0, 0)
	for step := range 2000 {
		now = now.Add(time.Second)
		switch op := rng.IntN(3); {
		case op == 0 || len(model) == 0:
			p := &swarmPeer{addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(step >> 8), byte(step)}), 1), seed: rng.IntN(2) == 0, lastSeen: now}
			sw.add(p)
			model = append(model, p)
		case op == 1:
			p := model[rng.IntN(len(model))]
			sw.touch(p, now, rng.IntN(2) == 0)
			model = append(slices.DeleteFunc(model, func(q *swarmPeer) bool { return q == p }), p)
		default:
			p := model[rng.IntN(len(model))]
			sw.remove(p)
			model = slices.DeleteFunc(model, func(q *swarmPeer) bool { return q == p })
		}
		require.Equal(t, len(model), sw.len())
		want, got := []netip.AddrPort{}, []netip.AddrPort{}
		for _, p := range model {
			want = append(want, p.addr)
		}
		for p := sw.oldest; p != nil; p = p.next {
			got = append(got, p.addr)
		}
		require.Equal(t, want, got, "step %d: last-seen order", step)
		if len(model) > 0 {
			require.Same(t, model[len(model)-1], sw.newest)
		}
		seeds := 0
		for i, p := range sw.all {
			require.Equal(t, i, p.index)
			require.Same(t, p, sw.byAddr[p.addr])
			if p.seed {
				seeds++
			}
		}
		require.Equal(t, seeds, sw.seeders)
	}
}
