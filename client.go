package debtorrent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debtorrent/debtorrent/internal/lsd"
	"github.com/debtorrent/debtorrent/internal/ratelimit"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/tracker"
)

// ErrClientClosed is returned by the methods of a closed Client.
var ErrClientClosed = errors.New("debtorrent: client closed")

// Client runs torrents: one listener for all of them (the infohash of an
// incoming handshake routes it), shared connection limits and rate limits,
// the storage, and a tracker client. Make one with New and Close it when done;
// Close stops every goroutine the Client started.
type Client struct {
	cfg     Config
	log     *slog.Logger
	peerID  peerwire.PeerID
	ln      net.Listener
	storage Storage
	ownsSt  bool
	tracker *tracker.Client
	pool    *peerwire.BlockPool
	up      *ratelimit.Limiter
	down    *ratelimit.Limiter

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	conns     atomic.Int64 // peer connections open, all torrents
	bans      *banList     // sources convicted of bad data, refused by every torrent (bans.go)
	addrConns addrCounts   // admitted connections per address, all torrents (admit.go)

	mu       sync.RWMutex // guards torrents and closed; held on add, remove and routing only
	torrents map[metainfo.InfoHash]*Torrent
	closed   bool

	totals totals

	content     contentIndex // piece-per-file torrents by SHA256 (content.go)
	stopObserve func()       // stops observing a ContentStorage; nil: none

	lsd         *lsd.Service  // local service discovery; nil: off (lsd.go)
	magnets     magnetIndex   // magnet links waiting for their metadata (magnet.go)
	pexInterval time.Duration // how often PEX goes to each peer (pex.go); tests shorten it
}

// New starts a Client: it opens the storage (unless Config.Storage is given)
// and listens on Config.ListenAddr.
func New(cfg Config) (*Client, error) {
	return newClient(cfg, func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) })
}

// newClient is New with the listener made by listen (tests wrap it).
func newClient(cfg Config, listen func(addr string) (net.Listener, error)) (*Client, error) {
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:         cfg,
		log:         cfg.Logger,
		peerID:      peerwire.PeerID(cfg.PeerID),
		tracker:     tracker.NewClient(tracker.ClientConfig{HTTPClient: cfg.HTTPClient}),
		pool:        peerwire.NewBlockPool(0),
		up:          ratelimit.New(cfg.UploadRate),
		down:        ratelimit.New(cfg.DownloadRate),
		torrents:    make(map[metainfo.InfoHash]*Torrent),
		pexInterval: defaultPEXInterval,
		bans:        newBanList(time.Now, cfg.BanLoopbackByIP),
	}
	if c.peerID == (peerwire.PeerID{}) {
		id, err := peerwire.NewPeerID(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("debtorrent: make peer ID: %w", err)
		}
		c.peerID = id
	}
	if cfg.UploadRate <= 0 {
		c.up = nil
	}
	if cfg.DownloadRate <= 0 {
		c.down = nil
	}
	c.storage = cfg.Storage
	if c.storage == nil {
		ds, err := OpenDiskStorage(cfg.DataDir, DiskOptions{Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("debtorrent: open storage in %s: %w", cfg.DataDir, err)
		}
		c.storage, c.ownsSt = ds, true
	}
	ln, err := listen(cfg.ListenAddr)
	if err != nil {
		if c.ownsSt {
			c.storage.Close()
		}
		return nil, fmt.Errorf("debtorrent: listen on %s: %w", cfg.ListenAddr, err)
	}
	c.ln = ln
	if cs, ok := c.storage.(ContentStorage); ok {
		c.stopObserve = cs.Observe(c.onContent)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if cfg.LocalDiscovery {
		if err := c.startLSD(lsd.Config{}); err != nil {
			c.cancel()
			ln.Close()
			if c.ownsSt {
				c.storage.Close()
			}
			return nil, err
		}
	}
	c.wg.Add(1)
	go c.acceptLoop()
	return c, nil
}

// Addr returns the address the Client accepts peers on.
func (c *Client) Addr() net.Addr { return c.ln.Addr() }

// port returns the listening port, as announced to trackers.
func (c *Client) port() uint16 {
	if a, ok := c.ln.Addr().(*net.TCPAddr); ok {
		return uint16(a.Port)
	}
	return 0
}

// PeerID returns the ID this Client gives in handshakes.
func (c *Client) PeerID() [20]byte { return c.peerID }

// Storage returns the storage the Client writes pieces to.
func (c *Client) Storage() Storage { return c.storage }

// AddTorrent joins the swarm of info: it opens the torrent's storage (finding
// the pieces already verified there), starts its loop and, if opts names
// trackers, announces. Nothing is downloaded until asked: see
// Torrent.DownloadAll, Torrent.WaitPiece and TorrentOptions.DownloadAll.
func (c *Client) AddTorrent(info *metainfo.Info, opts TorrentOptions) (*Torrent, error) {
	if info == nil || info.NumPieces() == 0 {
		return nil, errors.New("debtorrent: add torrent: no pieces")
	}
	ih := info.InfoHash()
	if c.ctx.Err() != nil {
		return nil, ErrClientClosed
	}
	if _, dup := c.Torrent(ih); dup {
		return nil, fmt.Errorf("debtorrent: add torrent %s (%s): already added", info.Name, ih)
	}
	// The storage refuses a torrent opened twice, so a concurrent AddTorrent
	// of the same infohash fails here, before any lock is held for long.
	ts, err := c.storage.OpenTorrent(info)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: add torrent %s: %w", info.Name, err)
	}
	if opts.ImportDir != "" {
		if _, err := importFiles(c.ctx, ts, info, opts.ImportDir); err != nil {
			ts.Close()
			return nil, err
		}
	}
	t, err := newTorrent(c, info, ts, opts)
	if err != nil {
		ts.Close()
		return nil, err
	}
	c.content.add(t)
	// What was stored or removed between newTorrent's look at the store
	// and the index is reconciled by the loop once it runs.
	for i := range info.NumPieces() {
		if ts.PieceComplete(i) != t.pk.HavePiece(i) {
			t.hint(i)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.content.remove(t)
		ts.Close()
		return nil, ErrClientClosed
	}
	c.torrents[ih] = t
	t.start()
	if !info.Private { // BEP 27: a private torrent's peers come from its trackers only
		c.lsdAdd(ih)
	}
	return t, nil
}

// Torrent returns the torrent with this infohash, if added.
func (c *Client) Torrent(ih metainfo.InfoHash) (*Torrent, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.torrents[ih]
	return t, ok
}

// Torrents returns the torrents added and not removed.
func (c *Client) Torrents() []*Torrent {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Torrent, 0, len(c.torrents))
	for _, t := range c.torrents {
		out = append(out, t)
	}
	return out
}

