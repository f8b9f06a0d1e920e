package debtorrent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/tracker"
)

// Fetching a magnet link's metadata (BEP 9).
const (
	// maxMagnetPeers bounds the x.pe peer addresses read from one magnet
	// link.
	maxMagnetPeers = 200
	// maxMetadataFetchers bounds the peers asked for metadata at once.
	maxMetadataFetchers = 4
	// metadataPeerTimeout bounds the time one peer has to deliver the
	// whole info dictionary.
	metadataPeerTimeout = time.Minute
	// metadataWindow is how many ut_metadata requests are outstanding at
	// one peer.
	metadataWindow = 8
	// metadataRetryMin and metadataRetryMax bound the wait before a peer
	// that could not be reached (or had no metadata) is asked again; it
	// doubles with every attempt.
	metadataRetryMin = time.Second
	metadataRetryMax = time.Minute
)

// AddMagnet joins the swarm of a magnet link without its .torrent: it finds
// peers from the link's x.pe addresses, its trackers (tr, used when
// opts.Trackers is empty) and, with Config.LocalDiscovery, the LAN; fetches
// the info dictionary from peers that offer it (ut_metadata, BEP 9), checks
// its SHA1 against the link's infohash and then adds the torrent as
// AddTorrent does, with opts, dialling the x.pe peers. It blocks until then:
// ctx bounds the wait for metadata (without a deadline, AddMagnet waits
// until a peer delivers it or the Client closes). A peer whose pieces do
// not hash to the infohash, or that sends malformed ones, is dropped and
// not asked again; one that cannot be reached, or has no metadata yet, is
// asked again later (after 1 s, doubling up to a minute). Until the
// metadata is in, the Client refuses incoming connections for the torrent:
// it dials. Any goroutine may call AddMagnet, also for several links at
// once; one infohash is fetched by one call at a time.
func (c *Client) AddMagnet(ctx context.Context, magnet string, opts TorrentOptions) (*Torrent, error) {
	mag, err := metainfo.ParseMagnet(magnet)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: add magnet: %w", err)
	}
	peers, err := magnetPeers(magnet)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: add magnet %s: %w", mag.InfoHash, err)
	}
	if c.ctx.Err() != nil {
		return nil, ErrClientClosed
	}
	if _, dup := c.Torrent(mag.InfoHash); dup {
		return nil, fmt.Errorf("debtorrent: add magnet %s: already added", mag.InfoHash)
	}
	if len(opts.Trackers) == 0 && len(mag.Trackers) > 0 {
		opts.Trackers = [][]string{mag.Trackers}
	}
	if len(peers) == 0 && len(opts.Trackers) == 0 && c.lsd == nil {
		return nil, fmt.Errorf("debtorrent: add magnet %s: no peer (x.pe), no tracker (tr) and local discovery off: nowhere to fetch its metadata from", mag.InfoHash)
	}
	raw, err := c.fetchMetadata(ctx, mag.InfoHash, peers, opts.Trackers)
	if err != nil {
		return nil, err
	}
	info, err := metainfo.ParseInfo(raw)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: add magnet %s: the metadata peers sent: %w", mag.InfoHash, err)
	}
	t, err := c.AddTorrent(info, opts)
	if err != nil {
		if _, added := c.Torrent(mag.InfoHash); !added {
			c.lsdRemove(mag.InfoHash)
		}
		return nil, err
	}
	if info.Private {
		c.lsdRemove(mag.InfoHash) // announced while its metadata was unknown; no more
	}
	for _, a := range peers {
		if err := t.AddPeer(a); err != nil {
			return t, err
		}
	}
	return t, nil
}

