package tracker

import (
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// ServerConfig configures a Server. Zero fields take the defaults shown.
type ServerConfig struct {
	// Interval is the re-announce interval given to peers (30 minutes).
	Interval time.Duration
	// PeerTimeout is how long a peer stays listed after its last announce
	// (2 × Interval).
	PeerTimeout time.Duration
	// MaxSwarms bounds the number of swarms (10000). An announce that would
	// create one more is refused with a failure reason.
	MaxSwarms int
	// MaxPeersPerSwarm bounds each swarm (1000). A new peer past it evicts
	// the least recently seen peer of the host with the most peers there
	// (its own host's on a tie), so a flood from one host never pushes out
	// the peers of hosts with fewer.
	MaxPeersPerSwarm int
	// MaxSwarmsPerAddress bounds the swarms one host may have created and
	// that still have peers (100), so that one host cannot take the
	// MaxSwarms from everyone else; an announce that would create one more
	// is refused with a failure reason. A host is an IPv4 address or an
	// IPv6 /64, counted from where the request came from (never from a
	// claimed IP).
	MaxSwarmsPerAddress int
	// MaxPeersPerAddress bounds the peers (IP and port pairs) one host may
	// have in one swarm (8: several clients behind one NAT, or a test swarm
	// of a few processes on loopback). A host's new peer past it replaces
	// that host's least recently seen peer, never another host's.
	MaxPeersPerAddress int
	// DefaultNumWant is how many peers a reply lists when the peer does not
	// say (50); MaxNumWant caps what it may ask for (200).
	DefaultNumWant, MaxNumWant int
	// Allow, if not nil, is the allow-list: announces and scrapes for other
	// infohashes are refused.
	Allow func(metainfo.InfoHash) bool
	// TrustIPParam honours a peer's "ip" parameter (HTTP) or IP field (UDP)
	// from any address; without it only loopback peers may set their IP.
	TrustIPParam bool
	// Now is the clock (time.Now); tests inject their own.
	Now func() time.Time
	// Logger receives refusals and errors at debug level (discarded if nil).
	Logger *slog.Logger
}

// Stats is a snapshot of a Server's counters, for a status page.
type Stats struct {
	Announces   uint64 // announces answered, refused ones included
	Scrapes     uint64 // scrapes answered
	Refusals    uint64 // announces and scrapes refused (allow-list, limits)
	Connects    uint64 // UDP connect requests answered
	BadRequests uint64 // malformed requests and bad UDP connection ids
	Swarms      int    // swarms now
	Peers       int    // peers now, in all swarms
	Seeders     int    // of which seeds
}

// Server is an embeddable BitTorrent tracker: swarms in memory, bounded,
// served over HTTP (ServeHTTP) and UDP (Serve). It is safe for concurrent
// use. Expired peers are dropped lazily, as requests arrive: a Server owns
// no goroutines.
type Server struct {
	cfg    ServerConfig
	log    *slog.Logger
	connID *connIDMinter

	mu        sync.Mutex
	swarms    map[metainfo.InfoHash]*swarm
	created   map[netip.Prefix]int // swarms alive, by the host that created them
	lastSweep time.Time

	announces, scrapes, refusals, connects, badRequests atomic.Uint64
}

// NewServer returns a Server configured by cfg.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Minute
	}
	if cfg.PeerTimeout <= 0 {
		cfg.PeerTimeout = 2 * cfg.Interval
	}
	if cfg.MaxSwarms <= 0 {
		cfg.MaxSwarms = 10000
	}
	if cfg.MaxPeersPerSwarm <= 0 {
		cfg.MaxPeersPerSwarm = 1000
	}
	if cfg.MaxSwarmsPerAddress <= 0 {
		cfg.MaxSwarmsPerAddress = 100
	}
	if cfg.MaxPeersPerAddress <= 0 {
		cfg.MaxPeersPerAddress = 8
	}
	if cfg.DefaultNumWant <= 0 {
		cfg.DefaultNumWant = 50
	}
	if cfg.MaxNumWant <= 0 {
		cfg.MaxNumWant = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:     cfg,
		log:     log,
		connID:  newConnIDMinter(),
		swarms:  make(map[metainfo.InfoHash]*swarm),
		created: make(map[netip.Prefix]int),
	}
}

