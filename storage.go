package debtorrent

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/debtorrent/debtorrent/internal/store"
	"github.com/debtorrent/debtorrent/metainfo"
)

// Storage keeps the pieces of torrents. Embedders may bring their own; the
// default is OpenDiskStorage.
type Storage interface {
	// OpenTorrent returns the storage of one torrent, knowing which of its
	// pieces are already verified.
	OpenTorrent(info *metainfo.Info) (TorrentStorage, error)
	// Close releases the storage; its torrents must be closed first.
	Close() error
}

// TorrentStorage holds one torrent's pieces. Blocks are written into a
// piece's temporary area; FinishPiece checks the piece's hash and only then
// makes it readable. Implementations are safe for concurrent use.
type TorrentStorage interface {
	// WriteBlock stores data at off within piece. Writing to a complete
	// piece does nothing.
	WriteBlock(piece int, off int64, data []byte) error
	// FinishPiece verifies a piece whose bytes have all been written. It
	// returns an error wrapping ErrHashMismatch (data discarded) or
	// ErrIncomplete (data kept) when the piece cannot be committed.
	FinishPiece(piece int) error
	// PieceComplete reports whether a piece is verified and readable.
	PieceComplete(piece int) bool
	// OpenPiece opens a verified piece for reading.
	OpenPiece(piece int) (PieceReader, error)
	// Close abandons pieces in progress and releases the torrent.
	Close() error
}

// PieceReader reads one verified piece: sequentially with Seek (to stream a
// byte range to APT) or at offsets (to serve blocks to peers).
type PieceReader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size returns the piece's length.
	Size() int64
}

// Errors of storage; test with errors.Is.
var (
	// ErrHashMismatch: a piece's data did not match its hash.
	ErrHashMismatch = store.ErrHashMismatch
	// ErrIncomplete: a piece was finished before all its bytes were written.
	ErrIncomplete = store.ErrIncomplete
	// ErrNotComplete: a piece was opened before it was verified.
	ErrNotComplete = store.ErrNotComplete
)

// NewPieceWriter returns a writer that writes sequentially into piece of t,
// from off: the io.Writer a websource.WebSource fetch writes into.
func NewPieceWriter(t TorrentStorage, piece int, off int64) io.Writer {
	return &pieceWriter{t: t, piece: piece, off: off}
}

type pieceWriter struct {
	t     TorrentStorage
	piece int
	off   int64
}

func (w *pieceWriter) Write(p []byte) (int, error) {
	if err := w.t.WriteBlock(w.piece, w.off, p); err != nil {
		return 0, err
	}
	w.off += int64(len(p))
	return len(p), nil
}

// DiskOptions tune the default storage.
type DiskOptions struct {
	// MaxBytes caps the content-addressed area (Debian pieces); least
	// recently used pieces nobody is reading are evicted past it. 0: no cap.
	MaxBytes int64
	// OnEvict is called with the SHA256 of each piece evicted or removed by
	// Verify.
	OnEvict func(sha256 [32]byte)
	// Logger receives warnings about odd files on disk.
	Logger *slog.Logger
}

// ImportStats says what DiskStorage.Import did.
type ImportStats = store.ImportStats

// VerifyStats says what DiskStorage.Verify found.
type VerifyStats = store.VerifyStats

// DiskStorage is the default Storage: Debian pieces content-addressed by
// SHA256 under dir/sha256/ (one copy however many torrents list them),
// standard torrents in their usual file layout under dir/<name>/, written
// through temporary files and made visible only once verified, with crash
// safety, restart discovery, import and an optional size cap.
type DiskStorage struct {
	s *store.Store
}

var _ Storage = (*DiskStorage)(nil)

// OpenDiskStorage opens (creating if needed) the storage in dir. It finds
// the verified pieces already there without re-hashing them.
func OpenDiskStorage(dir string, opts DiskOptions) (*DiskStorage, error) {
	so := store.Options{MaxBytes: opts.MaxBytes, Logger: opts.Logger}
	if opts.OnEvict != nil {
		so.OnEvict = func(s store.Sum) { opts.OnEvict(s) }
	}
	s, err := store.Open(dir, so)
	if err != nil {
		return nil, err
	}
	return &DiskStorage{s: s}, nil
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

// Has reports whether the Debian piece with this SHA256 is stored.
func (d *DiskStorage) Has(sha256 [32]byte) bool { return d.s.Has(sha256) }

// OpenSHA256 opens the stored Debian piece with this SHA256, whichever
// torrent brought it.
func (d *DiskStorage) OpenSHA256(sha256 [32]byte) (PieceReader, error) {
	r, err := d.s.OpenSum(sha256)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Import adds the .deb files in dir (for example /var/cache/apt/archives)
// by hard link or copy.
func (d *DiskStorage) Import(ctx context.Context, dir string) (ImportStats, error) {
	return d.s.Import(ctx, dir)
}

// Verify re-hashes everything stored and removes what is bad. It reads all
// the data, so run it only when asked.
func (d *DiskStorage) Verify(ctx context.Context) (VerifyStats, error) {
	st, err := d.s.Verify(ctx)
	if err != nil {
		return st, fmt.Errorf("debtorrent: verify storage: %w", err)
	}
	return st, nil
}

// Usage returns the bytes and number of Debian pieces stored.
func (d *DiskStorage) Usage() (bytes int64, pieces int) { return d.s.Usage() }

// diskTorrent adapts *store.Torrent to TorrentStorage.
type diskTorrent struct{ *store.Torrent }

func (t diskTorrent) OpenPiece(piece int) (PieceReader, error) {
	r, err := t.Torrent.OpenPiece(piece)
	if err != nil {
		return nil, err
	}
	return r, nil
}
