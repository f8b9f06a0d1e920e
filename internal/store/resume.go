package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Resuming content-addressed pieces. A piece being written by the first
// writer of its SHA256 lives in partial/<sha256 hex> (it "owns" that file);
// a writer that stops unfinished keeps the file, truncated to its hashed
// prefix, and the next writer of the same SHA256 (any torrent listing it,
// or ResumeSum) adopts it: its length, cut to what can be trusted, is
// re-hashed once and becomes the new partial's prefix. While one writer
// owns the file, a second writer of the same SHA256 writes a private
// temporary file in tmp/, as before resuming existed: concurrent writers
// never share bytes, so one's discard or bad data never touches the other's.
const (
	// resumeBlock: an adopted prefix is cut to a multiple of it (a crash
	// may have torn the last block written), unless the file holds the
	// whole piece.
	resumeBlock = 16 << 10
	// DefaultPartialMaxAge is how long an untouched partial file is kept
	// when Options.PartialMaxAge is 0.
	DefaultPartialMaxAge = 7 * 24 * time.Hour
	// DefaultPartialMaxBytes caps the partial files kept when
	// Options.PartialMaxBytes is 0.
	DefaultPartialMaxBytes = 4 << 30
)

func (s *Store) partialDir() string { return filepath.Join(s.internalDir(), "partial") }

func (s *Store) partialPath(sum Sum) string { return filepath.Join(s.partialDir(), sum.String()) }

// newCASPartial starts a content-addressed piece of length bytes: in its
// persistent file when no other writer owns it (adopting the prefix found
// there when resume is set, starting it afresh otherwise), else in a
// private temporary file named after pattern.
func (s *Store) newCASPartial(sum Sum, length int64, pattern string, resume bool) (*partial, error) {
	s.pmu.Lock()
	if s.partialsClosed {
		s.pmu.Unlock()
		return nil, ErrClosed
	}
	if _, owned := s.owned[sum]; owned {
		s.pmu.Unlock()
		return newPartial(s.tmpDir(), pattern, length, sha256.New())
	}
	p := &partial{length: length, h: sha256.New(), path: s.partialPath(sum), grown: make(chan struct{}),
		owner: s, name: sum, fsys: s.fs}
	// Nobody else can have p yet; locked before it is listed so that
	// Store.Close, which suspends the listed partials, waits for adoption.
	p.mu.Lock()
	s.owned[sum] = p
	s.pmu.Unlock()
	err := p.adopt(resume, s.opts.Logger)
	if err != nil {
		p.done = true
		p.state = pieceFailed
		s.disown(p)
	}
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return p, nil
}

// disown lets the next writer of p's SHA256 have its file.
func (s *Store) disown(p *partial) {
	s.pmu.Lock()
	if s.owned[p.name] == p {
		delete(s.owned, p.name)
	}
	s.pmu.Unlock()
}

// adopt opens p's persistent file, and takes what resumableLength trusts of
// it as p's hashed prefix (nothing unless resume), cutting the rest off
// (p.mu held).
func (p *partial) adopt(resume bool, log *slog.Logger) error {
	f, err := os.OpenFile(p.path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("store: open partial piece %s: %w", p.name, err)
	}
	var n int64
	if resume {
		n = resumableLength(f, p.length)
		if n > 0 {
			// Streamed through a fixed buffer: no allocation sized by the file.
			if _, err := io.CopyBuffer(p.h, io.NewSectionReader(f, 0, n), make([]byte, 64<<10)); err != nil {
				log.Info("store: partial piece unreadable, starting it over", "sha256", p.name.String(), "err", err)
				p.h.Reset()
				n = 0
			}
		}
	}
	if err := f.Truncate(n); err != nil {
		f.Close()
		os.Remove(p.path)
		return fmt.Errorf("store: reset partial piece %s: %w", p.name, err)
	}
	p.f, p.data = f, f
	p.hashed, p.synced = n, n
	if n > 0 {
		p.have = []span{{0, n}}
		log.Info("store: resuming partial piece", "sha256", p.name.String(), "bytes", n, "of", p.length)
	}
	return nil
}

