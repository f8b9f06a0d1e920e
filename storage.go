package debtorrent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/internal/store"
	"github.com/debtorrent/debtorrent/metainfo"
)

// Storage keeps the pieces of torrents. Embedders may bring their own; the
// default is OpenDiskStorage.
//
// Concurrency: every method may be called from any goroutine, at any time,
// concurrently with every other, until Close; Close is called once, after
// every TorrentStorage it opened has been closed.
type Storage interface {
	// OpenTorrent returns the storage of one torrent, knowing which of its
	// pieces are already verified. A torrent (by infohash) is open at most
	// once at a time; a second OpenTorrent of it fails.
	OpenTorrent(info *metainfo.Info) (TorrentStorage, error)
	// Close releases the storage.
	Close() error
}

// TorrentStorage holds one torrent's pieces. Blocks are written into a
// piece's temporary area; FinishPiece checks the piece's hash and only then
// makes it readable.
//
// Concurrency: every method may be called concurrently with every other,
// for the same or different pieces, except that the engine never calls
// WriteBlock or FinishPiece concurrently for the same piece (all blocks of a
// piece go through one writer). WriteBlock does not keep data after it
// returns. Readers returned by OpenPiece stay valid after Close of the
// TorrentStorage until they are closed themselves.
type TorrentStorage interface {
	// WriteBlock stores data at off within piece. Writing to a complete
	// piece does nothing.
	WriteBlock(piece int, off int64, data []byte) error
	// FinishPiece verifies a piece whose bytes have all been written. It
	// returns an error wrapping ErrHashMismatch (data discarded) or
	// ErrIncomplete (data kept) when the piece cannot be committed.
	FinishPiece(piece int) error
	// PieceComplete reports whether a piece is verified and readable now.
	// It is the truth the engine goes by (a piece may be evicted at any
	// time), so it must be cheap: no I/O, no lock held for long.
	PieceComplete(piece int) bool
	// OpenPiece opens a verified piece for reading; the error wraps
	// ErrNotComplete when it is not (or no longer) stored. An open piece is
	// never evicted.
	OpenPiece(piece int) (PieceReader, error)
	// Close abandons pieces in progress (a PartialOpener keeps what it can
	// resume) and releases the torrent.
	Close() error
}

// PieceReader reads one verified piece: sequentially with Seek (to stream a
// byte range to APT) or at offsets (to serve blocks to peers). ReadAt and
// Size may be called concurrently; Read and Seek by one goroutine at a time.
// While it is open the piece is pinned: it is not evicted.
type PieceReader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size returns the piece's length.
	Size() int64
}

// ContentStorage is a Storage that also keeps pieces by their SHA256, one
// copy for every torrent that lists the same SHA256: the Debian pieces (whole
// .deb files) of piece-per-file torrents. The Proxy needs one; a Client given
// one learns from it when a piece is stored or removed, whichever torrent (or
// none) stored it, and tells every torrent that lists it.
//
// Concurrency: as Storage; every method may be called concurrently.
type ContentStorage interface {
	Storage
	// HasSHA256 reports whether the piece with this SHA256 is stored and
	// verified now. It must be cheap (no I/O).
	HasSHA256(sum [32]byte) bool
	// OpenSHA256 opens the stored piece with this SHA256 (pinned while
	// open); the error wraps ErrNotComplete when it is not stored.
	OpenSHA256(sum [32]byte) (PieceReader, error)
	// CreateSHA256 starts writing, outside any torrent, the piece of size
	// bytes whose SHA256 is sum. Writers of the same sum may run at once;
	// the first to commit stores it, the others' commits then succeed
	// without storing a second copy.
	CreateSHA256(sum [32]byte, size int64) (ContentWriter, error)
	// Observe registers fn to be called after each piece is stored
	// (have true) or removed (have false: evicted past the size cap, or
	// found bad). fn is called from the goroutine that stored or removed the
	// piece, with no lock of the storage held; it must not block. Calls for
	// one sum may race (a store and an eviction), so fn must treat them as
	// hints and ask HasSHA256 for the truth. stop unregisters fn; after it
	// returns fn is not called again.
	Observe(fn func(sum [32]byte, have bool)) (stop func())
}

