package lsd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// The multicast groups of BEP 14.
var (
	// DefaultGroup4 is the IPv4 group, organisation-local scope.
	DefaultGroup4 = netip.MustParseAddrPort("239.192.152.143:6771")
	// DefaultGroup6 is the IPv6 group, site-local scope.
	DefaultGroup6 = netip.MustParseAddrPort("[ff15::efc0:988f]:6771")
)

// Defaults of Config.
const (
	// DefaultInterval is how often a torrent is announced again: BEP 14's
	// five minutes.
	DefaultInterval = 5 * time.Minute
	// DefaultMinInterval is the least time between two announces of one
	// torrent: BEP 14's once a minute.
	DefaultMinInterval = time.Minute
	// DefaultMaxTorrents bounds how many torrents a Service announces.
	DefaultMaxTorrents = 4096
	// peerBuffer is how many discovered peers wait on Peers before more
	// are dropped.
	peerBuffer = 256
	// readErrorPause is how long the reader waits after a read error other
	// than the socket being closed, so a broken socket cannot spin.
	readErrorPause = 100 * time.Millisecond
)

// Config configures a Service. Only Port is required.
type Config struct {
	// Port is our BitTorrent listening port, announced to others.
	Port uint16
	// Interface is where to join the group and send announces; nil lets
	// the system choose (the interface of the default route).
	Interface *net.Interface
	// Group is the multicast group and port; zero means DefaultGroup4. Set
	// DefaultGroup6 for IPv6, or another group to keep tests apart.
	Group netip.AddrPort
	// TTL is the multicast TTL (IPv6 hop limit) of announces; 0 means 1,
	// the local network only.
	TTL int
	// Interval is how often each torrent is announced again; 0 means
	// DefaultInterval. A torrent is announced at once when added.
	Interval time.Duration
	// MinInterval is the least time between two announces of one torrent,
	// also across Remove and Add; 0 means DefaultMinInterval.
	MinInterval time.Duration
	// MaxTorrents bounds the torrents announced at once; 0 means
	// DefaultMaxTorrents.
	MaxTorrents int
	// Logger receives debug and warning messages; nil discards them.
	Logger *slog.Logger
}

// Peer is a machine that announced a torrent we announce too.
type Peer struct {
	// InfoHash is the torrent.
	InfoHash metainfo.InfoHash
	// Addr is where the peer listens: the announce's source address with
	// the port of its Port header. An IPv6 link-local address carries the
	// receiving interface as its zone, ready to dial.
	Addr netip.AddrPort
}

// Service announces torrents on the LAN and reports the peers that announce
// the same ones (BEP 14).
//
// Add, Remove, Peers, Ready and Cookie may be called from any goroutine at
// any time, before or while Run runs. Run is called at most once; it owns
// the sockets and the goroutines, and returns when its context ends.
type Service struct {
	cfg    Config
	log    *slog.Logger
	cookie string

	mu    sync.Mutex
	sched *schedule

	wake    chan struct{} // a torrent was added: announce what is due
	peers   chan Peer
	ready   chan struct{}
	started atomic.Bool
	dropped atomic.Int64 // peers dropped because Peers was full
}