// magnetPeers returns a magnet link's x.pe peer addresses (host:port), at
// most maxMagnetPeers of them. An address that is not host:port with a
// port in 1..65535 is an error.
func magnetPeers(magnet string) ([]string, error) {
	rest, ok := strings.CutPrefix(magnet, "magnet:?")
	if !ok || len(magnet) > metainfo.MaxMagnetLength {
		return nil, errors.New("not a magnet link of at most 64 KiB")
	}
	params, err := url.ParseQuery(rest)
	if err != nil {
		return nil, fmt.Errorf("magnet link: %w", err)
	}
	pe := params["x.pe"]
	if len(pe) > maxMagnetPeers {
		return nil, fmt.Errorf("magnet link lists %d peers (x.pe), more than %d", len(pe), maxMagnetPeers)
	}
	out := make([]string, 0, len(pe))
	for _, a := range pe {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return nil, fmt.Errorf("magnet link peer %.80q: want HOST:PORT", a)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("magnet link peer %.80q: port must be 1..65535", a)
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out, nil
}

// magnetIndex routes peers found by local discovery to the magnet links
// waiting for their metadata. Its zero value is ready; any goroutine may
// call its methods.
type magnetIndex struct {
	mu      sync.Mutex
	waiting map[metainfo.InfoHash]chan []string
}

// register makes found the channel of ih's peers; false when ih's metadata
// is already being fetched.
func (x *magnetIndex) register(ih metainfo.InfoHash, found chan []string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, dup := x.waiting[ih]; dup {
		return false
	}
	if x.waiting == nil {
		x.waiting = make(map[metainfo.InfoHash]chan []string)
	}
	x.waiting[ih] = found
	return true
}

// unregister forgets ih.
func (x *magnetIndex) unregister(ih metainfo.InfoHash) {
	x.mu.Lock()
	delete(x.waiting, ih)
	x.mu.Unlock()
}

// offer gives addrs to the fetch of ih's metadata, if one waits and has
// room; otherwise they are dropped (a later announce brings them again).
func (x *magnetIndex) offer(ih metainfo.InfoHash, addrs []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if ch, ok := x.waiting[ih]; ok {
		select {
		case ch <- addrs:
		default:
		}
	}
}

// fetchMetadata asks the peers it finds (peers, the trackers' and the
// LAN's) for ih's info dictionary, up to maxMetadataFetchers at once, and
// returns the first that hashes to ih.
func (c *Client) fetchMetadata(ctx context.Context, ih metainfo.InfoHash, peers []string, tiers [][]string) ([]byte, error) {
	found := make(chan []string, 64)
	if !c.magnets.register(ih, found) {
		return nil, fmt.Errorf("debtorrent: add magnet %s: its metadata is already being fetched", ih)
	}
	defer c.magnets.unregister(ih)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	defer func() {
		stop()
		cancel()
		wg.Wait()
	}()
	c.lsdAdd(ih)
	ok := false
	defer func() {
		if _, added := c.Torrent(ih); !ok && !added {
			c.lsdRemove(ih)
		}
	}()
	if len(tiers) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.announceForMetadata(ctx, ih, tiers, found)
		}()
	}
	if len(peers) > 0 {
		found <- peers
	}
	results := make(chan []byte, 1)
	finished := make(chan fetchResult, maxMetadataFetchers)
	tried := make(map[string]int) // address → attempts; -1: it sent bad metadata, never again
	retryAt := make(map[string]time.Time)
	retryTick := time.NewTicker(metadataRetryMin)
	defer retryTick.Stop()
	var queue []string
	running := 0
	var lastErr error
	for {
		for running < maxMetadataFetchers && len(queue) > 0 {
			a := queue[0]
			queue = queue[1:]
			running++
			tried[a]++
			wg.Add(1)
			go func() {
				defer wg.Done()
				raw, err := c.metadataFrom(ctx, ih, a)
				if err == nil {
					select {
					case results <- raw:
					default:
					}
				} else {
					c.log.Debug("debtorrent: no metadata from peer", "peer", a, "infohash", ih, "err", err)
				}
				finished <- fetchResult{a, err}
			}()
		}
		select {
		case raw := <-results:
			ok = true
			return raw, nil
		case r := <-finished:
			running--
			if r.err == nil {
				break
			}
			lastErr = fmt.Errorf("%s: %w", r.addr, r.err)
			if errors.Is(r.err, errBadMetadata) {
				tried[r.addr] = -1
				c.log.Info("debtorrent: dropped a peer that sent bad metadata", "peer", r.addr, "infohash", ih, "err", r.err)
			} else if ctx.Err() == nil {
				// Not listening yet, busy, or without the metadata
				// itself: ask again later, less and less often.
				retryAt[r.addr] = time.Now().Add(min(metadataRetryMin<<min(tried[r.addr]-1, 10), metadataRetryMax))
			}
		case now := <-retryTick.C:
			for a, at := range retryAt {
				if now.After(at) {
					delete(retryAt, a)
					queue = append(queue, a)
				}
			}
		case addrs := <-found:
			for _, a := range addrs {
				if _, seen := tried[a]; !seen && len(tried) < maxCandidates && !slices.Contains(queue, a) {
					queue = append(queue, a)
				}
			}
		case <-ctx.Done():
			select {
			case raw := <-results:
				ok = true
				return raw, nil
			default:
			}
			if c.ctx.Err() != nil {
				return nil, ErrClientClosed
			}
			return nil, fmt.Errorf("debtorrent: add magnet %s: no metadata from %d peers tried (last: %v): %w", ih, len(tried), lastErr, context.Cause(ctx))
		}
	}
}

