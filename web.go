package debtorrent

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
	"github.com/debtorrent/debtorrent/websource"
)

// webState is the loop's view of a torrent's web source; what it knows per
// piece is in the piece's activePiece (webPiece).
type webState struct {
	t       *Torrent
	src     websource.WebSource
	pp      *piecepicker.Peer
	fetches int
	rate    float64       // measured bytes per second, 0 until measured
	latency time.Duration // measured time to first byte, 0 until measured
	running map[piecepicker.Request]context.CancelCauseFunc
	// normalCandidates caches anyCandidate's scan for non-urgent pieces,
	// done at scannedAt.
	normalCandidates bool
	scannedAt        time.Time
}

type (
	evWebBlock struct {
		r     piecepicker.Request
		data  *peerwire.Block
		reply chan bool
	}
	evWebDone struct {
		r         piecepicker.Request
		delivered int64
		sources   []string
		ttfb      time.Duration
		elapsed   time.Duration
		err       error
	}
)

func (evWebBlock) isEvent() {}
func (evWebDone) isEvent()  {}

// webRetryDelay is how long a piece whose web fetch failed (not found, or
// failing after the source's own retries) is left to peers before the web
// source is asked again.
const webRetryDelay = 5 * time.Second

// Why a fetch stopped early, on our side.
var (
	// errWebOverlap: a peer delivered the fetch's next block.
	errWebOverlap = errors.New("debtorrent: a peer delivered the rest of this run")
	// errWebUnwanted: nobody wants the piece any more.
	errWebUnwanted = errors.New("debtorrent: the piece is not wanted any more")
)

func newWebState(t *Torrent, src websource.WebSource) *webState {
	return &webState{
		t:       t,
		src:     src,
		pp:      t.pk.AddWebSource(),
		running: make(map[piecepicker.Request]context.CancelCauseFunc),
	}
}

// handOver is the rule that moves an urgent piece from peers to the web
// source: peersETA is the bytes missing over the rate peers delivered the
// piece at since it became urgent, infinite when nothing arrived within
// Grace; webETA is the source's latency plus the bytes missing over its rate.
// The piece is handed over when peersETA > Hysteresis × webETA, or when the
// peers would miss the piece's deadline (timeLeft; ≤ 0: no deadline) and the
// web source would be sooner.
func handOver(elapsed time.Duration, remaining, peerBytes int64, webRate float64, webLatency, timeLeft time.Duration, cfg WebConfig) bool {
	if remaining <= 0 {
		return false
	}
	peersETA := math.Inf(1)
	if peerBytes > 0 {
		peersETA = float64(remaining) / (float64(peerBytes) / max(elapsed.Seconds(), 1e-3))
	} else if elapsed < cfg.Grace {
		return false
	}
	webETA := webLatency.Seconds() + float64(remaining)/webRate
	if peersETA > cfg.Hysteresis*webETA {
		return true
	}
	return timeLeft > 0 && peersETA > timeLeft.Seconds() && webETA < peersETA
}

// timeLeft returns the time until deadline for handOver: 0 (no deadline
// rule) for none and for a deadline already passed, which no source can meet
// any more, so that only the hysteresis rule applies.
func timeLeft(deadline, now time.Time) time.Duration {
	if deadline.IsZero() || !deadline.After(now) {
		return 0
	}
	return deadline.Sub(now)
}

// measured returns the source's rate and latency, or the assumed ones.
func (w *webState) measured() (float64, time.Duration) {
	cfg := w.t.c.cfg.Web
	r, l := w.rate, w.latency
	if r <= 0 {
		r = cfg.AssumedRate
	}
	if l <= 0 {
		l = cfg.AssumedLatency
	}
	return r, l
}

// qualifies reports whether piece i may be fetched from the web now.
func (w *webState) qualifies(i int, now time.Time) bool {
	t := w.t
	a := t.active[i]
	if a != nil && now.Before(a.web.retryAt) {
		return false
	}
	if t.pk.Priority(i) == piecepicker.Urgent {
		return t.pk.Availability(i) == 0 || a != nil && a.web.handedOver
	}
	d := t.c.cfg.Web.NormalDelay
	return d > 0 && t.pk.Availability(i) == 0 && now.Sub(t.startedAt) >= d
}

// schedule applies the hand-over rule and starts fetches for the pieces
// that qualify, up to MaxFetches at once.
func (w *webState) schedule(now time.Time) {
	t := w.t
	cfg := t.c.cfg.Web
	rate, lat := w.measured()
	for i, a := range t.active {
		wp := &a.web
		if a.waiter == nil || wp.urgentSince.IsZero() || wp.handedOver || now.Before(wp.retryAt) ||
			t.pk.HavePiece(i) || t.pk.Availability(i) == 0 {
			continue
		}
		remaining := t.info.Pieces[i].Length - wp.got
		if handOver(now.Sub(wp.urgentSince), remaining, wp.peerGot, rate, lat, timeLeft(a.waiter.deadline, now), cfg) {
			t.log.Debug("debtorrent: handing urgent piece to the web source", "piece", i)
			wp.handedOver = true
			t.cancelPiece(i)
		}
	}
	if !w.anyCandidate(now) {
		return
	}
	var rejected []piecepicker.Request
	for tries := 0; w.fetches < cfg.MaxFetches && tries < 64; tries++ {
		r, ok := t.pk.PickForWeb(w.pp, cfg.MaxRun, piecepicker.Normal)
		if !ok {
			break
		}
		if !w.qualifies(r.Piece, now) {
			rejected = append(rejected, r)
			continue
		}
		w.start(r)
	}
	for _, r := range rejected {
		t.pk.WebFailed(w.pp, r)
	}
}