// New returns a Service for cfg. It opens nothing: Run does.
func New(cfg Config) (*Service, error) {
	if cfg.Port == 0 {
		return nil, errors.New("lsd: Config.Port is 0: give the port peers should connect to")
	}
	if !cfg.Group.IsValid() {
		cfg.Group = DefaultGroup4
	}
	if !cfg.Group.Addr().IsMulticast() || cfg.Group.Port() == 0 {
		return nil, fmt.Errorf("lsd: group %s is not a multicast address and port", cfg.Group)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 1
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	cfg.Interval = max(cfg.Interval, cfg.MinInterval)
	if cfg.MaxTorrents <= 0 {
		cfg.MaxTorrents = DefaultMaxTorrents
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var c [16]byte
	if _, err := rand.Read(c[:]); err != nil {
		return nil, fmt.Errorf("lsd: cookie: %w", err)
	}
	return &Service{
		cfg:    cfg,
		log:    log.With("group", cfg.Group.String()),
		cookie: hex.EncodeToString(c[:]),
		sched:  newSchedule(cfg.MaxTorrents, cfg.Interval, cfg.MinInterval),
		wake:   make(chan struct{}, 1),
		peers:  make(chan Peer, peerBuffer),
		ready:  make(chan struct{}),
	}, nil
}

// Cookie returns the cookie this Service puts in its announces.
func (s *Service) Cookie() string { return s.cookie }

// Peers delivers the peers that announce torrents this Service announces.
// Peers not received in time are dropped (the next announce brings them
// again); the channel is closed when Run returns.
func (s *Service) Peers() <-chan Peer { return s.peers }

// Ready is closed once Run has joined the group and receives announces;
// never when Run fails to open its sockets.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Add starts announcing ih: at once (or, when it was removed less than
// MinInterval ago, once that much time has passed since its last announce),
// then every Interval. It returns ErrFull beyond Config.MaxTorrents.
func (s *Service) Add(ih metainfo.InfoHash) error {
	s.mu.Lock()
	wake, err := s.sched.add(ih, time.Now())
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w (%d): remove some first", err, s.cfg.MaxTorrents)
	}
	if wake {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Remove stops announcing ih and reporting its peers.
func (s *Service) Remove(ih metainfo.InfoHash) {
	s.mu.Lock()
	s.sched.remove(ih, time.Now())
	s.mu.Unlock()
}

// Run joins the group, announces and listens until ctx ends, then closes
// its sockets and Peers and returns nil. It fails at once when a socket
// cannot be opened.
func (s *Service) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("lsd: Service.Run called twice")
	}
	defer close(s.peers)
	network := "udp4"
	if s.cfg.Group.Addr().Is6() {
		network = "udp6"
	}
	group := net.UDPAddrFromAddrPort(s.cfg.Group)
	recv, err := net.ListenMulticastUDP(network, s.cfg.Interface, group)
	if err != nil {
		return fmt.Errorf("lsd: join %s: %w (is multicast enabled on the interface?)", s.cfg.Group, err)
	}
	defer recv.Close()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return setMulticastOptions(c, s.cfg.Group.Addr().Is6(), s.cfg.Interface, s.cfg.TTL)
	}}
	local, err := sendAddr(s.cfg.Interface, s.cfg.Group.Addr().Is6())
	if err != nil {
		return err
	}
	pc, err := lc.ListenPacket(ctx, network, local)
	if err != nil {
		return fmt.Errorf("lsd: open the sending socket: %w", err)
	}
	send := pc.(*net.UDPConn)
	defer send.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.receive(ctx, recv)
	}()
	close(s.ready)
	s.log.Debug("lsd: started", "port", s.cfg.Port)

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			recv.Close() // unblocks the reader
			wg.Wait()
			return nil
		case <-timer.C:
		case <-s.wake:
		}
		s.mu.Lock()
		due, next := s.sched.due(time.Now())
		s.mu.Unlock()
		if len(due) > 0 {
			s.announce(send, group, due)
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
	}
}

// sendAddr returns the local address to bind the sending socket to: port 0
// at ifi's first address of the group's family, so that announces leave
// with that source address (on loopback, whose 127.0.0.1 has host scope,
// Linux would otherwise send them from 0.0.0.0). With no interface, or none
// of the family, the system chooses.
func sendAddr(ifi *net.Interface, v6 bool) (string, error) {
	if ifi == nil {
		return ":0", nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return "", fmt.Errorf("lsd: addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() != v6 {
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				ip = ip.WithZone(ifi.Name)
			}
			return netip.AddrPortFrom(ip, 0).String(), nil
		}
	}
	return ":0", nil
}

// announce sends one announce for ihs (several datagrams if need be).
func (s *Service) announce(send *net.UDPConn, group *net.UDPAddr, ihs []metainfo.InfoHash) {
	datagrams, err := Encode(Message{Host: s.cfg.Group.String(), Port: s.cfg.Port, InfoHashes: ihs, Cookie: s.cookie})
	if err != nil {
		s.log.Warn("lsd: encode announce", "err", err)
		return
	}
	for _, d := range datagrams {
		if _, err := send.WriteToUDP(d, group); err != nil {
			s.log.Warn("lsd: send announce", "torrents", len(ihs), "err", err)
			return
		}
	}
	s.log.Debug("lsd: announced", "torrents", len(ihs), "datagrams", len(datagrams))
}

// receive reads announces until conn is closed and delivers the peers of
// torrents we announce.
func (s *Service) receive(ctx context.Context, conn *net.UDPConn) {
	buf := make([]byte, MaxParseDatagram+1)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			s.log.Warn("lsd: read", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(readErrorPause):
			}
			continue
		}
		m, err := Parse(buf[:n])
		if err != nil {
			s.log.Debug("lsd: ignored datagram", "from", from.String(), "err", err)
			continue
		}
		if m.Cookie == s.cookie {
			continue
		}
		ip := from.Addr().Unmap()
		if ip.IsUnspecified() {
			s.log.Debug("lsd: ignored announce without a source address", "port", m.Port)
			continue
		}
		addr := netip.AddrPortFrom(ip, m.Port)
		for _, ih := range m.InfoHashes {
			s.mu.Lock()
			ours := s.sched.has(ih)
			s.mu.Unlock()
			if !ours {
				continue
			}
			select {
			case s.peers <- Peer{InfoHash: ih, Addr: addr}:
			default:
				if s.dropped.Add(1)%100 == 1 {
					s.log.Debug("lsd: Peers is full, dropping", "dropped", s.dropped.Load())
				}
			}
		}
	}
}
