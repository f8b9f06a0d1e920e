package debtorrent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/internal/aptproxy"
	"github.com/debtorrent/debtorrent/internal/pipeline"
	"github.com/debtorrent/debtorrent/websource"
)

// serveDeb answers a .deb that torrent tor lists as file: from the storage
// when it holds it, else from the torrent's swarm (peers and the mirror as
// its web source) or, without a Client, from the mirror; only ever verified
// bytes. It says where the bytes came from: cache, peers, mirror or mixed.
//
// A streamed answer learns its source only once sent: it sets *later then.
func (p *Proxy) serveDeb(ctx context.Context, r *http.Request, t aptproxy.Target, tor *aptproxy.Torrent, file int, later *string) (*pipeline.Response, string) {
	piece, ok := tor.Info.PieceForFile(file)
	if !ok {
		return pipeline.Text(http.StatusInternalServerError, fmt.Sprintf("debtorrent: %s has no piece in its torrent", t.Rest)), "error"
	}
	pc := tor.Info.Pieces[piece]
	var sum [32]byte
	copy(sum[:], pc.Hash)
	etag := strconv.Quote("sha256:" + hex.EncodeToString(pc.Hash))
	if rd, err := p.storage.OpenSHA256(sum); err == nil {
		return p.serveStored(r, tor, etag, rd, "cache"), "cache"
	}
	if r.Method == http.MethodHead {
		// The Packages entry says all a HEAD needs; no download for it.
		h := http.Header{}
		h.Set("Content-Type", aptproxy.DebContentType)
		h.Set("Accept-Ranges", "bytes")
		h.Set("ETag", etag)
		if !tor.ModTime.IsZero() {
			h.Set("Last-Modified", tor.ModTime.UTC().Format(http.TimeFormat))
		}
		return &pipeline.Response{Status: http.StatusOK, Header: h, ContentLength: pc.Length}, "listed"
	}
	if p.client != nil {
		if ct, ok := p.client.Torrent(tor.Info.InfoHash()); ok {
			return p.streamDeb(ctx, r, t, tor, ct, piece, sum, etag, later)
		}
	}
	return p.streamFromMirror(ctx, r, t, tor, file, piece, sum, etag, later), "mirror"
}

// serveStored answers with a stored, verified .deb and counts it as from
// source.
func (p *Proxy) serveStored(r *http.Request, tor *aptproxy.Torrent, etag string, rd PieceReader, source string) *pipeline.Response {
	p.srv.DebServed(source)
	if r.Method == http.MethodGet {
		p.srv.DebBytes(source, rd.Size())
	}
	return aptproxy.ServeContent(r, aptproxy.Content{Body: rd, Closer: rd, Size: rd.Size(), ModTime: tor.ModTime, ETag: etag, ContentType: aptproxy.DebContentType})
}

// streamAnswer answers with a stream that has its first byte. A Range of a
// .deb whose last answer was cut short is ignored (never stitch old and new
// bytes); a read that fails cuts this answer short too and is remembered.
// sent is called once the stream is closed after a good answer, and returns
// the source for the request log.
func (p *Proxy) streamAnswer(r *http.Request, tor *aptproxy.Torrent, sum [32]byte, etag string, st pieceStream, cancel context.CancelFunc, later *string, sent func() string) *pipeline.Response {
	if p.aborted.take(sum) {
		r.Header.Del("Range")
		r.Header.Del("If-Range")
	}
	body := &debStream{pieceStream: st, cancel: cancel, done: func(failed bool) {
		if failed {
			p.aborted.add(sum)
			*later = "error"
			return
		}
		*later = sent()
	}}
	return aptproxy.ServeContent(r, aptproxy.Content{Body: body, Closer: body, Size: st.Size(), ModTime: tor.ModTime, ETag: etag, ContentType: aptproxy.DebContentType})
}