// forget drops t from the routing table (Torrent.Close calls it).
func (c *Client) forget(t *Torrent) {
	c.mu.Lock()
	if c.torrents[t.ih] == t {
		delete(c.torrents, t.ih)
		c.lsdRemove(t.ih)
	}
	c.mu.Unlock()
}

// Close stops every torrent (announcing "stopped" to their trackers, briefly),
// closes every connection and the listener, closes the storage the Client
// opened, and waits for every goroutine it started.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	ts := make([]*Torrent, 0, len(c.torrents))
	for _, t := range c.torrents {
		ts = append(ts, t)
	}
	c.mu.Unlock()
	var errs []error
	for _, t := range ts {
		if err := t.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	c.cancel()
	c.ln.Close()
	c.wg.Wait()
	if c.stopObserve != nil {
		c.stopObserve()
	}
	if c.ownsSt {
		if err := c.storage.Close(); err != nil {
			errs = append(errs, fmt.Errorf("debtorrent: close storage: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Backoff after a temporary accept error (out of file descriptors, a
// connection aborted before it was accepted), doubling up to the maximum, as
// net/http's Server.Serve does.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptLoop accepts peers until the listener closes; each handshake runs in
// its own goroutine. Temporary errors are waited out with a backoff.
func (c *Client) acceptLoop() {
	defer c.wg.Done()
	var backoff time.Duration
	for {
		nc, err := c.ln.Accept()
		if err != nil {
			if c.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if !temporary(err) {
				c.log.Warn("debtorrent: accept failed; no more incoming peers", "err", err)
				return
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			c.log.Warn("debtorrent: accept failed; retrying", "err", err, "in", backoff)
			tm := time.NewTimer(backoff)
			select {
			case <-tm.C:
			case <-c.ctx.Done():
				tm.Stop()
				return
			}
			continue
		}
		backoff = 0
		if !c.reserveConn() {
			nc.Close()
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.handshakeIncoming(nc)
		}()
	}
}

// temporary reports whether an accept error may go away by itself: those
// the system marks temporary (EMFILE, ENFILE, ECONNABORTED, EAGAIN, ...) and
// timeouts.
func temporary(err error) bool {
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// reserveConn takes one of the MaxConns slots, or reports that none is free.
func (c *Client) reserveConn() bool {
	if c.conns.Add(1) > int64(c.cfg.MaxConns) {
		c.conns.Add(-1)
		return false
	}
	return true
}

// releaseConn gives back a slot taken by reserveConn.
func (c *Client) releaseConn() { c.conns.Add(-1) }

// handshakeIncoming answers an incoming handshake and hands the connection to
// the torrent its infohash names.
func (c *Client) handshakeIncoming(nc net.Conn) {
	// Banned addresses are refused before the handshake; peer IDs, and the
	// per-torrent limits, once the torrent's loop sees the peer (onPeer).
	addr := remoteAddr(nc)
	if c.bans.bannedAddr(addr) || !c.addrConns.below(c.bans.limitKey(addr), c.cfg.MaxConnsPerAddressTotal) {
		nc.Close()
		c.releaseConn()
		return
	}
	known := func(ih metainfo.InfoHash) bool {
		_, ok := c.Torrent(ih)
		return ok
	}
	hs, err := peerwire.Accept(c.ctx, nc, known, peerwire.DefaultReserved(), c.peerID)
	if err != nil {
		c.log.Debug("debtorrent: incoming handshake failed", "peer", nc.RemoteAddr(), "err", err)
		nc.Close()
		c.releaseConn()
		return
	}
	t, ok := c.Torrent(hs.InfoHash)
	if !ok {
		nc.Close()
		c.releaseConn()
		return
	}
	t.connected(nc, hs, "")
}

// Stats returns the Client's totals over every torrent it has run.
func (c *Client) Stats() ClientStats {
	c.mu.RLock()
	n := len(c.torrents)
	c.mu.RUnlock()
	return ClientStats{
		Torrents:       n,
		Conns:          int(c.conns.Load()),
		BytesFromPeers: c.totals.fromPeers.Load(),
		BytesFromWeb:   c.totals.fromWeb.Load(),
		BytesUploaded:  c.totals.uploaded.Load(),
	}
}
