// Package store keeps pieces on disk: the content-addressed area where
// Debian pieces (whole .deb files) live once under their SHA256, and the
// ordinary file layout of standard torrents, plus the partial and temporary
// files pieces are written into until their hash is checked.
//
// Layout under the store's directory:
//
//	sha256/ab/abcdef…            verified Debian pieces, named by their SHA256
//	<name>/<path>                 the files of standard torrents, as other clients lay them out
//	.debtorrent/lock              held (flock) while a Store has the directory open
//	.debtorrent/partial/<sha256>  Debian pieces being written, or stopped unfinished
//	                              (kept across restarts, resumed; one per SHA256)
//	.debtorrent/tmp/              other pieces being written: a second concurrent
//	                              writer of one SHA256 (emptied on open)
//	.debtorrent/torrents/<ih>/    per standard torrent: "verified", the durable record
//	                              of its verified pieces
//
// The crash story. A content-addressed file gets its name only after its hash
// was checked, its data fsynced and the rename made durable, so any file under
// sha256/ is complete and right, and a directory scan finds them on start with
// no hashing. A standard torrent's piece is written straight into the
// torrent's files and hashed as it arrives; once verified it is readable, and
// (in batches) the files are fsynced and only then is the piece added to the
// "verified" record, which is replaced atomically (temporary file, fsync,
// rename, fsync of the directory). Nothing reads a standard torrent's bytes
// but through the record, and no byte of a piece it claims is ever written.
// A crash before the record is replaced leaves bytes in the files that no
// record claims; a crash after leaves durable verified data. Temporary files
// are deleted on open, and pieces no record claims start over.
//
// A Debian piece in progress is resumable: its file in partial/ only ever
// receives its own bytes, is fsynced every few MiB and when its writer stops
// (then cut to the prefix its hash covered), and is adopted by the next
// writer of its SHA256, before or after a restart: its length, cut to the
// first hole and to whole 16 KiB blocks, is re-hashed once and becomes the
// new prefix. A crash may lose the tail written since the last fsync, or
// leave wrong bytes in it; none of that is ever named verified, because the
// SHA256 of the whole piece is checked before its rename into sha256/, and a
// piece failing it is deleted and starts over. Partial files of pieces
// stored already, untouched for a week, or past a size cap are removed on
// open.
//
// Readers of a piece in progress (PartialReader) get their own descriptor
// of its file and follow its hashed prefix; the last byte is held back
// until the piece is verified.
//
// Concurrency. Store and Torrent are safe for concurrent use. The store's
// lock guards only in-memory state and is never held across a system call
// or a callback; membership checks, made on every block written, take it
// for reading only. See Store and Torrent for the details.
package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// Errors the store wraps; test with errors.Is.
var (
	// ErrHashMismatch: a finished piece's data did not match its hash and was
	// discarded.
	ErrHashMismatch = errors.New("store: piece hash mismatch")
	// ErrIncomplete: FinishPiece was called before every byte arrived.
	ErrIncomplete = errors.New("store: piece incomplete")
	// ErrNotComplete: a piece was opened for reading before it was verified.
	ErrNotComplete = errors.New("store: piece not verified")
	// ErrClosed: the store or torrent was closed.
	ErrClosed = errors.New("store: closed")
)

// Sum is a SHA256 digest: the name of a content-addressed piece.
type Sum [32]byte

// String returns the digest in lower-case hex.
func (s Sum) String() string { return hex.EncodeToString(s[:]) }

// Options tune a Store.
type Options struct {
	// MaxBytes caps the size of the content-addressed area; past it the least
	// recently used pieces that nobody is reading are deleted. 0 means no cap.
	// Standard torrents' files are not counted nor evicted.
	MaxBytes int64
	// OnCommit, when set, is called (without locks held) with each piece
	// newly stored in the content-addressed area, whoever wrote it, so the
	// engine can announce it in every torrent that lists it.
	OnCommit func(Sum)
	// OnEvict, when set, is called (without locks held) with each piece
	// removed: by eviction, by Verify, or found vanished from disk, so the
	// engine can stop announcing it.
	//
	// Both run on the goroutine that made the change, before the call that
	// made it returns, exactly once per change. They may use the store. For
	// one piece, calls from changes racing each other (an eviction and a new
	// commit of the same piece) may arrive in either order; Has tells the
	// truth at any time.
	OnEvict func(Sum)
	// PartialMaxAge: partial pieces (kept for resuming) untouched for
	// longer are removed at Open. 0 means DefaultPartialMaxAge.
	PartialMaxAge time.Duration
	// PartialMaxBytes caps the partial pieces kept: past it the oldest are
	// removed at Open. 0 means DefaultPartialMaxBytes.
	PartialMaxBytes int64
	// Logger receives warnings about odd files found on disk (default: none).
	Logger *slog.Logger

	// fs replaces the file system's Sync and Rename (tests only; default
	// osFS).
	fs fileSystem
}

