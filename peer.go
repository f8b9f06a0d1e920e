package debtorrent

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debtorrent/debtorrent/internal/rate"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// maxUploadQueue bounds the requests a peer may have waiting to be served;
// more are ignored, as peers that ask for more than our reqq deserve.
const maxUploadQueue = 1024

// ourReqq is the request queue length we announce in the extension handshake.
const ourReqq = 1000

// peer is one connection. Its fields are grouped by who may touch them.
type peer struct {
	// Immutable after connected makes the peer; any goroutine may read.
	t           *Torrent
	conn        *peerwire.Conn
	addr        string // dial address, or remote address when it connected to us
	id          peerwire.PeerID
	outgoing    bool
	fast        bool
	ext         bool
	connectedAt time.Time

	// Shared, each with its own synchronisation.
	down, up  *rate.Meter // safe for concurrent use: the loop adds to down, the sender to up
	amChoking atomic.Bool // set by the loop; the reader and sender read it to serve or refuse requests
	out       outbox      // its own mutex: the loop and the reader push, the sender drains

	// Owned by the loop.
	pp           *piecepicker.Peer
	removed      bool
	amInterested bool
	interested   bool // the peer is interested in us
	unchoked     bool
	unchokedAt   time.Time
	optimistic   bool
	lastBlockAt  time.Time
	waitingSince time.Time // when requests were last sent to an empty queue
	sent         map[piecepicker.Request]time.Time
	rtt          time.Duration // smallest request→block latency seen recently
	rttAt        time.Time
	reqq         int       // the most requests the peer queues (its "reqq")
	stalledUntil time.Time // no requests to a peer that stalled, until then
	dontHaveID   uint8     // the peer's extended ID for lt_donthave; 0: unsupported
	fleet        bool      // a debtorrent peer (its extended handshake says so): choked by fleet rules

	// The reader goroutine (readLoop) and the sender goroutine (sendLoop)
	// own nothing here beyond their locals: the sender's open piece
	// reader lives in sendLoop.
}

// outbox holds what the sender goroutine is to write: control messages first,
// then blocks to upload.
type outbox struct {
	mu      sync.Mutex
	ctrl    []peerwire.Message
	uploads []piecepicker.Request
	wake    chan struct{}
}

