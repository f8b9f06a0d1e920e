package aptproxy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
	"golang.org/x/sync/singleflight"
)

// Piece is a verified .deb opened for reading.
type Piece interface {
	io.ReaderAt
	io.Closer
	// Size returns the length in bytes.
	Size() int64
}

// PieceWriter writes the pieces of one torrent into a store: blocks first,
// then FinishPiece checks the hash and commits.
type PieceWriter interface {
	WriteBlock(piece int, off int64, data []byte) error
	FinishPiece(piece int) error
	Close() error
}

// Store keeps verified .debs, content-addressed by SHA256.
type Store interface {
	// OpenSHA256 opens the verified piece with this SHA256; an error when
	// the store does not hold it.
	OpenSHA256(sum [32]byte) (Piece, error)
	// OpenWriter opens a torrent's pieces for writing.
	OpenWriter(info *metainfo.Info) (PieceWriter, error)
}

// Fetcher brings a .deb (file i of a Debian torrent, which is piece i)
// into the store, verified, from wherever it can: peers, the mirror.
type Fetcher interface {
	Fetch(ctx context.Context, t *Torrent, file int) error
}

// MirrorFetcher is the Fetcher that uses only the mirror: the whole .deb in
// one plain GET (as APT would send it), written into the store and checked
// against its SHA256. It is the proxy's path when there are no peers, and the
// fallback when peers fail.
type MirrorFetcher struct {
	ctx     context.Context // ends at Close: stops downloads nobody waits for
	cancel  context.CancelFunc
	store   Store
	opts    websource.Options
	group   singleflight.Group
	mu      sync.Mutex
	sources map[string]*websource.HTTPSource // archive key → source
}

// NewMirrorFetcher returns a fetcher writing into store, fetching with
// opts.
func NewMirrorFetcher(store Store, opts websource.Options) *MirrorFetcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &MirrorFetcher{ctx: ctx, cancel: cancel, store: store, opts: opts, sources: map[string]*websource.HTTPSource{}}
}

// Source returns the web source of an archive (shared, created on first
// use).
func (f *MirrorFetcher) Source(t *Torrent) (*websource.HTTPSource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sources[t.ArchiveKey]; ok {
		return s, nil
	}
	s, err := websource.NewHTTP(t.RootURLs, f.opts)
	if err != nil {
		return nil, fmt.Errorf("aptproxy: web source for %s: %w", t.ArchiveKey, err)
	}
	f.sources[t.ArchiveKey] = s
	return s, nil
}

// Stats returns the counters of every mirror used so far.
func (f *MirrorFetcher) Stats() []websource.MirrorStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []websource.MirrorStats
	for _, s := range f.sources {
		out = append(out, s.Stats()...)
	}
	return out
}

// Close stops downloads in progress and closes idle mirror connections.
func (f *MirrorFetcher) Close() {
	f.cancel()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sources {
		s.Close()
	}
}

// Fetch implements Fetcher. Concurrent fetches of the same .deb share one
// download.
func (f *MirrorFetcher) Fetch(ctx context.Context, t *Torrent, file int) error {
	p := t.Info.Pieces[file]
	key := hex.EncodeToString(p.Hash)
	ch := f.group.DoChan(key, func() (any, error) {
		// Keep downloading for the others (and the cache) if this caller
		// leaves; the deadline still bounds it.
		fctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		if d, ok := ctx.Deadline(); ok {
			var c2 context.CancelFunc
			fctx, c2 = context.WithDeadline(fctx, d)
			defer c2()
		}
		return nil, f.fetch(fctx, t, file)
	})
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *MirrorFetcher) fetch(ctx context.Context, t *Torrent, file int) error {
	src, err := f.Source(t)
	if err != nil {
		return err
	}
	fl := t.Info.Files[file]
	one, err := metainfo.NewPiecePerFileInfo("debtorrent-mirror-fetch", []metainfo.File{{Path: fl.Path, Length: fl.Length}}, t.Info.Pieces[file].Hash)
	if err != nil {
		return fmt.Errorf("aptproxy: %s: %w", fl.Path, err)
	}
	for attempt := 0; ; attempt++ {
		w, err := f.store.OpenWriter(one)
		if err != nil {
			return fmt.Errorf("aptproxy: store %s: %w", fl.Path, err)
		}
		res, err := websource.FetchPiece(ctx, src, one, 0, &blockWriter{w: w})
		if err == nil {
			err = w.FinishPiece(0)
			if err != nil && attempt == 0 {
				for _, s := range res.Sources {
					src.BadHash(fl.Path, s)
				}
				w.Close()
				continue // another mirror, if there is one, or the same once more
			}
		}
		w.Close()
		if err != nil {
			return fmt.Errorf("aptproxy: fetch %s from the mirror: %w", fl.Path, err)
		}
		return nil
	}
}

// blockWriter writes a stream sequentially into piece 0 of a PieceWriter.
type blockWriter struct {
	w   PieceWriter
	off int64
}

func (b *blockWriter) Write(p []byte) (int, error) {
	if err := b.w.WriteBlock(0, b.off, p); err != nil {
		return 0, err
	}
	b.off += int64(len(p))
	return len(p), nil
}

// errNotFound reports that no source has a file.
var errNotFound = websource.ErrNotFound

// isNotFound reports whether err means the mirror has no such file.
func isNotFound(err error) bool { return errors.Is(err, errNotFound) }