// ContentWriter writes one content-addressed piece, in order from its first
// byte. One goroutine at a time; it keeps nothing of p after Write returns.
type ContentWriter interface {
	io.Writer
	// Written returns the offset the next Write goes to: the bytes
	// written, plus the prefix a resumed writer (ResumeSHA256) started
	// from.
	Written() int64
	// Commit checks the SHA256 of what was written and, on a match, stores
	// the piece durably. It returns an error wrapping ErrIncomplete when
	// fewer than size bytes were written (the writer stays usable) or
	// ErrHashMismatch (the data is discarded).
	Commit() error
	// Abort discards what was written. It is harmless after Commit.
	Abort() error
}

// PartialOpener is implemented by a TorrentStorage that can read a Debian
// (content-addressed) piece while it is being written, to stream it before
// it is verified, and that keeps pieces in progress across restarts
// (DiskStorage's torrents do; find out with a type assertion).
//
// Concurrency: both methods may be called at any time, concurrently with
// every method of the TorrentStorage, for any piece.
type PartialOpener interface {
	// OpenPartial returns a reader of the piece's prefix as this torrent
	// writes it, starting the piece (resuming what was kept of it) when
	// nothing was written yet, or of the stored piece when it is
	// complete. Pieces of standard torrents may fail with an error
	// wrapping errors.ErrUnsupported. The reader stays valid after the
	// TorrentStorage is closed, until it is closed itself.
	OpenPartial(piece int) (PartialReader, error)
	// PartialLength returns how many bytes from the start of the piece are
	// stored already (all of it when complete): the prefix kept from an
	// earlier run or written so far, from which a download may continue.
	// Blocks written inside it are ignored. Cheap: no hashing, at most a
	// stat.
	PartialLength(piece int) int64
}

// PartialReader reads the prefix of a piece being written, with its own
// handle on the data: neither the commit of the piece, nor its discard, nor
// its eviction later changes bytes already let through.
//
// Prefix only grows. It is the bytes written and hashed so far except the
// piece's last byte, held back until the piece is verified: Prefix() ==
// Size() exactly when the piece is verified and stored, so a caller that
// streams the prefix never delivers the whole of a piece whose hash fails.
// When the piece fails its check (or is discarded) ReadAt and Wait fail
// with an error wrapping ErrHashMismatch, and bytes let through before must
// be thrown away (abort the stream); when its writer stops unfinished they
// fail with an error wrapping ErrWriterStopped.
//
// Concurrency: every method may be called from any goroutine, at once;
// Close once, when done (it does not affect the writer). ReadAt keeps
// nothing of its argument.
type PartialReader interface {
	// ReadAt reads within the prefix; past it it reads what lies before it
	// and fails with an error wrapping ErrBeyondPrefix (and
	// io.ErrUnexpectedEOF); past the end of a verified piece it returns
	// io.EOF.
	io.ReaderAt
	io.Closer
	// Prefix returns how many bytes from the start may be read now.
	Prefix() int64
	// Wait blocks until Prefix is greater than beyond, the piece is
	// verified (Size, nil), it never will be (the errors above), or ctx
	// ends; it returns the prefix then. It never polls.
	Wait(ctx context.Context, beyond int64) (int64, error)
	// Size returns the piece's length.
	Size() int64
}

// PartialContentWriter is a ContentWriter that can be read while it is
// written and stopped without losing what it wrote (DiskStorage's are).
//
// Concurrency: OpenPartial may be called from any goroutine at any time;
// Close, like the other methods, by the writing goroutine.
type PartialContentWriter interface {
	ContentWriter
	// OpenPartial returns a reader of what is written so far, as
	// PartialOpener.OpenPartial does for a torrent's piece.
	OpenPartial() (PartialReader, error)
	// Close stops writing and keeps what was written for a later
	// ResumeSHA256 or torrent of the same SHA256 (Abort discards it). It
	// is harmless after Commit or Abort.
	Close() error
}