// push queues control messages and wakes the sender.
func (o *outbox) push(ms ...peerwire.Message) {
	o.mu.Lock()
	o.ctrl = append(o.ctrl, ms...)
	o.mu.Unlock()
	o.signal()
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// connected turns a connection whose handshake is done into a peer of t and
// hands it to the loop. It takes over nc and the connection slot reserved
// for it.
func (t *Torrent) connected(nc net.Conn, hs peerwire.Handshake, dialAddr string) {
	common := hs.Reserved.Common(peerwire.DefaultReserved())
	cfg := peerwire.Config{
		Limits: peerwire.Limits{
			NumPieces:  t.info.NumPieces(),
			Fast:       common.Fast(),
			Extensions: common.Extensions(),
		},
		Pool:        t.c.pool,
		QueueLength: 1024,
	}
	addr := dialAddr
	if addr == "" {
		addr = nc.RemoteAddr().String()
	}
	p := &peer{
		t:           t,
		conn:        peerwire.NewConn(t.ctx, nc, cfg),
		addr:        addr,
		id:          hs.PeerID,
		outgoing:    dialAddr != "",
		fast:        common.Fast(),
		ext:         common.Extensions(),
		connectedAt: time.Now(),
		down:        rate.NewMeter(0),
		up:          rate.NewMeter(0),
		sent:        make(map[piecepicker.Request]time.Time),
		reqq:        250,
	}
	p.out.wake = make(chan struct{}, 1)
	p.amChoking.Store(true)
	if !t.sendPeer(p) {
		p.conn.Close()
		t.c.releaseConn()
	}
}

// run starts the peer's reader and sender goroutines.
func (p *peer) run() {
	t := p.t
	t.wg.Add(2)
	go func() {
		defer t.wg.Done()
		p.readLoop()
	}()
	go func() {
		defer t.wg.Done()
		p.sendLoop()
	}()
}

// readLoop reads messages. Requests and cancels are handled here, against the
// outbox; everything else goes to the loop.
func (p *peer) readLoop() {
	t := p.t
	for {
		m, err := p.conn.ReadMessage()
		if err != nil {
			t.send(evGone{p, err})
			return
		}
		switch {
		case m.KeepAlive || m.Unknown:
			continue
		case m.ID == peerwire.Request:
			p.onRequest(m)
			continue
		case m.ID == peerwire.Cancel:
			p.onCancel(m)
			continue
		case m.ID == peerwire.Piece:
			if err := t.c.down.Wait(t.ctx, int64(len(m.Block))); err != nil {
				m.Release()
				return
			}
		}
		if !t.send(evMsg{p, m}) {
			m.Release()
			return
		}
	}
}

// onRequest queues a request of an unchoked peer for a verified piece.
func (p *peer) onRequest(m peerwire.Message) {
	r := piecepicker.Request{Piece: int(m.Index), Begin: int64(m.Begin), Length: int64(m.Length)}
	ok := r.Piece < p.t.info.NumPieces() && r.Begin+r.Length <= p.t.info.Pieces[r.Piece].Length &&
		p.t.st.PieceComplete(r.Piece)
	p.out.mu.Lock()
	if ok && !p.amChoking.Load() && len(p.out.uploads) < maxUploadQueue {
		p.out.uploads = append(p.out.uploads, r)
	} else if p.fast {
		p.out.ctrl = append(p.out.ctrl, peerwire.Message{ID: peerwire.Reject, Index: m.Index, Begin: m.Begin, Length: m.Length})
	}
	p.out.mu.Unlock()
	p.out.signal()
}

// onCancel drops a queued request.
func (p *peer) onCancel(m peerwire.Message) {
	r := piecepicker.Request{Piece: int(m.Index), Begin: int64(m.Begin), Length: int64(m.Length)}
	p.out.mu.Lock()
	for i, u := range p.out.uploads {
		if u == r {
			p.out.uploads = append(p.out.uploads[:i], p.out.uploads[i+1:]...)
			if p.fast {
				p.out.ctrl = append(p.out.ctrl, peerwire.Message{ID: peerwire.Reject, Index: m.Index, Begin: m.Begin, Length: m.Length})
			}
			break
		}
	}
	p.out.mu.Unlock()
	p.out.signal()
}

// sendLoop writes the outbox: control messages, then one block at a time so
// that a choke or cancel is never stuck behind a long upload queue.
func (p *peer) sendLoop() {
	t := p.t
	var rd PieceReader
	rdPiece := -1
	defer func() {
		if rd != nil {
			rd.Close()
		}
	}()
	for {
		select {
		case <-p.out.wake:
		case <-p.conn.Done():
			return
		}
		for {
			p.out.mu.Lock()
			ctrl := p.out.ctrl
			p.out.ctrl = nil
			var up piecepicker.Request
			serve := false
			if len(p.out.uploads) > 0 && !p.amChoking.Load() {
				up, serve = p.out.uploads[0], true
				p.out.uploads = p.out.uploads[1:]
			}
			p.out.mu.Unlock()
			if len(ctrl) == 0 && !serve {
				break
			}
			for _, m := range ctrl {
				if err := p.conn.Send(t.ctx, m); err != nil {
					return
				}
			}
			if !serve {
				continue
			}
			if rdPiece != up.Piece {
				if rd != nil {
					rd.Close()
					rd = nil
				}
				r, err := t.st.OpenPiece(up.Piece)
				if err != nil {
					// Gone since the request was queued (evicted): the
					// loop reconciles, the peer gets a reject.
					t.log.Debug("debtorrent: cannot serve piece", "piece", up.Piece, "err", err)
					rdPiece = -1
					t.hint(up.Piece)
					if p.fast {
						p.out.push(peerwire.Message{ID: peerwire.Reject, Index: uint32(up.Piece), Begin: uint32(up.Begin), Length: uint32(up.Length)})
					}
					continue
				}
				rd, rdPiece = r, up.Piece
			}
			if err := p.upload(rd, up); errors.Is(err, errReadPiece) {
				t.log.Warn("debtorrent: cannot serve a block", "peer", p.addr, "err", err)
				rd.Close()
				rd, rdPiece = nil, -1
				if p.fast {
					p.out.push(peerwire.Message{ID: peerwire.Reject, Index: uint32(up.Piece), Begin: uint32(up.Begin), Length: uint32(up.Length)})
				}
			} else if err != nil {
				if !errors.Is(err, peerwire.ErrClosed) && t.ctx.Err() == nil {
					t.log.Debug("debtorrent: upload failed", "peer", p.addr, "err", err)
				}
				p.conn.Close()
				return
			}
		}
	}
}

// errReadPiece marks an upload that failed on our side, reading the store:
// the peer is not to blame.
var errReadPiece = errors.New("read piece")

// upload reads one block from rd and sends it, paced by the upload limit.
func (p *peer) upload(rd PieceReader, r piecepicker.Request) error {
	t := p.t
	b := t.c.pool.Get(int(r.Length))
	if _, err := rd.ReadAt(b.Bytes(), r.Begin); err != nil && !errors.Is(err, io.EOF) {
		b.Release()
		return fmt.Errorf("%w %d: %w", errReadPiece, r.Piece, err)
	}
	if err := t.c.up.Wait(t.ctx, r.Length); err != nil {
		b.Release()
		return err
	}
	m := peerwire.Message{ID: peerwire.Piece, Index: uint32(r.Piece), Begin: uint32(r.Begin), Block: b.Bytes(), Buffer: b}
	if err := p.conn.Send(t.ctx, m); err != nil {
		return err
	}
	now := time.Now()
	p.up.Add(r.Length, now)
	t.up.Add(r.Length, now)
	t.c.totals.uploaded.Add(r.Length)
	return nil
}
