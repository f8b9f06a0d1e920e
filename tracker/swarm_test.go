package tracker

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testSeedEnv names the environment variable that reruns this package's
// seeded random tests with one seed, to replay a failure:
//
//	TRACKER_SEED=7 go test -run TestSwarmAgainstModel ./tracker
const testSeedEnv = "TRACKER_SEED"

// testSeeds returns the seeds a random test runs: defaults, or the one
// named by testSeedEnv.
func testSeeds(t *testing.T, defaults ...uint64) []uint64 {
	v := os.Getenv(testSeedEnv)
	if v == "" {
		return defaults
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a number: %v", testSeedEnv, v, err)
	}
	return []uint64{seed}
}

// TestSwarmAgainstModel drives a swarm with random adds, touches and
// removals from a few hosts and checks it against a plain slice kept in
// last-seen order: the swarm's order, each host's order and count, and the
// hosts filed by count.
func TestSwarmAgainstModel(t *testing.T) {
	for _, seed := range testSeeds(t, 1, 2, 3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Logf("seed %d; replay with %s=%d go test -run TestSwarmAgainstModel ./tracker", seed, testSeedEnv, seed)
			swarmAgainstModel(t, rand.New(rand.NewPCG(seed, 2)))
		})
	}
}

func swarmAgainstModel(t *testing.T, rng *rand.Rand) {
	hosts := []netip.Prefix{
		hostOf(netip.MustParseAddr("10.0.0.1")),
		hostOf(netip.MustParseAddr("10.0.0.2")),
		hostOf(netip.MustParseAddr("2001:db8::1")),
		hostOf(netip.MustParseAddr("2001:db8:0:1::1")),
	}
	sw := newSwarm(hosts[0])
	var model []*swarmPeer // oldest first
	now := time.Unix(0, 0)
	for step := range 2000 {
		now = now.Add(time.Second)
		switch op := rng.IntN(3); {
		case op == 0 || len(model) == 0:
			p := &swarmPeer{addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(step >> 8), byte(step)}), 1), seed: rng.IntN(2) == 0, lastSeen: now}
			sw.add(p, hosts[rng.IntN(len(hosts))])
			model = append(model, p)
		case op == 1:
			p := model[rng.IntN(len(model))]
			sw.touch(p, now, rng.IntN(2) == 0)
			model = append(slices.DeleteFunc(model, func(q *swarmPeer) bool { return q == p }), p)
		default:
			p := model[rng.IntN(len(model))]
			if rng.IntN(2) == 0 {
				p = sw.mostPeers().oldest // as a full swarm evicts
			}
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
		checkHosts(t, step, sw, model)
	}
}

// checkHosts checks sw's per-host lists and counts against model.
func checkHosts(t *testing.T, step int, sw *swarm, model []*swarmPeer) {
	byHost := map[netip.Prefix][]netip.AddrPort{}
	for _, p := range model {
		byHost[p.host.key] = append(byHost[p.host.key], p.addr)
	}
	require.Len(t, sw.hosts, len(byHost), "step %d: hosts", step)
	top := 0
	for key, want := range byHost {
		h := sw.hosts[key]
		require.NotNil(t, h, "step %d: host %v", step, key)
		var got []netip.AddrPort
		for p := h.oldest; p != nil; p = p.hnext {
			require.Same(t, h, p.host)
			got = append(got, p.addr)
		}
		require.Equal(t, want, got, "step %d: host %v's last-seen order", step, key)
		require.Equal(t, len(want), h.n)
		top = max(top, h.n)
	}
	require.Equal(t, top, sw.top, "step %d: top count", step)
	filed := 0
	for n := 1; n < len(sw.byCount); n++ {
		for h := sw.byCount[n].head; h != nil; h = h.next {
			filed++
			require.Equal(t, n, h.n, "step %d: host %v filed under %d peers", step, h.key, n)
			require.Same(t, h, sw.hosts[h.key])
		}
	}
	require.Equal(t, len(sw.hosts), filed, "step %d: every host filed once", step)
	if top > 0 {
		require.Equal(t, top, sw.mostPeers().n)
	}
}

func TestHostOf(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, hostOf(netip.MustParseAddr(tt.addr)).String(), tt.addr)
	}
}