// streamDeb answers a .deb the Client's torrent ct is to fetch at once, and
// streams it as it arrives (Torrent.StreamPiece): APT sees progress from the
// first byte, and no answer waits for a whole large package. The last byte
// is held back until the package is verified; when it fails, the answer is
// cut short (APT sees a broken answer and retries, and never gets a complete
// wrong file), and the next request for it, even with a Range, gets the
// whole file.
func (p *Proxy) streamDeb(ctx context.Context, r *http.Request, t aptproxy.Target, tor *aptproxy.Torrent, ct *Torrent, piece int, sum [32]byte, etag string, later *string) (*pipeline.Response, string) {
	sctx, cancel := context.WithTimeout(ctx, p.cfg.DebTimeout)
	before := ct.Stats()
	st, err := ct.StreamPiece(sctx, piece, WithDeadline(time.Now().Add(p.cfg.PeerWait)))
	if err != nil {
		p.log.Debug("debtorrent: proxy: stream", "err", err)
		resp := debError(sctx, "/"+t.Rest, err)
		cancel()
		return resp, "mirror"
	}
	// The answer starts with the first byte: until then a failure is still
	// told honestly (404, 502, 504 with a reason) rather than as a cut body.
	if err := st.Started(); err != nil {
		st.Close()
		resp := debError(sctx, "/"+t.Rest, err)
		cancel()
		return resp, "mirror"
	}
	return p.streamAnswer(r, tor, sum, etag, st, cancel, later, func() string {
		after := ct.Stats()
		o := origin{peers: after.BytesFromPeers - before.BytesFromPeers, web: after.BytesFromWeb - before.BytesFromWeb}
		p.srv.DebServed(o.source())
		o.record(p.srv, st.Size())
		return o.source()
	}), "swarm"
}

// streamFromMirror answers a .deb without the engine (no Client, or its
// torrent not running) from the mirror download as it is written, as
// streamDeb does from the engine; when the storage cannot be read while
// written, once the download is whole.
func (p *Proxy) streamFromMirror(ctx context.Context, r *http.Request, t aptproxy.Target, tor *aptproxy.Torrent, file, piece int, sum [32]byte, etag string, later *string) *pipeline.Response {
	src, err := p.sources.get(tor.Mirror, tor.ArchiveKey, tor.RootURLs)
	if err != nil {
		return debError(ctx, "/"+t.Rest, err)
	}
	sctx, cancel := context.WithTimeout(ctx, p.cfg.DebTimeout)
	size := tor.Info.Pieces[piece].Length
	pr, release, outcome, err := p.mirror.stream(sctx, src, tor.Info.Files[file].Path, sum, size)
	if err != nil || pr == nil {
		defer cancel()
		if release != nil {
			defer release()
		}
		if err != nil {
			return debError(sctx, "/"+t.Rest, err)
		}
		rd, err := p.storage.OpenSHA256(sum)
		if err != nil {
			return debError(ctx, "/"+t.Rest, fmt.Errorf("debtorrent: proxy: %s was stored but cannot be read: %w", t.Rest, err))
		}
		return p.serveStored(r, tor, etag, rd, "mirror")
	}
	ps := &prefixStream{ctx: sctx, pr: pr, release: release}
	if err := ps.Started(); err != nil {
		if errors.Is(err, ErrWriterStopped) {
			if cause := outcome(); cause != nil {
				err = cause // why the download stopped
			}
		}
		resp := debError(sctx, "/"+t.Rest, err)
		ps.Close()
		cancel()
		return resp
	}
	return p.streamAnswer(r, tor, sum, etag, ps, cancel, later, func() string {
		p.srv.DebServed("mirror")
		p.srv.DebBytes("mirror", size)
		return "mirror"
	})
}

// prefixStream reads a mirror download while it is written.
type prefixStream struct {
	ctx     context.Context
	pr      PartialReader
	release func()
	once    sync.Once
}

func (s *prefixStream) ReadAt(p []byte, off int64) (int, error) {
	return readWhenWritten(s.ctx, s.pr, p, off)
}

func (s *prefixStream) Size() int64 { return s.pr.Size() }

