package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/internal/choker"
	"github.com/debtorrent/debtorrent/internal/rate"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
	"github.com/debtorrent/debtorrent/websource"
)

// ErrTorrentClosed is returned by the methods of a closed Torrent.
var ErrTorrentClosed = errors.New("debtorrent: torrent closed")

// TorrentOptions say where a torrent's data may come from.
type TorrentOptions struct {
	// Trackers are the announce tiers (BEP 12): metainfo's AnnounceList, or
	// {{Announce}}. Empty: no tracker; add peers with Torrent.AddPeer.
	Trackers [][]string
	// WebSource is a mirror (Debian torrents) or url-list web seed
	// (standard torrents) the torrent may fetch pieces from. Nil: none.
	WebSource websource.WebSource
	// DownloadAll wants every piece from the start, as Torrent.DownloadAll.
	DownloadAll bool
	// ImportDir, if set, is a directory holding the torrent's files in the
	// usual layout (ImportDir/<name>[/<path>]), e.g. data to seed that was
	// not downloaded by this storage: AddTorrent checks the pieces the
	// storage lacks against them and stores those that match. It reads all
	// of that data.
	ImportDir string
}

// Torrent is one swarm: its peers, its pieces and its sources.
//
// One goroutine, the torrent's loop, owns all of its state: the piece
// picker, the peers' protocol state, the per-piece state (waiters, block
// hashes, suspects, the web source's view). Peers' reader goroutines,
// verification workers, web fetches and the public methods send it events;
// the store's observer leaves it hints. What it shares with other torrents
// (rate limiters, block pool, storage) sits behind short-held locks of their
// own.
//
// Sources work together by this rule (see WebConfig for the numbers): an
// urgent piece no connected peer has goes to the web source at once; an
// urgent piece peers have is fetched from peers, and every Tick the loop
// compares the peers' estimated time to finish it (bytes missing over the
// rate it has been arriving at; infinite when nothing arrived within Grace)
// with the web source's (measured latency plus bytes missing over its
// measured rate). When the peers' estimate exceeds Hysteresis times the web
// source's, or the peers would miss the piece's deadline (the earliest a
// waiter gave) while the web source would be sooner, the blocks not yet
// received are taken from the peers (cancelled) and given to the web source.
// A deadline already passed no longer counts: only the Hysteresis rule does.
// When no connected peer has a waited piece and the web source does not have
// it or keeps failing, the waiters get ErrNoSource.
// Wanted pieces that are not urgent go to the web source only when no
// connected peer has them and the torrent has run for NormalDelay. A web
// fetch is cut short as soon as one of its blocks turns out to have been
// delivered by a peer, so the mirror is never asked for bytes a peer already
// sent. Bytes kept from peers and from the web source are counted apart.
//
// A piece that fails verification is fetched again. If one source sent all
// of it, that source is banned at once (a peer: by IP, ip:port and peer ID,
// for every torrent of the Client, see banList; a mirror: reported with
// WebSource.BadHash). Otherwise the xxhash of each
// block its senders sent is kept; when the piece later verifies, each
// suspect's blocks are compared with the good data and those that differ
// convict their sender.
type Torrent struct {
	c    *Client
	info *metainfo.Info
	ih   metainfo.InfoHash
	st   TorrentStorage
	opts TorrentOptions
	log  *slog.Logger

	events   chan event
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // every goroutine of the torrent but the loop
	loopDone chan struct{}
	closing  sync.Once
	admit    sync.Mutex // orders new connections against shutdown
	closeErr error

	stats    *statsBox
	complete chan struct{} // closed once every piece is verified
	hints    hints         // pieces the store may have stored or removed (content.go)

	// Owned by the loop.
	pk          *piecepicker.Picker
	resumed     *piecepicker.Peer // the picker handle of blocks the storage kept (resume.go); nil until needed
	peers       map[*peer]struct{}
	byPP        map[*piecepicker.Peer]*peer
	dialing     map[string]bool
	candidates  []string
	failedAt    map[string]time.Time // when a dial to an address last failed
	banned      map[string]bool      // our own addresses, as listed by trackers: never dialled (bans of liars: Client.bans)
	adm         admission            // per-address counts of admitted peers (admit.go)
	active      map[int]*activePiece // per-piece state (active.go)
	web         *webState
	down        *rate.Meter
	up          *rate.Meter
	chokeState  choker.State
	rng         *rand.Rand
	startedAt   time.Time
	dirty       bool
	verifySem   chan struct{}
	writers     []chan writeJob // see writer.go
	reqBuf      []piecepicker.Request
	counts      torrentCounts
	completedCh chan struct{} // closed by the loop when complete, for the announcer

	exts map[*peer]*peerExt // PEX and ut_metadata state of connected peers (pex.go)
}

