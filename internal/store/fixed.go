package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/metainfo"
)

// Group commit of standard torrents: a verified piece is readable at once,
// but it is claimed on disk (its files fsynced, then the record rewritten)
// in batches, at most flushDelay after it was verified or once flushPieces
// pieces wait, and when the torrent is closed. A crash loses only claims,
// which the pieces' next download restores; it never leaves a claim on bytes
// that were not synced. Claiming each piece alone cost 4 fsyncs per piece
// and halved download speed on ext4.
const (
	flushDelay  = time.Second
	flushPieces = 256
)

// fixedLayout stores a standard torrent in its own files under the store's
// directory (<name> for a single file, <name>/<path> otherwise). Pieces are
// written straight into those files and hashed as they arrive (verified in
// place, no copy); only the verified bitfield, and on disk the record, say
// which bytes are good. A piece whose hash fails leaves its bytes there,
// claimed by nothing, to be overwritten by its next download.
type fixedLayout struct {
	s    *Store
	info *metainfo.Info
	dir  string // .debtorrent/torrents/<infohash>

	flushDelay time.Duration // how long a verified piece may wait for its claim
	flushMu    sync.Mutex    // one record write at a time, in order

	filesMu     sync.RWMutex     // read-locked on every block written
	files       map[int]*os.File // open handles of the torrent's files, by index
	filesClosed bool

	mu       sync.RWMutex       // read-locked by membership, on every block
	verified *bitfield.Bitfield // readable pieces; the record may lag behind
	pending  int                // verified pieces not yet in the record
	dirty    map[int]bool       // files written since the last flush
	timer    *time.Timer        // the next flush, while pieces are pending
}

// partialDir is where older versions kept pieces being written; it is
// removed on open.
func (fl *fixedLayout) partialDir() string { return filepath.Join(fl.dir, "partial") }
func (fl *fixedLayout) recordPath() string { return filepath.Join(fl.dir, "verified") }

// filePath returns where file i of the torrent lives.
func (fl *fixedLayout) filePath(i int) string {
	if fl.info.SingleFile {
		return filepath.Join(fl.s.dir, fl.info.Name)
	}
	return filepath.Join(fl.s.dir, fl.info.Name, filepath.FromSlash(fl.info.Files[i].Path))
}

// openFixed prepares a standard torrent: checks its name is free, loads its
// record, drops pieces whose files are missing or short, and removes the
// partial area older versions used.
func openFixed(s *Store, info *metainfo.Info) (*fixedLayout, error) {
	name := info.Name
	if err := metainfo.ValidatePath(name); err != nil || strings.Contains(name, "/") || name == "sha256" || name == ".debtorrent" {
		return nil, fmt.Errorf("store: torrent name %q cannot be a directory of the store (it must be one path component other than \"sha256\" and \".debtorrent\")", name)
	}
	ih := info.InfoHash()
	fl := &fixedLayout{s: s, info: info, dir: filepath.Join(s.internalDir(), "torrents", ih.String()),
		flushDelay: flushDelay, dirty: make(map[int]bool), files: make(map[int]*os.File)}
	if err := fl.checkNameFree(); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(fl.partialDir()); err != nil {
		return nil, fmt.Errorf("store: clear partial pieces of %s: %w", name, err)
	}
	if err := os.MkdirAll(fl.dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: open torrent %s: %w", name, err)
	}
	fl.verified = bitfield.New(len(info.Pieces))
	data, err := os.ReadFile(fl.recordPath())
	switch {
	case err == nil:
		rec, rerr := unmarshalRecord(data)
		if rerr == nil && rec.infoHash == ih && rec.verified.Len() == len(info.Pieces) {
			fl.verified = rec.verified
		} else {
			s.opts.Logger.Warn("store: ignoring unusable record; pieces will be fetched again", "torrent", name, "err", rerr)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: read record of %s: %w", name, err)
	}
	fl.dropMissing()
	for i, f := range info.Files {
		if f.Length == 0 {
			if err := fl.createEmpty(i); err != nil {
				return nil, err
			}
		}
	}
	// Writing the record now also claims the name for this torrent.
	if err := fl.writeRecord(fl.verified); err != nil {
		return nil, err
	}
	return fl, nil
}

// checkNameFree refuses a torrent whose files would land where another
// torrent's files are.
func (fl *fixedLayout) checkNameFree() error {
	parent := filepath.Dir(fl.dir)
	des, err := os.ReadDir(parent)
	if err != nil {
		return fmt.Errorf("store: list torrents: %w", err)
	}
	for _, de := range des {
		if !de.IsDir() || filepath.Join(parent, de.Name()) == fl.dir {
			continue
		}
		data, err := os.ReadFile(filepath.Join(parent, de.Name(), "verified"))
		if err != nil {
			continue
		}
		if rec, err := unmarshalRecord(data); err == nil && rec.name == fl.info.Name {
			return fmt.Errorf("store: torrent %s would use %q, which holds torrent %s; remove that one first", fl.info.InfoHash(), fl.info.Name, rec.infoHash)
		}
	}
	return nil
}

// dropMissing forgets verified pieces whose files are gone or too short: a
// cheap check (one stat per file) that catches files deleted by hand.
func (fl *fixedLayout) dropMissing() {
	sizes := make(map[int]int64)
	var claimed []int
	for i := range fl.verified.Ones() {
		claimed = append(claimed, i)
	}
	for _, i := range claimed {
		for _, r := range fl.info.FileRanges(i) {
			size, ok := sizes[r.File]
			if !ok {
				size = -1
				if fi, err := os.Stat(fl.filePath(r.File)); err == nil && fi.Mode().IsRegular() {
					size = fi.Size()
				}
				sizes[r.File] = size
			}
			if size < r.Offset+r.Length {
				fl.verified.Clear(i)
			}
		}
	}
}

func (fl *fixedLayout) createEmpty(i int) error {
	p := fl.filePath(i)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("store: create %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", p, err)
	}
	return f.Close()
}

