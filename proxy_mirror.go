package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/debtorrent/debtorrent/websource"
)

// webSources keeps one web source per archive (mirror and archive root),
// shared by the archive's torrents and by mirror-only fetches. Safe for
// concurrent use.
type webSources struct {
	factory func(rootURLs []string) (websource.WebSource, error)

	mu        sync.Mutex
	byArchive map[string]websource.WebSource
}

func newWebSources(factory func([]string) (websource.WebSource, error), hc *http.Client, log *slog.Logger) *webSources {
	if factory == nil {
		factory = func(urls []string) (websource.WebSource, error) {
			return websource.NewHTTP(urls, websource.Options{Client: hc, Logger: log})
		}
	}
	return &webSources{factory: factory, byArchive: map[string]websource.WebSource{}}
}

// get returns the archive's web source, made on first use.
func (w *webSources) get(archiveKey string, rootURLs []string) (websource.WebSource, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.byArchive[archiveKey]; ok {
		return s, nil
	}
	s, err := w.factory(rootURLs)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: proxy: web source for %s: %w", archiveKey, err)
	}
	w.byArchive[archiveKey] = s
	return s, nil
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
		if st, ok := s.(statsReporter); ok {
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
		if c, ok := s.(interface{ Close() }); ok {
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
}

func newMirrorFetcher(storage ContentStorage, log *slog.Logger) *mirrorFetcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &mirrorFetcher{storage: storage, log: log, ctx: ctx, cancel: cancel, inflight: map[[32]byte]*mirrorFetch{}}
}

// fetch brings the file at path of src, of size bytes and SHA256 sum, into
// the storage, verified.
func (m *mirrorFetcher) fetch(ctx context.Context, src websource.WebSource, path string, sum [32]byte, size int64) error {
	m.mu.Lock()
	f := m.inflight[sum]
	if f == nil {
		if m.ctx.Err() != nil {
			m.mu.Unlock()
			return ErrClientClosed
		}
		fctx, cancel := context.WithCancel(m.ctx)
		f = &mirrorFetch{cancel: cancel, done: make(chan struct{})}
		m.inflight[sum] = f
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer cancel()
			f.err = m.download(fctx, src, path, sum, size)
			m.mu.Lock()
			delete(m.inflight, sum)
			m.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	m.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		m.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
		}
		m.mu.Unlock()
		return context.Cause(ctx)
	}
}

// download writes the file into a new content-addressed piece and commits
// it; a hash mismatch is reported to the source and tried once more (the
// source avoids the mirror that served it).
func (m *mirrorFetcher) download(ctx context.Context, src websource.WebSource, path string, sum [32]byte, size int64) error {
	for attempt := 0; ; attempt++ {
		w, err := m.storage.CreateSHA256(sum, size)
		if err != nil {
			return fmt.Errorf("debtorrent: proxy: store %s: %w", path, err)
		}
		res, err := src.Fetch(ctx, websource.Request{Path: path, Offset: 0, Length: size, FileSize: size}, w)
		if err == nil {
			err = w.Commit()
		}
		w.Abort()
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