// torrentCounts are the loop's counters, published in TorrentStats.
type torrentCounts struct {
	fromPeers, fromWeb int64
	bytesHave          int64
	hashFailures       int
	banned             int
}

// waiter is the set of callers waiting for one piece.
type waiter struct {
	n        int
	prevPrio piecepicker.Priority
	deadline time.Time     // the earliest deadline asked for (zero: none)
	done     chan struct{} // closed when the piece is had, or err is set
	err      error         // why no source can deliver the piece; set before done closes
}

// event is anything sent to the torrent's loop: one of the ev* types.
type event interface{ isEvent() }

type (
	evPeer struct{ p *peer }
	evMsg  struct {
		p *peer
		m peerwire.Message
	}
	evGone struct {
		p   *peer
		err error
	}
	evVerified struct {
		piece int
		err   error
	}
	evAddrs      struct{ addrs []string }
	evDialFailed struct{ addr string }
	evCall       struct {
		fn   func()
		done chan struct{}
	}
)

func (evPeer) isEvent()       {}
func (evMsg) isEvent()        {}
func (evGone) isEvent()       {}
func (evVerified) isEvent()   {}
func (evAddrs) isEvent()      {}
func (evDialFailed) isEvent() {}
func (evCall) isEvent()       {}

func newTorrent(c *Client, info *metainfo.Info, ts TorrentStorage, opts TorrentOptions) (*Torrent, error) {
	pk, err := piecepicker.FromInfo(info, piecepicker.Options{})
	if err != nil {
		return nil, fmt.Errorf("debtorrent: add torrent %s: %w", info.Name, err)
	}
	var have int64
	for i, p := range info.Pieces {
		if ts.PieceComplete(i) {
			pk.PieceVerified(i)
			have += p.Length
		}
	}
	t := &Torrent{
		c:           c,
		info:        info,
		ih:          info.InfoHash(),
		st:          ts,
		opts:        opts,
		log:         c.log.With("torrent", info.Name),
		events:      make(chan event, 512),
		loopDone:    make(chan struct{}),
		stats:       newStatsBox(),
		complete:    make(chan struct{}),
		pk:          pk,
		peers:       make(map[*peer]struct{}),
		byPP:        make(map[*piecepicker.Peer]*peer),
		dialing:     make(map[string]bool),
		failedAt:    make(map[string]time.Time),
		banned:      make(map[string]bool),
		active:      make(map[int]*activePiece),
		down:        rate.NewMeter(0),
		up:          rate.NewMeter(0),
		rng:         rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		startedAt:   time.Now(),
		verifySem:   make(chan struct{}, maxVerifying),
		completedCh: make(chan struct{}),
		exts:        make(map[*peer]*peerExt),
	}
	t.hints.wake = make(chan struct{}, 1)
	t.counts.bytesHave = have
	t.ctx, t.cancel = context.WithCancel(c.ctx)
	if opts.WebSource != nil {
		t.web = newWebState(t, opts.WebSource)
	}
	if opts.DownloadAll {
		t.downloadAll()
	}
	if pk.NumHave() == info.NumPieces() {
		close(t.complete)
		close(t.completedCh)
	}
	t.publish()
	return t, nil
}