// anyCandidate reports whether some piece may go to the web now, so that
// the picker is not asked (and its pieces not started) for nothing: an urgent
// piece someone waits for that qualifies, or, at most once a second, a
// wanted piece no peer has once NormalDelay has passed.
func (w *webState) anyCandidate(now time.Time) bool {
	t := w.t
	for i, a := range t.active {
		if a.waiter != nil && w.qualifies(i, now) {
			return true
		}
	}
	d := t.c.cfg.Web.NormalDelay
	if d < 0 || now.Sub(t.startedAt) < d || t.pk.NumWanted() <= t.numWaited() {
		return false // nothing wanted but what is waited for
	}
	if now.Sub(w.scannedAt) < time.Second {
		return w.normalCandidates
	}
	w.scannedAt = now
	w.normalCandidates = false
	for i := range t.info.NumPieces() {
		if pr := t.pk.Priority(i); pr != piecepicker.None && pr != piecepicker.Urgent && !t.pk.HavePiece(i) && w.qualifies(i, now) {
			w.normalCandidates = true
			break
		}
	}
	return w.normalCandidates
}

// start fetches run r in a goroutine of the torrent.
func (w *webState) start(r piecepicker.Request) {
	t := w.t
	w.fetches++
	ctx, cancel := context.WithCancelCause(t.ctx)
	w.running[r] = cancel
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer cancel(nil)
		t.send(w.fetch(ctx, r))
	}()
}

// cancelPiece stops the fetches of piece i: nobody wants it any more.
func (w *webState) cancelPiece(i int) {
	for r, cancel := range w.running {
		if r.Piece == i {
			cancel(errWebUnwanted)
		}
	}
}

// fetch asks the source for run r, file range by file range, and feeds the
// loop block by block.
func (w *webState) fetch(ctx context.Context, r piecepicker.Request) evWebDone {
	t := w.t
	start := time.Now()
	bw := &webWriter{w: w, ctx: ctx, piece: r.Piece, pieceLen: t.info.Pieces[r.Piece].Length, next: r.Begin, end: r.Begin + r.Length}
	done := evWebDone{r: r}
	for _, fr := range t.info.Ranges(t.info.Pieces[r.Piece].Offset+r.Begin, r.Length) {
		req := websource.Request{
			Path:     websource.FilePath(t.info, fr.File),
			Offset:   fr.Offset,
			Length:   fr.Length,
			FileSize: t.info.Files[fr.File].Length,
		}
		res, err := w.src.Fetch(ctx, req, bw)
		for _, s := range res.Sources {
			if !slices.Contains(done.sources, s) {
				done.sources = append(done.sources, s)
			}
		}
		if err != nil {
			done.err = err
			break
		}
	}
	if done.err == nil {
		done.err = bw.flush()
	}
	if done.err != nil && ctx.Err() != nil {
		done.err = context.Cause(ctx)
	}
	if bw.buf != nil {
		bw.buf.Release()
	}
	done.delivered = bw.next - r.Begin
	done.ttfb = bw.firstAt.Sub(start)
	done.elapsed = time.Since(start)
	return done
}

// webWriter cuts a fetch's bytes into blocks and hands each to the loop,
// which says whether to go on.
type webWriter struct {
	w        *webState
	ctx      context.Context
	piece    int
	pieceLen int64
	next     int64 // piece offset of the next block to hand over
	end      int64 // piece offset just past the run
	buf      *peerwire.Block
	n        int
	firstAt  time.Time
	stopped  bool
}

