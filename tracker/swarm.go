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
	host      *swarmHost // who announced it

	index        int        // position in swarm.all
	prev, next   *swarmPeer // in swarm's least-recently-seen order
	hprev, hnext *swarmPeer // in host's least-recently-seen order
}

// swarmHost is the peers one announcing host (see hostOf) has in a swarm,
// least recently seen first, and its place among the hosts with as many.
type swarmHost struct {
	key            netip.Prefix
	n              int // peers
	oldest, newest *swarmPeer
	prev, next     *swarmHost // in swarm.byCount[n], least recently seen first
}

// hostList is a list of the hosts with one number of peers.
type hostList struct{ head, tail *swarmHost }

// hostOf is the unit the per-address limits count: an IPv4 address, or
// the /64 of an IPv6 address (one host or one home network: a host with
// IPv6 usually has a whole /64 to pick addresses from).
func hostOf(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 32
	}
	p, _ := a.Prefix(bits) // cannot fail: bits fits both families
	return p
}

// swarm is the peers of one infohash: a map by address, a slice to sample
// from, a list ordered by last announce (oldest first) to expire from, and
// per announcing host its peers (to limit and evict per host) and, by
// number of peers, the hosts (to find the host with the most in O(1)).
type swarm struct {
	byAddr    map[netip.AddrPort]*swarmPeer
	all       []*swarmPeer
	oldest    *swarmPeer
	newest    *swarmPeer
	seeders   int
	completed int // completed events ever received

	hosts   map[netip.Prefix]*swarmHost
	byCount []hostList // byCount[n]: the hosts with n peers; [0] unused
	top     int        // the most peers any host has

	creator netip.Prefix // the host whose announce created the swarm
}

func newSwarm(creator netip.Prefix) *swarm {
	return &swarm{
		byAddr:  make(map[netip.AddrPort]*swarmPeer),
		hosts:   make(map[netip.Prefix]*swarmHost),
		creator: creator,
	}
}

// len returns the number of peers.
func (s *swarm) len() int { return len(s.all) }

// host returns the entry of the host key, nil if it has no peers here.
func (s *swarm) host(key netip.Prefix) *swarmHost { return s.hosts[key] }

// mostPeers returns the host with the most peers that has been seen least
// recently among those with as many, nil if the swarm is empty.
func (s *swarm) mostPeers() *swarmHost {
	if s.top == 0 {
		return nil
	}
	return s.byCount[s.top].head
}

// add inserts a new peer, announced by host key, as the newest.
func (s *swarm) add(p *swarmPeer, key netip.Prefix) {
	s.byAddr[p.addr] = p
	p.index = len(s.all)
	s.all = append(s.all, p)
	if p.seed {
		s.seeders++
	}
	s.pushNewest(p)

	h := s.hosts[key]
	if h == nil {
		h = &swarmHost{key: key}
		s.hosts[key] = h
	} else {
		s.unlinkHost(h)
	}
	h.n++
	p.host = h
	p.hprev, p.hnext = h.newest, nil
	if h.newest != nil {
		h.newest.hnext = p
	} else {
		h.oldest = p
	}
	h.newest = p
	s.pushHost(h)
	s.top = max(s.top, h.n)
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
	h := p.host
	if h.newest != p {
		s.unlinkFromHost(p)
		p.hprev = h.newest
		h.newest.hnext = p
		h.newest = p
	}
	s.unlinkHost(h)
	s.pushHost(h)
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

	h := p.host
	s.unlinkFromHost(p)
	p.host = nil
	s.unlinkHost(h)
	h.n--
	if h.n == 0 {
		delete(s.hosts, h.key)
	} else {
		s.pushHost(h)
	}
	// Counts move by one, so if the top count emptied, the host that left
	// it is now one below.
	if s.top > 0 && s.byCount[s.top].head == nil {
		s.top--
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

// unlinkFromHost takes p out of its host's list.
func (s *swarm) unlinkFromHost(p *swarmPeer) {
	h := p.host
	if p.hprev != nil {
		p.hprev.hnext = p.hnext
	} else {
		h.oldest = p.hnext
	}
	if p.hnext != nil {
		p.hnext.hprev = p.hprev
	} else {
		h.newest = p.hprev
	}
	p.hprev, p.hnext = nil, nil
}

// pushHost appends h to the list of hosts with h.n peers.
func (s *swarm) pushHost(h *swarmHost) {
	for len(s.byCount) <= h.n {
		s.byCount = append(s.byCount, hostList{})
	}
	l := &s.byCount[h.n]
	h.prev, h.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = h
	} else {
		l.head = h
	}
	l.tail = h
}

// unlinkHost takes h out of the list of hosts with h.n peers.
func (s *swarm) unlinkHost(h *swarmHost) {
	l := &s.byCount[h.n]
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		l.head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		l.tail = h.prev
	}
	h.prev, h.next = nil, nil
}