// start runs the loop and the announcer.
func (t *Torrent) start() {
	t.startWriters()
	go t.loop()
	if len(t.opts.Trackers) > 0 {
		t.wg.Add(1)
		go t.announceLoop()
	}
}

// Info returns the torrent's description.
func (t *Torrent) Info() *metainfo.Info { return t.info }

// InfoHash returns the torrent's infohash.
func (t *Torrent) InfoHash() metainfo.InfoHash { return t.ih }

// Stats returns the latest published statistics.
func (t *Torrent) Stats() TorrentStats {
	s, _ := t.stats.get()
	return s
}

// Changed returns a channel closed the next time the statistics change (a
// piece verified, a peer connected or gone, ...; byte counts at least every
// 200 ms while anything moves).
func (t *Torrent) Changed() <-chan struct{} {
	_, ch := t.stats.get()
	return ch
}

// WaitFor waits until cond holds for the torrent's statistics, ctx ends, or
// the torrent closes.
func (t *Torrent) WaitFor(ctx context.Context, cond func(TorrentStats) bool) error {
	for {
		s, ch := t.stats.get()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("debtorrent: %s: waiting: %w (last stats %+v)", t.info.Name, context.Cause(ctx), s)
		case <-t.loopDone:
			return ErrTorrentClosed
		}
	}
}

// Complete returns a channel closed once every piece is verified. It stays
// closed: a piece the store evicts later is fetched again when asked for,
// but the torrent was complete once (as the tracker was told).
func (t *Torrent) Complete() <-chan struct{} { return t.complete }

// DownloadAll wants every missing piece at normal priority (pieces already
// wanted more keep their priority).
func (t *Torrent) DownloadAll() error {
	return t.do(context.Background(), t.downloadAll)
}

func (t *Torrent) downloadAll() {
	for i := range t.info.NumPieces() {
		if t.pk.Priority(i) == piecepicker.None && !t.pk.HavePiece(i) {
			t.pk.SetPriority(i, piecepicker.Normal)
		}
	}
	t.dirty = true
	if t.peers != nil {
		t.refillAll()
	}
}

// AddPeer dials a peer at addr ("host:port") unless it is connected,
// banned, or the connection limits are reached.
func (t *Torrent) AddPeer(addr string) error {
	return t.do(context.Background(), func() { t.addCandidates([]string{addr}, true) })
}

// Close leaves the swarm: it announces "stopped", closes the torrent's
// connections and storage, and waits for its goroutines. Waiters get
// ErrTorrentClosed.
func (t *Torrent) Close() error {
	t.closing.Do(func() {
		t.c.content.remove(t)
		t.cancel()
		<-t.loopDone
		t.wg.Wait()
		if err := t.st.Close(); err != nil {
			t.closeErr = fmt.Errorf("debtorrent: close torrent %s: %w", t.info.Name, err)
		}
		t.c.forget(t)
	})
	return t.closeErr
}

