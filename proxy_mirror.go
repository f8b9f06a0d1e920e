package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/debtorrent/debtorrent/internal/aptproxy"
	"github.com/debtorrent/debtorrent/websource"
)

// webSources keeps one web source per archive (mirror and archive root),
// shared by the archive's torrents and by mirror-only fetches, each behind
// its mirror's gate. Safe for concurrent use.
type webSources struct {
	factory func(rootURLs []string) (websource.WebSource, error)
	health  mirrorHealth

	mu        sync.Mutex
	byArchive map[string]gatedSource
}

// mirrorHealth says whether a mirror may be asked now and learns from each
// outcome (aptproxy.Server is one).
type mirrorHealth interface {
	MirrorGate(name string) (probe bool, err error)
	NoteMirror(name string, err error)
}

func newWebSources(factory func([]string) (websource.WebSource, error), health mirrorHealth, hc *http.Client,
	allowRedirect func(from, to *url.URL) bool, log *slog.Logger) *webSources {
	if factory == nil {
		factory = func(urls []string) (websource.WebSource, error) {
			return websource.NewHTTP(urls, websource.Options{Client: hc, Logger: log, AllowRedirect: allowRedirect})
		}
	}
	return &webSources{factory: factory, health: health, byArchive: map[string]gatedSource{}}
}

// get returns the web source of an archive of mirror, made on first use.
func (w *webSources) get(mirror, archiveKey string, rootURLs []string) (websource.WebSource, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.byArchive[archiveKey]; ok {
		return s, nil
	}
	src, err := w.factory(rootURLs)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: proxy: web source for %s: %w", archiveKey, err)
	}
	g := gatedSource{WebSource: src, mirror: mirror, health: w.health}
	w.byArchive[archiveKey] = g
	return g, nil
}

// gatedSource is a web source behind its mirror's gate: while the mirror is
// known to be unreachable, fetches fail at once (but for one probe every
// aptproxy.ProbeEvery) instead of each waiting out retries and backoff, and
// every outcome tells the gate what the mirror did.
type gatedSource struct {
	websource.WebSource
	mirror string
	health mirrorHealth
}

// Fetch implements websource.WebSource.
func (g gatedSource) Fetch(ctx context.Context, req websource.Request, w io.Writer) (websource.Result, error) {
	probe, err := g.health.MirrorGate(g.mirror)
	if err != nil {
		return websource.Result{}, fmt.Errorf("websource: fetch %s: %w", req, err)
	}
	fctx := ctx
	if probe {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(ctx, aptproxy.ProbeTimeout)
		defer cancel()
	}
	res, err := g.WebSource.Fetch(fctx, req, w)
	if ctx.Err() == nil {
		g.health.NoteMirror(g.mirror, err)
	}
	return res, err
}

// statsReporter is a web source that counts per mirror (HTTPSource does).
type statsReporter interface {
	Stats() []websource.MirrorStats
}

// stats returns the counters of the sources that keep them.
func (w *webSources) stats() []websource.MirrorStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []websource.MirrorStats
	for _, s := range w.byArchive {
		if st, ok := s.WebSource.(statsReporter); ok {
			out = append(out, st.Stats()...)
		}
	}
	return out
}

// close closes the sources that can be closed (idle connections).
func (w *webSources) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.byArchive {
		if c, ok := s.WebSource.(interface{ Close() }); ok {
			c.Close()
		}
	}
}

// mirrorFetcher fetches whole .debs from a web source into the storage by
// SHA256: the road for a proxy without a Client. Callers that want the same
// SHA256 at once share one download, which stops when the last of them
// leaves. Safe for concurrent use.
type mirrorFetcher struct {
	storage ContentStorage
	log     *slog.Logger
	ctx     context.Context // ends at close
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	inflight map[[32]byte]*mirrorFetch
}

// mirrorFetch is one download and the callers waiting for it.
type mirrorFetch struct {
	waiters int                // guarded by mirrorFetcher.mu
	cancel  context.CancelFunc // stops the download
	done    chan struct{}      // closed when it ends; err is set before
	err     error
	// ready is closed once writer is set: the first attempt's writer, which
	// readers follow while it is written (nil when the storage cannot be
	// read while written), or when the download ended before one existed.
	ready     chan struct{}
	readyOnce sync.Once
	writer    PartialContentWriter
}