// Stats returns a snapshot of the counters. It walks the swarms, so it
// costs O(MaxSwarms): fine for a status page, not for every request.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Swarms: len(s.swarms)}
	for _, sw := range s.swarms {
		st.Peers += sw.len()
		st.Seeders += sw.seeders
	}
	s.mu.Unlock()
	st.Announces = s.announces.Load()
	st.Scrapes = s.scrapes.Load()
	st.Refusals = s.refusals.Load()
	st.Connects = s.connects.Load()
	st.BadRequests = s.badRequests.Load()
	return st
}

// Refusal reasons, sent to peers as failure reasons.
var (
	errNotAllowed = errors.New("infohash not served by this tracker")
	errTooMany    = errors.New("tracker full: too many swarms, try again later")
	errTooManyOwn = errors.New("too many swarms started from your address: try again later")
)

// announceResult is what an announce gets back, copied out of the swarm.
type announceResult struct {
	seeders, leechers int
	peers             []Peer
}

// announce records req, sent from the IP address from, for the peer at addr
// (from or the IP it claims, with its listening port) and picks peers for
// it. oneFamily limits the peers to addr's address family (UDP replies
// carry one family only); withIDs includes their peer ids.
func (s *Server) announce(req *AnnounceRequest, from netip.Addr, addr netip.AddrPort, oneFamily, withIDs bool) (announceResult, error) {
	s.announces.Add(1)
	if s.cfg.Allow != nil && !s.cfg.Allow(req.InfoHash) {
		s.refuse(req, addr, errNotAllowed)
		return announceResult{}, errNotAllowed
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(now)
	host := hostOf(from)
	sw := s.swarms[req.InfoHash]
	if sw == nil {
		if req.Event == EventStopped {
			return announceResult{}, nil
		}
		if s.created[host] >= s.cfg.MaxSwarmsPerAddress {
			s.refuse(req, addr, errTooManyOwn)
			return announceResult{}, errTooManyOwn
		}
		if len(s.swarms) >= s.cfg.MaxSwarms {
			s.refuse(req, addr, errTooMany)
			return announceResult{}, errTooMany
		}
		sw = newSwarm(host)
		s.swarms[req.InfoHash] = sw
		s.created[host]++
	}
	s.expire(sw, now)
	if req.Event == EventStopped {
		if p := sw.byAddr[addr]; p != nil {
			sw.remove(p)
		}
		res := announceResult{seeders: sw.seeders, leechers: sw.len() - sw.seeders}
		s.dropIfEmpty(req.InfoHash, sw)
		return res, nil
	}
	p := s.record(sw, req, host, addr, now)
	is4 := addr.Addr().Is4()
	picked := sw.sample(nil, s.numWant(req.NumWant), p, oneFamily && is4, oneFamily && !is4)
	return announceResult{
		seeders:  sw.seeders,
		leechers: sw.len() - sw.seeders,
		peers:    copyPeers(picked, withIDs),
	}, nil
}

// record adds or refreshes the peer at addr, announced by host, in sw.
// Called with s.mu held.
//
// A new peer past a limit evicts one, chosen so that a flood from one host
// never pushes out the peers of hosts with fewer peers than it has:
//   - past MaxPeersPerAddress, the host's own least recently seen peer;
//   - past MaxPeersPerSwarm, the least recently seen peer of the host with
//     the most peers (the least recently seen such host), or the new
//     peer's host's own if it has at least as many.
//
// So a host takes another host's place only from a host with strictly
// more peers, and ends with no more than that host had: a flood from one
// address holds at most as many places as the largest other host plus one,
// and then only churns its own. Evicting rather than refusing the newcomer
// keeps a full swarm open to new hosts (the freshest peers are the most
// useful to list) instead of leaving it to whoever filled it first, and the
// evicted peers are the ones most likely stale or many of one kind.
func (s *Server) record(sw *swarm, req *AnnounceRequest, host netip.Prefix, addr netip.AddrPort, now time.Time) *swarmPeer {
	seed := req.Left == 0
	p := sw.byAddr[addr]
	if p == nil {
		own := sw.host(host)
		switch {
		case own != nil && own.n >= s.cfg.MaxPeersPerAddress:
			sw.remove(own.oldest)
		case sw.len() >= s.cfg.MaxPeersPerSwarm:
			victim := sw.mostPeers()
			if own != nil && own.n >= victim.n {
				victim = own
			}
			sw.remove(victim.oldest)
		}
		p = &swarmPeer{addr: addr, lastSeen: now, seed: seed}
		sw.add(p, host)
	} else {
		sw.touch(p, now, seed)
	}
	p.id = req.PeerID
	if req.Event == EventCompleted && !p.completed {
		p.completed = true
		sw.completed++
	}
	return p
}

// numWant turns a request's NumWant into how many peers to list.
func (s *Server) numWant(asked int) int {
	switch {
	case asked == NoPeersWanted:
		return 0
	case asked > 0:
		return min(asked, s.cfg.MaxNumWant)
	}
	return s.cfg.DefaultNumWant
}

// copyPeers copies picked peers out of a swarm, whose entries change once
// the lock is released; withIDs includes their peer ids.
func copyPeers(picked []*swarmPeer, withIDs bool) []Peer {
	peers := make([]Peer, len(picked))
	var ids []byte
	if withIDs {
		ids = make([]byte, 0, len(picked)*len(PeerID{}))
	}
	for i, q := range picked {
		peers[i].Addr = q.addr
		if withIDs {
			ids = append(ids, q.id[:]...)
			peers[i].ID = ids[len(ids)-len(q.id):]
		}
	}
	return peers
}

// refuse counts and logs a refused announce.
func (s *Server) refuse(req *AnnounceRequest, addr netip.AddrPort, why error) {
	s.refusals.Add(1)
	s.log.Debug("tracker: announce refused", "infohash", req.InfoHash, "peer", addr, "reason", why)
}

// scrape returns the counts of the swarms of hashes; hashes refused by the
// allow-list are left out, unknown ones count zero.
func (s *Server) scrape(hashes []metainfo.InfoHash) map[metainfo.InfoHash]ScrapeStats {
	s.scrapes.Add(1)
	now := s.cfg.Now()
	out := make(map[metainfo.InfoHash]ScrapeStats, len(hashes))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(now)
	for _, h := range hashes {
		if s.cfg.Allow != nil && !s.cfg.Allow(h) {
			continue
		}
		var st ScrapeStats
		if sw := s.swarms[h]; sw != nil {
			s.expire(sw, now)
			st = ScrapeStats{Seeders: sw.seeders, Completed: sw.completed, Leechers: sw.len() - sw.seeders}
		}
		out[h] = st
	}
	return out
}

// peerAddr picks the address to list for a peer: the transport's source
// address, or the IP it claims when that is allowed.
func (s *Server) peerAddr(remote netip.Addr, claimed netip.Addr, port uint16) netip.AddrPort {
	ip := remote.Unmap()
	if claimed.IsValid() && (s.cfg.TrustIPParam || ip.IsLoopback()) {
		ip = claimed.Unmap()
	}
	return netip.AddrPortFrom(ip, port)
}

// maybeSweep expires peers in every swarm, at most once per Interval, so
// idle swarms do not hold memory forever. Called with s.mu held.
func (s *Server) maybeSweep(now time.Time) {
	if now.Sub(s.lastSweep) < s.cfg.Interval {
		return
	}
	s.lastSweep = now
	for h, sw := range s.swarms {
		s.expire(sw, now)
		s.dropIfEmpty(h, sw)
	}
}

// expire drops sw's peers not seen within PeerTimeout. Called with s.mu held.
func (s *Server) expire(sw *swarm, now time.Time) {
	cutoff := now.Add(-s.cfg.PeerTimeout)
	for sw.oldest != nil && sw.oldest.lastSeen.Before(cutoff) {
		sw.remove(sw.oldest)
	}
}

// dropIfEmpty forgets a swarm with no peers. Called with s.mu held.
func (s *Server) dropIfEmpty(h metainfo.InfoHash, sw *swarm) {
	if sw.len() != 0 {
		return
	}
	delete(s.swarms, h)
	if n := s.created[sw.creator] - 1; n > 0 {
		s.created[sw.creator] = n
	} else {
		delete(s.created, sw.creator)
	}
}