// Started waits for the download's first byte, as PieceStream.Started does.
func (s *prefixStream) Started() error {
	_, err := readWhenWritten(s.ctx, s.pr, make([]byte, 1), 0)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func (s *prefixStream) Close() error {
	err := s.pr.Close()
	s.once.Do(s.release)
	return err
}

// pieceStream is what a streamed answer reads: an engine's PieceStream or
// a mirror download's prefixStream.
type pieceStream interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// debStream is a streamed .deb being sent: it remembers whether a read
// failed (the answer was cut short) and reports at Close.
type debStream struct {
	pieceStream
	cancel context.CancelFunc
	done   func(failed bool)

	mu     sync.Mutex
	failed bool
	read   int64
}

// ReadAt implements io.ReaderAt.
func (d *debStream) ReadAt(b []byte, off int64) (int, error) {
	n, err := d.pieceStream.ReadAt(b, off)
	d.mu.Lock()
	d.read += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		d.failed = true
	}
	d.mu.Unlock()
	return n, err
}

// Close ends the stream and reports how it went.
func (d *debStream) Close() error {
	err := d.pieceStream.Close()
	d.cancel()
	d.mu.Lock()
	failed, read := d.failed, d.read
	d.mu.Unlock()
	if read > 0 || failed {
		d.done(failed)
	}
	return err
}

// abortedSet remembers the .debs whose last streamed answer was cut short,
// so that APT's retry, which may ask for a Range after the bytes it kept,
// gets the whole file instead. Safe for concurrent use.
type abortedSet struct {
	mu   sync.Mutex
	sums map[[32]byte]time.Time
}

// abortedFor is how long a cut answer is remembered (APT retries within
// seconds).
const abortedFor = 10 * time.Minute

func (a *abortedSet) add(sum [32]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sums == nil {
		a.sums = map[[32]byte]time.Time{}
	}
	now := time.Now()
	for s, at := range a.sums {
		if now.Sub(at) > abortedFor {
			delete(a.sums, s)
		}
	}
	a.sums[sum] = now
}

// take reports whether sum's last answer was cut short, and forgets it.
func (a *abortedSet) take(sum [32]byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.sums[sum]
	delete(a.sums, sum)
	return ok && time.Since(at) <= abortedFor
}

// origin says where the bytes of a streamed .deb came from: the engine's
// counters of bytes kept from peers and from the web source while it was
// streamed (with other downloads of the torrent at once, its share of
// them).
type origin struct {
	peers, web int64
}

// source names the origin for the request log: peers, mirror, mixed, or
// cache (stored meanwhile, by another torrent).
func (o origin) source() string {
	switch {
	case o.web > 0 && o.peers == 0:
		return "mirror"
	case o.peers > 0 && o.web == 0:
		return "peers"
	case o.peers > 0:
		return "mixed"
	}
	return "cache"
}

// record counts the .deb's size by source for the status pages, a mixed
// one split in the proportion the engine got its bytes.
func (o origin) record(srv *aptproxy.Server, size int64) {
	switch s := o.source(); s {
	case "mixed":
		fromPeers := size * o.peers / (o.peers + o.web)
		srv.DebBytes("peers", fromPeers)
		srv.DebBytes("mirror", size-fromPeers)
	default:
		srv.DebBytes(s, size)
	}
}

// debError turns a failure to get a .deb into the answer APT understands:
// 404 when no source has it, 504 when time ran out, 502 otherwise, with a
// one-line reason that starts with the cause.
func debError(ctx context.Context, what string, err error) *pipeline.Response {
	switch {
	case errors.Is(err, websource.ErrNotFound):
		return pipeline.Text(http.StatusNotFound, "debtorrent: no mirror has "+what)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return pipeline.Text(http.StatusGatewayTimeout, "debtorrent: timed out getting "+what)
	case errors.Is(err, aptproxy.ErrMirrorDown):
		return pipeline.Text(http.StatusBadGateway, "debtorrent: "+what+" is not cached and the "+aptproxy.RootCause(err))
	case aptproxy.Unreachable(err):
		return pipeline.Text(http.StatusBadGateway, "debtorrent: "+what+" is not cached and the mirror cannot be reached: "+aptproxy.RootCause(err))
	case errors.Is(err, ErrNoSource):
		return pipeline.Text(http.StatusBadGateway, "debtorrent: no peer has "+what+" and the mirror failed: "+aptproxy.RootCause(err))
	default:
		return aptproxy.UpstreamError(ctx, what, err)
	}
}