// ContentResumer is a ContentStorage that resumes pieces whose writing
// stopped (a download interrupted, maybe by a restart).
//
// Concurrency: as ContentStorage.
type ContentResumer interface {
	// ResumeSHA256 is CreateSHA256 continuing what was kept of the piece:
	// the writer's Written() starts at the prefix kept, and the caller
	// writes from there (fetching the rest from that offset). When another
	// writer of the same SHA256 is running, or nothing was kept, Written
	// starts at 0. (CreateSHA256 always starts at 0: the bytes kept are
	// dropped.) The final SHA256 check covers the kept bytes too.
	ResumeSHA256(sum [32]byte, size int64) (PartialContentWriter, error)
}

// Errors of storage; test with errors.Is.
var (
	// ErrHashMismatch: a piece's data did not match its hash.
	ErrHashMismatch = store.ErrHashMismatch
	// ErrIncomplete: a piece was finished before all its bytes were written.
	ErrIncomplete = store.ErrIncomplete
	// ErrNotComplete: a piece was opened that is not (or no longer) stored.
	ErrNotComplete = store.ErrNotComplete
	// ErrBeyondPrefix: a PartialReader was asked for bytes past its prefix.
	ErrBeyondPrefix = store.ErrBeyondPrefix
	// ErrWriterStopped: the writer of a piece a PartialReader follows
	// stopped before finishing it.
	ErrWriterStopped = store.ErrStopped
)

// DiskOptions tune the default storage.
type DiskOptions struct {
	// MaxBytes caps the content-addressed area (Debian pieces); least
	// recently used pieces nobody is reading are evicted past it. 0: no cap.
	MaxBytes int64
	// PartialMaxAge: Debian pieces in progress kept for resuming and
	// untouched for longer are removed on open. 0: a week.
	PartialMaxAge time.Duration
	// PartialMaxBytes caps the Debian pieces in progress kept for
	// resuming (the oldest past it are removed on open). 0: 4 GiB.
	PartialMaxBytes int64
	// Logger receives warnings about odd files on disk.
	Logger *slog.Logger
}

// ImportStats says what DiskStorage.Import did.
type ImportStats struct {
	// Files counts the .deb files looked at.
	Files int
	// Linked counts the files added by hard link (same filesystem).
	Linked int
	// Copied counts the files added by copying.
	Copied int
	// Present counts the files the storage held already.
	Present int
	// Bytes counts the bytes of the files added.
	Bytes int64
	// Sums lists the SHA256 of every file looked at, added or present.
	Sums [][32]byte
}

// VerifyStats says what DiskStorage.Verify found.
type VerifyStats struct {
	// Checked counts the pieces re-hashed.
	Checked int
	// Removed counts the pieces found bad (wrong hash, wrong size,
	// unreadable) and removed or unmarked.
	Removed int
}

// DiskStorage is the default Storage, and a ContentStorage: Debian pieces
// content-addressed by SHA256 under dir/sha256/ (one copy however many
// torrents list them), standard torrents in their usual file layout under
// dir/<name>/, written through temporary files and made visible only once
// verified, with crash safety, restart discovery, import and an optional size
// cap. Debian pieces in progress are kept across restarts and resumed
// (PartialOpener, ContentResumer), and can be read while written
// (PartialReader). Safe for concurrent use.
type DiskStorage struct {
	s *store.Store

	obsMu     sync.Mutex
	observers map[int]func([32]byte, bool) // by registration number
	nextObs   int
}

var (
	_ ContentStorage       = (*DiskStorage)(nil)
	_ ContentResumer       = (*DiskStorage)(nil)
	_ PartialOpener        = diskTorrent{}
	_ PartialContentWriter = diskWriter{}
)

// OpenDiskStorage opens (creating if needed) the storage in dir. It finds
// the verified pieces already there without re-hashing them.
func OpenDiskStorage(dir string, opts DiskOptions) (*DiskStorage, error) {
	d := &DiskStorage{observers: map[int]func([32]byte, bool){}}
	so := store.Options{
		MaxBytes:        opts.MaxBytes,
		PartialMaxAge:   opts.PartialMaxAge,
		PartialMaxBytes: opts.PartialMaxBytes,
		Logger:          opts.Logger,
		OnCommit:        func(s store.Sum) { d.notify(s, true) },
		OnEvict:         func(s store.Sum) { d.notify(s, false) },
	}
	s, err := store.Open(dir, so)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: open storage: %w", err)
	}
	d.s = s
	return d, nil
}