// setWriter publishes the writer readers follow (once) and opens ready.
func (f *mirrorFetch) setWriter(w PartialContentWriter) {
	f.readyOnce.Do(func() {
		f.writer = w
		close(f.ready)
	})
}

func newMirrorFetcher(storage ContentStorage, log *slog.Logger) *mirrorFetcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &mirrorFetcher{storage: storage, log: log, ctx: ctx, cancel: cancel, inflight: map[[32]byte]*mirrorFetch{}}
}

// join returns the download of sum, starting it, and counts the caller as
// one more waiter; leave undoes it.
func (m *mirrorFetcher) join(src websource.WebSource, path string, sum [32]byte, size int64) (*mirrorFetch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.inflight[sum]
	if f == nil {
		if m.ctx.Err() != nil {
			return nil, ErrClientClosed
		}
		fctx, cancel := context.WithCancel(m.ctx)
		f = &mirrorFetch{cancel: cancel, done: make(chan struct{}), ready: make(chan struct{})}
		m.inflight[sum] = f
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer cancel()
			f.err = m.download(fctx, f, src, path, sum, size)
			f.setWriter(nil)
			m.mu.Lock()
			delete(m.inflight, sum)
			m.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	return f, nil
}

// leave drops a waiter of f; the last one stops the download (what it wrote
// is kept, for the next try to resume).
func (m *mirrorFetcher) leave(f *mirrorFetch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f.waiters--
	if f.waiters == 0 {
		f.cancel()
	}
}

// stream returns a reader of the file while it is downloaded (its last
// byte only once verified); when the storage cannot be read while written it
// waits for the download and returns a nil reader (the file is then stored,
// unless err says otherwise). release must be called when done.
//
// outcome waits for the download to end and returns its error: what to tell
// the caller when the reader fails because its writer stopped.
func (m *mirrorFetcher) stream(ctx context.Context, src websource.WebSource, path string, sum [32]byte, size int64) (pr PartialReader, release func(), outcome func() error, err error) {
	f, err := m.join(src, path, sum, size)
	if err != nil {
		return nil, nil, nil, err
	}
	release = func() { m.leave(f) }
	outcome = func() error {
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		release()
		return nil, nil, nil, context.Cause(ctx)
	}
	if f.writer != nil {
		if pr, err = f.writer.OpenPartial(); err == nil {
			return pr, release, outcome, nil
		}
	}
	// Not readable while written: wait for it whole.
	return nil, release, outcome, outcome()
}

// download writes the file into a content-addressed piece and commits it:
// resuming what the storage kept of an earlier try (from that offset), and
// keeping what it wrote when stopped. A hash mismatch is reported to the
// source and tried once more from scratch (the source avoids the mirror that
// served it); readers of the wrong attempt see it fail.
func (m *mirrorFetcher) download(ctx context.Context, f *mirrorFetch, src websource.WebSource, path string, sum [32]byte, size int64) error {
	for attempt := 0; ; attempt++ {
		var w ContentWriter
		var pw PartialContentWriter
		var err error
		if cr, ok := m.storage.(ContentResumer); ok && attempt == 0 {
			pw, err = cr.ResumeSHA256(sum, size)
			w = pw
		} else {
			w, err = m.storage.CreateSHA256(sum, size)
		}
		if err != nil {
			return fmt.Errorf("debtorrent: proxy: store %s: %w", path, err)
		}
		f.setWriter(pw)
		off := w.Written()
		res, err := src.Fetch(ctx, websource.Request{Path: path, Offset: off, Length: size - off, FileSize: size}, w)
		if err == nil {
			err = w.Commit()
		}
		switch {
		case err == nil:
		case pw != nil && !errors.Is(err, ErrHashMismatch):
			pw.Close() // keep what came, for the next try
		default:
			w.Abort()
		}
		if errors.Is(err, ErrHashMismatch) {
			for _, s := range res.Sources {
				src.BadHash(path, s)
			}
			m.log.Warn("debtorrent: proxy: mirror served a wrong file", "path", path, "sources", res.Sources)
			if attempt == 0 {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("debtorrent: proxy: fetch %s from the mirror: %w", path, err)
		}
		return nil
	}
}

// close stops the downloads in progress and waits for them.
func (m *mirrorFetcher) close() {
	m.cancel()
	m.wg.Wait()
}