// fetchResult is how asking one peer for metadata ended.
type fetchResult struct {
	addr string
	err  error
}

// errBadMetadata marks a peer that sent malformed metadata messages or
// pieces that do not hash to the infohash: it is not asked again.
var errBadMetadata = errors.New("bad metadata")

// announceForMetadata asks the trackers for peers of ih every
// retryAnnounceInterval until ctx ends, and offers them to found.
func (c *Client) announceForMetadata(ctx context.Context, ih metainfo.InfoHash, tierList [][]string, found chan<- []string) {
	tiers := tracker.NewTiers(c.tracker, tierList)
	for {
		resp, _, err := tiers.Announce(ctx, tracker.AnnounceRequest{InfoHash: ih, PeerID: tracker.PeerID(c.peerID),
			Port: c.port(), Left: 1, NumWant: 50})
		if err == nil {
			addrs := make([]string, 0, len(resp.Peers))
			for _, p := range resp.Peers {
				addrs = append(addrs, p.Addr.String())
			}
			select {
			case found <- addrs:
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() == nil {
			c.log.Warn("debtorrent: announce for metadata failed", "infohash", ih, "err", err)
		}
		tm := time.NewTimer(retryAnnounceInterval)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-tm.C:
		}
	}
}

// metadataFrom connects to addr and fetches ih's info dictionary from it
// over ut_metadata, checking its SHA1 against ih.
func (c *Client) metadataFrom(ctx context.Context, ih metainfo.InfoHash, addr string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, metadataPeerTimeout)
	defer cancel()
	if !c.reserveConn() {
		return nil, errors.New("no connection slot free (Config.MaxConns)")
	}
	defer c.releaseConn()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// A peer ID of its own: the peer may not have seen this connection
	// close when the torrent's own connection arrives, and would refuse
	// that one as a duplicate of ours.
	id, err := peerwire.NewPeerID(rand.Reader)
	if err != nil {
		nc.Close()
		return nil, err
	}
	hs, err := peerwire.Initiate(ctx, nc, peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: ih, PeerID: id})
	if err != nil {
		nc.Close()
		return nil, err
	}
	common := hs.Reserved.Common(peerwire.DefaultReserved())
	if hs.PeerID == c.peerID {
		nc.Close()
		return nil, errors.New("it is ourselves")
	}
	if !common.Extensions() {
		nc.Close()
		return nil, errors.New("it does not speak the extension protocol (BEP 10), so not ut_metadata")
	}
	conn := peerwire.NewConn(ctx, nc, peerwire.Config{
		Limits: peerwire.Limits{Fast: common.Fast(), Extensions: true},
		Pool:   c.pool,
	})
	defer conn.Close()
	h := peerwire.ExtendedHandshake{M: map[string]int{peerwire.ExtensionMetadata: extMetadata}, V: "debtorrent", P: int(c.port()), Reqq: ourReqq}
	m, err := h.Message()
	if err != nil {
		return nil, err
	}
	if err := conn.Send(ctx, m); err != nil {
		return nil, err
	}
	f := metadataFetch{conn: conn, ih: ih}
	for {
		m, err := conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		if m.ID != peerwire.Extended || m.KeepAlive || m.Unknown {
			m.Release()
			continue
		}
		raw, err := f.onExtended(ctx, m)
		m.Release()
		if err != nil || raw != nil {
			return raw, err
		}
	}
}