// Store is a directory of pieces. It is safe for concurrent use. Only one
// Store may have a directory open at a time (enforced with a lock file).
//
// Locking. mu guards the index of the content-addressed area (every change
// to cas, and lru, used, count, busy) and the set of open torrents. It is
// held only for memory work, never across a system call. Membership (Has,
// and so Torrent.PieceComplete on every block written) takes no lock: cas
// is a sync.Map, read lock-free and written only with mu held, so that it
// and the LRU list agree for any holder of mu. Opening a piece pins its entry under it and opens the file and records
// the use time after; eviction takes entries out of the index under it and
// unlinks their files after. busy marks the names with such a file
// operation in flight, so that a commit of a piece being deleted waits for
// the deletion instead of racing it. OnCommit and OnEvict run with no lock
// held. pmu guards only the set of partial files owned by a writer (one
// writer per SHA256); it is taken inside a partial's lock, never around one
// that anybody else may hold, and never across a system call.
type Store struct {
	dir  string
	opts Options
	lock *os.File
	fs   fileSystem // opts.fs or osFS

	mu       sync.RWMutex
	cas      sync.Map              // Sum → *entry: the stored pieces
	lru      lruList               // the entries of cas, most recently used first
	used     int64                 // their bytes
	count    int                   // their number
	busy     map[Sum]chan struct{} // names being renamed or unlinked; closed when done
	torrents map[metainfo.InfoHash]*Torrent
	closed   bool

	// pmu guards owned: the partial pieces with a file in partial/, by
	// SHA256, one writer each. Taken alone, or inside a partial's lock
	// (never the other way round).
	pmu            sync.Mutex
	owned          map[Sum]*partial
	partialsClosed bool
}

func (s *Store) internalDir() string { return filepath.Join(s.dir, ".debtorrent") }
func (s *Store) tmpDir() string      { return filepath.Join(s.internalDir(), "tmp") }
func (s *Store) casDir() string      { return filepath.Join(s.dir, "sha256") }

func (s *Store) casPath(sum Sum) string {
	h := sum.String()
	return filepath.Join(s.casDir(), h[:2], h)
}

// Open opens (creating if needed) the store in dir, removes what interrupted
// writes left behind, and indexes the verified pieces already there.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, opts: opts, busy: make(map[Sum]chan struct{}),
		torrents: make(map[metainfo.InfoHash]*Torrent), owned: make(map[Sum]*partial)}
	s.lru.init()
	s.fs = opts.fs
	if s.fs == nil {
		s.fs = osFS{}
	}
	for _, d := range []string{s.internalDir(), s.casDir(), filepath.Join(s.internalDir(), "torrents")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", dir, err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(s.internalDir(), "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: %s is in use by another process (close it first): %w", dir, err)
	}
	s.lock = lock
	if err := os.RemoveAll(s.tmpDir()); err != nil {
		s.lock.Close()
		return nil, fmt.Errorf("store: clear temporary files: %w", err)
	}
	if err := os.MkdirAll(s.tmpDir(), 0o755); err != nil {
		s.lock.Close()
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	if err := s.scan(); err != nil {
		s.lock.Close()
		return nil, err
	}
	if err := s.collectPartials(); err != nil {
		s.lock.Close()
		return nil, err
	}
	return s, nil
}

// scan indexes sha256/: every file named by a valid digest in the directory
// of its first two hex digits. Its mtime is its last use, which orders the
// LRU list.
func (s *Store) scan() error {
	type found struct {
		e     *entry
		mtime time.Time
	}
	var all []found
	subs, err := os.ReadDir(s.casDir())
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		names, err := os.ReadDir(filepath.Join(s.casDir(), sub.Name()))
		if err != nil {
			return fmt.Errorf("store: scan: %w", err)
		}
		for _, de := range names {
			sum, ok := parseSum(de.Name())
			if !ok || de.Name()[:2] != sub.Name() || !de.Type().IsRegular() {
				s.opts.Logger.Warn("store: ignoring stray file", "path", filepath.Join(sub.Name(), de.Name()))
				continue
			}
			fi, err := de.Info()
			if err != nil {
				continue // removed meanwhile
			}
			all = append(all, found{&entry{sum: sum, size: fi.Size()}, fi.ModTime()})
		}
	}
	slices.SortFunc(all, func(a, b found) int { return a.mtime.Compare(b.mtime) })
	for _, f := range all { // oldest first, so the newest ends at the front
		s.insertLocked(f.e)
	}
	return nil
}

// parseSum reads 64 lower-case hex digits.
func parseSum(name string) (Sum, bool) {
	var sum Sum
	if len(name) != 64 {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(name)); err != nil || hex.EncodeToString(sum[:]) != name {
		return sum, false
	}
	return sum, true
}

// Close releases the directory. Open torrents and readers should be closed
// first; writes in progress stop, and content-addressed pieces in progress
// are kept in partial/ for the next writer to resume (SumWriters still open
// fail from then on).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ts := make([]*Torrent, 0, len(s.torrents))
	for _, t := range s.torrents {
		if t != nil { // nil: still opening; it will see closed
			ts = append(ts, t)
		}
	}
	s.mu.Unlock()
	for _, t := range ts {
		t.Close()
	}
	s.suspendPartials()
	return s.lock.Close()
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Usage returns the bytes and number of pieces in the content-addressed
// area.
func (s *Store) Usage() (bytes int64, pieces int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.used, s.count
}
