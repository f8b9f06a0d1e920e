package debtorrent

import (
	"errors"
	"math"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// maxVerifying bounds the pieces verified (and committed to the store) at
// once, off the loop.
const maxVerifying = 8

// Bounds of a peer's request queue, in blocks.
const (
	minQueueDepth     = 4
	maxQueueDepth     = 500
	initialQueueDepth = 64 // before the peer's rate is known
	rampUp            = 5 * time.Second
)

// queueDepth returns how many blocks to keep requested from a peer that sends
// rate bytes per second with round trip rtt: enough to cover the round trip
// plus queueTime of data, so the pipe never runs dry while the peer's queue
// stays short enough to move on quickly (rate × (rtt + queueTime) / block,
// between minQueueDepth and maxQueueDepth, and never above the peer's own
// reqq). A peer whose rate is not known yet gets initialQueueDepth.
func queueDepth(rate float64, rtt, queueTime time.Duration, reqq int) int {
	d := initialQueueDepth
	if rate > 0 {
		bytes := rate * (rtt + queueTime).Seconds()
		d = int(math.Ceil(bytes / piecepicker.BlockSize))
	}
	d = min(max(d, minQueueDepth), maxQueueDepth)
	if reqq > 0 {
		d = min(d, reqq)
	}
	return d
}

// depth returns p's request queue depth now. While the peer's rate meter is
// young (its first rampUp), the depth does not fall below
// initialQueueDepth: a meter a fraction of a second old underestimates the
// rate, and a short queue would keep it low on a long round trip.
func (t *Torrent) depth(p *peer, now time.Time) int {
	d := queueDepth(p.down.Rate(now), p.rtt, t.c.cfg.RequestQueueTime, p.reqq)
	if now.Sub(p.connectedAt) < rampUp {
		d = max(d, min(initialQueueDepth, p.reqq))
	}
	return d
}

// fill tops p's request queue up from the picker.
func (t *Torrent) fill(p *peer) {
	if p.removed || t.pk.NumWanted() == 0 {
		return
	}
	now := time.Now()
	if now.Before(p.stalledUntil) {
		return
	}
	outstanding := p.pp.NumRequests()
	n := t.depth(p, now) - outstanding
	if n <= 0 {
		return
	}
	reqs := t.pk.Pick(p.pp, n, t.reqBuf[:0])
	t.reqBuf = reqs[:0]
	if len(reqs) == 0 {
		return
	}
	msgs := make([]peerwire.Message, len(reqs))
	for k, r := range reqs {
		p.sent[r] = now
		msgs[k] = peerwire.Message{ID: peerwire.Request, Index: uint32(r.Piece), Begin: uint32(r.Begin), Length: uint32(r.Length)}
	}
	if outstanding == 0 {
		p.waitingSince = now
	}
	p.out.push(msgs...)
}

// refillAll updates our interest in every peer and tops up its queue (after
// requests returned to the pool, or what we want changed).
func (t *Torrent) refillAll() {
	for p := range t.peers {
		t.updateInterest(p)
		t.fill(p)
	}
}

// onBlock takes a block a peer sent: the picker decides whether it is wanted,
// a writer stores it, and a complete piece goes to verification.
func (t *Torrent) onBlock(p *peer, m peerwire.Message) {
	now := time.Now()
	r := piecepicker.Request{Piece: int(m.Index), Begin: int64(m.Begin), Length: int64(len(m.Block))}
	if at, ok := p.sent[r]; ok {
		delete(p.sent, r)
		lat := now.Sub(at)
		if p.rtt == 0 || lat < p.rtt || now.Sub(p.rttAt) > 10*time.Second {
			p.rtt, p.rttAt = lat, now
		}
	}
	p.lastBlockAt = now
	rc := t.pk.BlockReceived(p.pp, r)
	for _, o := range rc.Cancel {
		if q := t.peerOf(o); q != nil {
			t.cancelRequest(q, r)
		}
	}
	if rc.Wanted {
		n := int64(len(m.Block))
		p.down.Add(n, now)
		t.down.Add(n, now)
		t.counts.fromPeers += n
		t.c.totals.fromPeers.Add(n)
		if t.web != nil {
			t.web.notePeerBytes(r.Piece, n)
		}
		t.keepBlock(r, m.Block, m.Buffer, rc.PieceDone)
	} else {
		m.Release()
	}
	t.fill(p)
}

// keepBlock remembers a wanted block's hash for the hunt for bad peers and
// hands it to its writer, which releases buf; the piece's last block starts
// its verification once written.
func (t *Torrent) keepBlock(r piecepicker.Request, data []byte, buf *peerwire.Block, done bool) {
	a := t.activeOf(r.Piece)
	if a.recv == nil {
		a.recv = make([]uint64, t.pk.NumBlocks(r.Piece))
	}
	a.recv[r.Begin/piecepicker.BlockSize] = xxhash.Sum64(data)
	t.write(writeJob{r: r, data: data, buf: buf, last: done})
}

// startVerify checks piece i off the loop (at most maxVerifying at once)
// and reports to the loop. Writers call it after a piece's last block.
func (t *Torrent) startVerify(i int) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		select {
		case t.verifySem <- struct{}{}:
		case <-t.ctx.Done():
			return
		}
		err := t.st.FinishPiece(i)
		<-t.verifySem
		t.send(evVerified{i, err})
	}()
}

// errIsMismatch reports whether a FinishPiece error means bad data.
func errIsMismatch(err error) bool { return errors.Is(err, ErrHashMismatch) }