// metadataFetch is the state of fetching metadata from one peer; one
// goroutine (metadataFrom's) uses it.
type metadataFetch struct {
	conn      *peerwire.Conn
	ih        metainfo.InfoHash
	theirID   uint8
	asm       *peerwire.MetadataAssembler
	requested int // pieces requested so far, in order
}

// onExtended applies one extended message: the peer's handshake starts the
// requests, data adds to the assembler and asks for the next piece. It
// returns the info dictionary once complete and verified.
func (f *metadataFetch) onExtended(ctx context.Context, m peerwire.Message) ([]byte, error) {
	switch m.ExtendedID {
	case peerwire.HandshakeExtendedID:
		if f.asm != nil {
			return nil, nil // a second handshake changes nothing we use
		}
		h, err := peerwire.ParseExtendedHandshake(m.Payload)
		if err != nil {
			return nil, err
		}
		id, ok := h.ID(peerwire.ExtensionMetadata)
		if !ok {
			return nil, errors.New("it does not offer ut_metadata")
		}
		if h.MetadataSize <= 0 || h.MetadataSize > peerwire.MaxMetadataSize {
			return nil, fmt.Errorf("its metadata_size %d is not in 1..%d", h.MetadataSize, peerwire.MaxMetadataSize)
		}
		asm, err := peerwire.NewMetadataAssembler(f.ih, h.MetadataSize)
		if err != nil {
			return nil, err
		}
		f.asm, f.theirID = asm, id
		for range metadataWindow {
			if err := f.requestNext(ctx); err != nil {
				return nil, err
			}
		}
	case extMetadata:
		if f.asm == nil {
			return nil, errors.New("ut_metadata message before its extension handshake")
		}
		mm, err := peerwire.ParseMetadataMessage(m.Payload)
		if errors.Is(err, peerwire.ErrMetadataUnknownType) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadMetadata, err)
		}
		switch mm.Type {
		case peerwire.MetadataReject:
			return nil, fmt.Errorf("it rejected our request for metadata piece %d", mm.Piece)
		case peerwire.MetadataRequest:
			// We have no metadata to give yet.
			out, err := peerwire.MarshalMetadataMessage(peerwire.MetadataMessage{Type: peerwire.MetadataReject, Piece: mm.Piece})
			if err != nil {
				return nil, err
			}
			return nil, f.conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: f.theirID, Payload: out})
		}
		raw, err := f.asm.Add(mm)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadMetadata, err)
		}
		if raw != nil {
			return raw, nil
		}
		return nil, f.requestNext(ctx)
	}
	return nil, nil
}

// requestNext asks for the next metadata piece not yet requested, if any.
func (f *metadataFetch) requestNext(ctx context.Context) error {
	if f.requested >= f.asm.NumPieces() {
		return nil
	}
	out, err := peerwire.MarshalMetadataMessage(peerwire.MetadataMessage{Type: peerwire.MetadataRequest, Piece: f.requested})
	if err != nil {
		return err
	}
	f.requested++
	return f.conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: f.theirID, Payload: out})
}