// Write implements io.Writer for the web source's Fetch.
func (bw *webWriter) Write(p []byte) (int, error) {
	if bw.firstAt.IsZero() {
		bw.firstAt = time.Now()
	}
	written := 0
	for len(p) > 0 {
		if bw.stopped {
			return written, errWebOverlap
		}
		if bw.next >= bw.end {
			return written, errors.New("debtorrent: web source sent more bytes than asked for")
		}
		size := int(min(piecepicker.BlockSize, bw.pieceLen-bw.next))
		if bw.buf == nil {
			bw.buf = bw.w.t.c.pool.Get(size)
			bw.n = 0
		}
		k := copy(bw.buf.Bytes()[bw.n:], p)
		bw.n += k
		written += k
		p = p[k:]
		if bw.n == size {
			if err := bw.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush hands the block in the buffer to the loop, if complete.
func (bw *webWriter) flush() error {
	if bw.buf == nil || bw.n < len(bw.buf.Bytes()) {
		return nil
	}
	r := piecepicker.Request{Piece: bw.piece, Begin: bw.next, Length: int64(bw.n)}
	reply := make(chan bool, 1)
	if !bw.w.t.send(evWebBlock{r: r, data: bw.buf, reply: reply}) {
		return ErrTorrentClosed
	}
	bw.buf = nil
	select {
	case ok := <-reply:
		if !ok {
			bw.stopped = true
			return errWebOverlap
		}
	case <-bw.ctx.Done():
		return context.Cause(bw.ctx)
	}
	bw.next += r.Length
	return nil
}

// onBlock stores a block from the web source, unless a peer delivered it.
func (w *webState) onBlock(ev evWebBlock) {
	t := w.t
	rc := t.pk.BlockReceived(w.pp, ev.r)
	for _, o := range rc.Cancel {
		if q := t.peerOf(o); q != nil {
			t.cancelRequest(q, ev.r)
		}
	}
	if !rc.Wanted {
		ev.data.Release()
		ev.reply <- false
		return
	}
	n := ev.r.Length
	t.activeOf(ev.r.Piece).web.got += n
	t.down.Add(n, time.Now())
	t.counts.fromWeb += n
	t.c.totals.fromWeb.Add(n)
	t.keepBlock(ev.r, ev.data.Bytes(), ev.data, rc.PieceDone)
	ev.reply <- true
}

// onDone ends a fetch: what it did not deliver returns to the pool.
func (w *webState) onDone(ev evWebDone) {
	t := w.t
	w.fetches--
	delete(w.running, ev.r)
	if i := ev.r.Piece; ev.delivered > 0 && !t.pk.HavePiece(i) {
		a := t.activeOf(i)
		for _, s := range ev.sources {
			if !slices.Contains(a.web.sources, s) {
				a.web.sources = append(a.web.sources, s)
			}
		}
	}
	if ev.delivered > 0 && ev.elapsed > ev.ttfb {
		w.rate = ewma(w.rate, float64(ev.delivered)/(ev.elapsed-ev.ttfb).Seconds())
		w.latency = time.Duration(ewma(float64(w.latency), float64(ev.ttfb)))
	}
	if ev.delivered < ev.r.Length {
		t.pk.WebFailed(w.pp, ev.r)
	}
	switch {
	case ev.err == nil || errors.Is(ev.err, errWebOverlap) || errors.Is(ev.err, errWebUnwanted) || t.ctx.Err() != nil:
	case errors.Is(ev.err, websource.ErrNotFound):
		t.log.Warn("debtorrent: web source does not have piece", "piece", ev.r.Piece, "err", ev.err)
		w.fetchFailed(ev.r.Piece, ev.err)
	default:
		// The source retried already.
		t.log.Warn("debtorrent: web fetch failed", "run", ev.r, "err", ev.err)
		w.fetchFailed(ev.r.Piece, ev.err)
	}
	// The web source first: blocks of a piece handed over must not slip
	// back to the slow peers it was taken from.
	w.schedule(time.Now())
	t.refillAll()
}

// fetchFailed leaves piece i to peers for webRetryDelay; when no connected
// peer has it, nobody can deliver it now and its waiters are told so.
func (w *webState) fetchFailed(i int, err error) {
	t := w.t
	if t.pk.HavePiece(i) {
		return
	}
	a := t.activeOf(i)
	a.web.handedOver = false
	a.web.retryAt = time.Now().Add(webRetryDelay)
	a.web.lastErr = err
	if t.pk.Availability(i) == 0 {
		t.failWaiters(i, err)
	}
}

// failure returns why the web source cannot deliver piece i now: the error
// of its last fetch, while within the retry delay; nil otherwise.
func (w *webState) failure(i int, now time.Time) error {
	a := w.t.active[i]
	if a == nil || a.web.lastErr == nil {
		return nil
	}
	if now.Before(a.web.retryAt) {
		return a.web.lastErr
	}
	a.web.lastErr, a.web.retryAt = nil, time.Time{} // past: forget it
	w.t.release(i)
	return nil
}

// ewma folds sample into a moving average (the sample alone at first).
func ewma(avg, sample float64) float64 {
	if avg <= 0 {
		return sample
	}
	return 0.7*avg + 0.3*sample
}

// notePeerBytes counts bytes peers delivered of a piece.
func (w *webState) notePeerBytes(i int, n int64) {
	a := w.t.activeOf(i)
	a.web.got += n
	if !a.web.urgentSince.IsZero() {
		a.web.peerGot += n
	}
}

// badHash tells the source which of its mirrors served bad data of piece i.
func (w *webState) badHash(i int) {
	a := w.t.active[i]
	if a == nil {
		return
	}
	for _, fr := range w.t.info.FileRanges(i) {
		for _, s := range a.web.sources {
			w.src.BadHash(websource.FilePath(w.t.info, fr.File), s)
		}
	}
	a.web.sources = nil
}