func (fl *fixedLayout) writeRecord(bf *bitfield.Bitfield) error {
	rec := record{infoHash: fl.info.InfoHash(), name: fl.info.Name, verified: bf}
	if err := fl.s.writeFileAtomic(fl.recordPath(), rec.marshal()); err != nil {
		return fmt.Errorf("store: write record of %s: %w", fl.info.Name, err)
	}
	return nil
}

func (fl *fixedLayout) has(i int) bool {
	fl.mu.RLock()
	defer fl.mu.RUnlock()
	return fl.verified.Has(i)
}

func (fl *fixedLayout) snapshot() *bitfield.Bitfield {
	fl.mu.RLock()
	defer fl.mu.RUnlock()
	return fl.verified.Clone()
}

// markVerified makes piece i, whose bytes are in the torrent's files and
// whose hash matched, readable. It is claimed on disk by the next flush.
func (fl *fixedLayout) markVerified(i int) error {
	fl.mu.Lock()
	fl.verified.Set(i)
	fl.pending++
	for _, r := range fl.info.FileRanges(i) {
		fl.dirty[r.File] = true
	}
	full := fl.pending >= flushPieces
	if !full && fl.timer == nil {
		fl.timer = time.AfterFunc(fl.flushDelay, fl.flushLater)
	}
	fl.mu.Unlock()
	if full {
		return fl.flush(nil)
	}
	return nil
}

// flushLater is the timer's flush. Its error is logged: the pieces stay
// readable, and the next flush tries again.
func (fl *fixedLayout) flushLater() {
	if err := fl.flush(nil); err != nil {
		fl.s.opts.Logger.Warn("store: claiming verified pieces failed; will retry", "torrent", fl.info.Name, "err", err)
	}
}

// flush fsyncs the files written since the last flush and then rewrites
// the record with every readable piece but those in unclaim, which stop
// being readable only once the record no longer claims them: until then
// they cannot be written (WriteBlock sees them complete), so a crash never
// leaves a claim on bytes being rewritten.
func (fl *fixedLayout) flush(unclaim []int) error {
	fl.flushMu.Lock()
	defer fl.flushMu.Unlock()
	fl.mu.Lock()
	if fl.timer != nil {
		fl.timer.Stop()
		fl.timer = nil
	}
	if fl.pending == 0 && len(unclaim) == 0 {
		fl.mu.Unlock()
		return nil
	}
	dirty, pending := fl.dirty, fl.pending
	fl.dirty, fl.pending = make(map[int]bool), 0
	snap := fl.verified.Clone()
	for _, i := range unclaim {
		snap.Clear(i)
	}
	fl.mu.Unlock()

	err := fl.syncFiles(dirty)
	if err == nil {
		err = fl.writeRecord(snap)
	}
	fl.mu.Lock()
	if err != nil {
		// Put the work back so that the next flush retries it.
		for f := range dirty {
			fl.dirty[f] = true
		}
		fl.pending += pending
	} else {
		for _, i := range unclaim {
			fl.verified.Clear(i)
		}
	}
	fl.mu.Unlock()
	return err
}

// syncFiles fsyncs the torrent's files with these indexes.
func (fl *fixedLayout) syncFiles(files map[int]bool) error {
	for i := range files {
		f, err := fl.file(i)
		if err != nil {
			return fmt.Errorf("store: sync %s: %w", fl.filePath(i), err)
		}
		if err := fl.s.fs.Sync(f); err != nil {
			return fmt.Errorf("store: sync %s: %w", fl.filePath(i), err)
		}
	}
	return nil
}

// close claims whatever is pending and closes the torrent's files.
func (fl *fixedLayout) close() error {
	err := fl.flush(nil)
	if cerr := fl.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

// open reads verified piece i across the files it spans.
func (fl *fixedLayout) open(i int) (*PieceReader, error) {
	if !fl.has(i) {
		return nil, fmt.Errorf("%w: piece %d of %s", ErrNotComplete, i, fl.info.Name)
	}
	pr := &PieceReader{size: fl.info.Pieces[i].Length}
	for _, r := range fl.info.FileRanges(i) {
		f, err := os.Open(fl.filePath(r.File))
		if err != nil {
			pr.Close()
			return nil, fmt.Errorf("store: open piece %d of %s: %w", i, fl.info.Name, err)
		}
		pr.parts = append(pr.parts, section{f: f, off: r.Offset, n: r.Length, pieceOff: r.PieceOffset})
	}
	return pr, nil
}

// unverify forgets pieces found to be bad.
func (fl *fixedLayout) unverify(bad []int) error {
	if len(bad) == 0 {
		return nil
	}
	return fl.flush(bad)
}