// do runs fn on the loop and waits for it. When ctx ends first, fn may
// still run later.
func (t *Torrent) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	if !t.send(evCall{fn: fn, done: done}) {
		return ErrTorrentClosed
	}
	select {
	case <-done:
		return nil
	case <-t.loopDone:
		return ErrTorrentClosed
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// send delivers ev to the loop, or reports that the torrent is closing.
func (t *Torrent) send(ev event) bool {
	select {
	case t.events <- ev:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// sendPeer hands a new connection to the loop. Unlike send, it never
// queues one once the torrent is closing, so that shutdown can release every
// connection queued before.
func (t *Torrent) sendPeer(p *peer) bool {
	t.admit.Lock()
	defer t.admit.Unlock()
	if t.ctx.Err() != nil {
		return false
	}
	return t.send(evPeer{p})
}

// loop is the goroutine that owns the torrent's state.
func (t *Torrent) loop() {
	defer close(t.loopDone)
	tick := time.NewTicker(t.c.cfg.Web.Tick)
	defer tick.Stop()
	chokeTick := time.NewTicker(choker.DefaultConfig().Round)
	defer chokeTick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			t.shutdown()
			return
		case ev := <-t.events:
			t.handle(ev)
			if t.dirty && len(t.events) == 0 {
				t.publish()
			}
		case now := <-tick.C:
			t.onTick(now)
			t.publish()
		case now := <-chokeTick.C:
			t.rechoke(now)
		case <-t.hints.wake:
			t.reconcileHinted()
			if t.dirty && len(t.events) == 0 {
				t.publish()
			}
		}
	}
}

// handle dispatches one event.
func (t *Torrent) handle(ev event) {
	switch ev := ev.(type) {
	case evMsg:
		t.onMessage(ev.p, ev.m)
	case evPeer:
		t.onPeer(ev.p)
	case evGone:
		t.removePeer(ev.p, ev.err)
	case evVerified:
		t.onVerified(ev.piece, ev.err)
	case evWebBlock:
		t.web.onBlock(ev)
	case evWebDone:
		t.web.onDone(ev)
	case evGoodHashes:
		t.onGoodHashes(ev)
	case evAddrs:
		t.addCandidates(ev.addrs, false)
	case evDialFailed:
		delete(t.dialing, ev.addr)
		t.failedAt[ev.addr] = time.Now()
		t.dialMore()
	case evCall:
		ev.fn()
		close(ev.done)
	default:
		panic(fmt.Sprintf("debtorrent: unknown event %T", ev))
	}
}

// onTick runs the periodic work: stalled requests, the web rule, dialing.
func (t *Torrent) onTick(now time.Time) {
	for p := range t.peers {
		t.checkStalled(p, now)
	}
	if t.web != nil {
		t.web.schedule(now)
	}
	t.sweepBanned()
	t.dialMore()
	t.pexTick(now)
}

// shutdown closes every connection, and those still waiting in the event
// queue; the goroutines then end on their own.
func (t *Torrent) shutdown() {
	for p := range t.peers {
		t.removePeer(p, ErrTorrentClosed)
	}
	// No connection is queued after this: sendPeer checks ctx under admit.
	t.admit.Lock()
	t.admit.Unlock() //nolint:staticcheck // an empty critical section is the point
	for {
		select {
		case ev := <-t.events:
			switch ev := ev.(type) {
			case evPeer:
				ev.p.conn.Close()
				t.c.releaseConn()
			case evMsg:
				ev.m.Release()
			}
		default:
			return
		}
	}
}

// publish makes the current statistics visible and wakes Changed.
func (t *Torrent) publish() {
	t.dirty = false
	now := time.Now()
	s := TorrentStats{
		Pieces:         t.info.NumPieces(),
		PiecesHave:     t.pk.NumHave(),
		Length:         t.info.TotalLength(),
		Wanted:         t.pk.NumWanted(),
		Peers:          len(t.peers),
		Machines:       t.machines(),
		BytesFromPeers: t.counts.fromPeers,
		BytesFromWeb:   t.counts.fromWeb,
		BytesUploaded:  t.up.Total(),
		DownloadRate:   t.down.Rate(now),
		UploadRate:     t.up.Rate(now),
		HashFailures:   t.counts.hashFailures,
		Banned:         t.counts.banned,
		BytesHave:      t.counts.bytesHave,
	}
	t.stats.publish(s)
}

// machines counts the distinct hosts of the connected peers.
func (t *Torrent) machines() int {
	hosts := make(map[string]struct{}, len(t.peers))
	for p := range t.peers {
		h, _, err := net.SplitHostPort(p.addr)
		if err != nil {
			h = p.addr
		}
		hosts[h] = struct{}{}
	}
	return len(hosts)
}