// seekHole is lseek's SEEK_HOLE (Linux, and most other systems).
const seekHole = 4

// resumableLength is how much of a partial file a resume trusts: its
// length, at most the piece's, cut to a multiple of resumeBlock (unless it
// holds the whole piece) and to the first hole (the file system's record of
// a block never written: blocks arrive out of order, and a crash may lose
// any of them). The bytes are trusted only as far as this: the hash of the
// whole piece is checked at the end.
func resumableLength(f *os.File, length int64) int64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	n := min(fi.Size(), length)
	if hole, err := f.Seek(0, seekHole); err == nil && hole < n {
		n = hole
	}
	if n < length {
		n -= n % resumeBlock
	}
	return n
}

// PartialLength is how many bytes a writer of the piece with this SHA256
// would resume from (the prefix kept in partial/), 0 when there is none
// or another writer owns it. It reads the file's length, hashing nothing.
func (s *Store) PartialLength(sum Sum, length int64) int64 {
	s.pmu.Lock()
	_, owned := s.owned[sum]
	s.pmu.Unlock()
	if owned {
		return 0
	}
	f, err := os.Open(s.partialPath(sum))
	if err != nil {
		return 0
	}
	defer f.Close()
	return resumableLength(f, length)
}

// suspendPartials suspends every partial still owned (at Close) and stops
// new ones being made.
func (s *Store) suspendPartials() {
	s.pmu.Lock()
	s.partialsClosed = true
	ps := make([]*partial, 0, len(s.owned))
	for _, p := range s.owned {
		ps = append(ps, p)
	}
	s.pmu.Unlock()
	for _, p := range ps {
		p.mu.Lock()
		p.stop()
		p.mu.Unlock()
	}
}

// collectPartials removes, at Open, the partial files not worth resuming:
// stray names, pieces already stored, files untouched for longer than
// PartialMaxAge, and the oldest past PartialMaxBytes in all. Each removal is
// logged.
func (s *Store) collectPartials() error {
	if err := os.MkdirAll(s.partialDir(), 0o755); err != nil {
		return fmt.Errorf("store: open partial pieces: %w", err)
	}
	des, err := os.ReadDir(s.partialDir())
	if err != nil {
		return fmt.Errorf("store: scan partial pieces: %w", err)
	}
	maxAge, maxBytes := s.opts.PartialMaxAge, s.opts.PartialMaxBytes
	if maxAge == 0 {
		maxAge = DefaultPartialMaxAge
	}
	if maxBytes == 0 {
		maxBytes = DefaultPartialMaxBytes
	}
	type kept struct {
		name  string
		size  int64
		mtime time.Time
	}
	var all []kept
	remove := func(name, why string) {
		err := os.Remove(filepath.Join(s.partialDir(), name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			s.opts.Logger.Warn("store: remove partial piece", "name", name, "err", err)
			return
		}
		s.opts.Logger.Info("store: removed partial piece", "name", name, "why", why)
	}
	now := time.Now()
	for _, de := range des {
		sum, ok := parseSum(de.Name())
		if !ok || !de.Type().IsRegular() {
			remove(de.Name(), "not named by a SHA256")
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		switch {
		case s.Has(sum):
			remove(de.Name(), "piece already stored")
		case now.Sub(fi.ModTime()) > maxAge:
			remove(de.Name(), fmt.Sprintf("untouched for more than %v", maxAge))
		default:
			all = append(all, kept{de.Name(), fi.Size(), fi.ModTime()})
		}
	}
	slices.SortFunc(all, func(a, b kept) int { return b.mtime.Compare(a.mtime) }) // newest first
	var total int64
	for _, k := range all {
		total += k.size
		if total > maxBytes {
			remove(k.name, fmt.Sprintf("partial pieces exceed %d bytes", maxBytes))
		}
	}
	return nil
}