// notify tells the observers that sum was stored or removed.
func (d *DiskStorage) notify(sum store.Sum, have bool) {
	d.obsMu.Lock()
	fns := make([]func([32]byte, bool), 0, len(d.observers))
	for _, fn := range d.observers {
		fns = append(fns, fn)
	}
	d.obsMu.Unlock()
	for _, fn := range fns {
		fn(sum, have)
	}
}

// Observe implements ContentStorage.
func (d *DiskStorage) Observe(fn func(sum [32]byte, have bool)) (stop func()) {
	d.obsMu.Lock()
	k := d.nextObs
	d.nextObs++
	d.observers[k] = fn
	d.obsMu.Unlock()
	return func() {
		d.obsMu.Lock()
		delete(d.observers, k)
		d.obsMu.Unlock()
	}
}

// OpenTorrent implements Storage.
func (d *DiskStorage) OpenTorrent(info *metainfo.Info) (TorrentStorage, error) {
	t, err := d.s.OpenTorrent(info)
	if err != nil {
		return nil, err
	}
	return diskTorrent{t}, nil
}

// Close implements Storage.
func (d *DiskStorage) Close() error { return d.s.Close() }

// HasSHA256 implements ContentStorage.
func (d *DiskStorage) HasSHA256(sum [32]byte) bool { return d.s.Has(sum) }

// OpenSHA256 implements ContentStorage.
func (d *DiskStorage) OpenSHA256(sum [32]byte) (PieceReader, error) {
	r, err := d.s.OpenSum(sum)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// CreateSHA256 implements ContentStorage. The writer is a
// PartialContentWriter.
func (d *DiskStorage) CreateSHA256(sum [32]byte, size int64) (ContentWriter, error) {
	w, err := d.s.CreateSum(sum, size)
	if err != nil {
		return nil, err
	}
	return diskWriter{w}, nil
}

// ResumeSHA256 implements ContentResumer.
func (d *DiskStorage) ResumeSHA256(sum [32]byte, size int64) (PartialContentWriter, error) {
	w, err := d.s.ResumeSum(sum, size)
	if err != nil {
		return nil, err
	}
	return diskWriter{w}, nil
}

// Import adds the .deb files in dir (for example /var/cache/apt/archives)
// by hard link or copy.
func (d *DiskStorage) Import(ctx context.Context, dir string) (ImportStats, error) {
	st, err := d.s.Import(ctx, dir)
	out := ImportStats{Files: st.Files, Linked: st.Linked, Copied: st.Copied, Present: st.Present, Bytes: st.Bytes}
	for _, sum := range st.Sums {
		out.Sums = append(out.Sums, sum)
	}
	return out, err
}

// Verify re-hashes everything stored and removes what is bad. It reads all
// the data, so run it only when asked.
func (d *DiskStorage) Verify(ctx context.Context) (VerifyStats, error) {
	st, err := d.s.Verify(ctx)
	vs := VerifyStats{Checked: st.Checked, Removed: st.Removed}
	if err != nil {
		return vs, fmt.Errorf("debtorrent: verify storage: %w", err)
	}
	return vs, nil
}

// Usage returns the bytes and number of Debian pieces stored.
func (d *DiskStorage) Usage() (bytes int64, pieces int) { return d.s.Usage() }

// diskTorrent adapts *store.Torrent to TorrentStorage and PartialOpener
// (OpenPiece and OpenPartial return the interfaces).
type diskTorrent struct{ *store.Torrent }

func (t diskTorrent) OpenPartial(piece int) (PartialReader, error) {
	r, err := t.Torrent.OpenPartial(piece)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// diskWriter adapts *store.SumWriter to PartialContentWriter.
type diskWriter struct{ *store.SumWriter }

func (w diskWriter) OpenPartial() (PartialReader, error) {
	r, err := w.SumWriter.OpenReader()
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (t diskTorrent) OpenPiece(piece int) (PieceReader, error) {
	r, err := t.Torrent.OpenPiece(piece)
	if err != nil {
		return nil, err
	}
	return r, nil
}
