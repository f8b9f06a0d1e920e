package tracker

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// swarmPeer is one peer of a swarm as the server keeps it.
type swarmPeer struct {
	addr      netip.AddrPort
	id        PeerID
	seed      bool
	completed bool // sent a completed event
	lastSeen  time.Time

	index      int        // position in swarm.all
	prev, next *swarmPeer // in swarm's least-recently-seen order
}

// swarm is the peers of one infohash: a map by address, a slice to sample
// from, and a list ordered by last announce (oldest first) to expire and
// evict from.
type swarm struct {
	byAddr    map[netip.AddrPort]*swarmPeer
	all       []*swarmPeer
	oldest    *swarmPeer
	newest    *swarmPeer
	seeders   int
	completed int // completed events ever received
}

func newSwarm() *swarm {
	return &swarm{byAddr: make(map[netip.AddrPort]*swarmPeer)}
}

// len returns the number of peers.
func (s *swarm) len() int { return len(s.all) }

// add inserts a new peer as the newest.
func (s *swarm) add(p *swarmPeer) {
	s.byAddr[p.addr] = p
	p.index = len(s.all)
	s.all = append(s.all, p)
	if p.seed {
		s.seeders++
	}
	s.pushNewest(p)
}

// touch records an announce from p at now, with its current state.
func (s *swarm) touch(p *swarmPeer, now time.Time, seed bool) {
	if seed != p.seed {
		if seed {
			s.seeders++
		} else {
			s.seeders--
		}
		p.seed = seed
	}
	p.lastSeen = now
	s.unlink(p)
	s.pushNewest(p)
}

// remove deletes p.
func (s *swarm) remove(p *swarmPeer) {
	s.unlink(p)
	delete(s.byAddr, p.addr)
	last := s.all[len(s.all)-1]
	s.all[p.index] = last
	last.index = p.index
	s.all[len(s.all)-1] = nil
	s.all = s.all[:len(s.all)-1]
	if p.seed {
		s.seeders--
	}
}

// sample appends up to n peers other than self to dst, starting at a random
// place, keeping to IPv4 peers if only4 and to IPv6 peers if only6.
func (s *swarm) sample(dst []*swarmPeer, n int, self *swarmPeer, only4, only6 bool) []*swarmPeer {
	if n <= 0 || len(s.all) == 0 {
		return dst
	}
	start := rand.IntN(len(s.all))
	for i := 0; i < len(s.all) && n > 0; i++ {
		p := s.all[(start+i)%len(s.all)]
		if p == self || (only4 && !p.addr.Addr().Is4()) || (only6 && p.addr.Addr().Is4()) {
			continue
		}
		dst = append(dst, p)
		n--
	}
	return dst
}

func (s *swarm) pushNewest(p *swarmPeer) {
	p.prev, p.next = s.newest, nil
	if s.newest != nil {
		s.newest.next = p
	} else {
		s.oldest = p
	}
	s.newest = p
}

func (s *swarm) unlink(p *swarmPeer) {
	if p.prev != nil {
		p.prev.next = p.next
	} else if s.oldest == p {
		s.oldest = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else if s.newest == p {
		s.newest = p.prev
	}
	p.prev, p.next = nil, nil
}
