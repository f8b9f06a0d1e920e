package aptproxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/debtorrent/debtorrent/internal/indexcache"
)

// DefaultJoinDelay is how long after a Release passes the proxy waits for
// APT to ask for a Packages file itself before it fetches one from the
// mirror for the swarm: APT asks within milliseconds when its copy is stale,
// and then both share one download.
const DefaultJoinDelay = 3 * time.Second

// joinSuite makes every Packages index of rel that the proxy should seed —
// those for its architectures, and those that already have a torrent — a
// torrent of the version rel vouches for. The Packages file comes from the
// cheapest place that has exactly that version: the index cache, APT's own
// lists directory (APT does not fetch a Packages file it already has, so a
// machine with lists would otherwise never join a swarm), or, after
// JoinDelay, once from the mirror (under the name APT would use, so that the
// two share one download if APT asks too).
func (s *Server) joinSuite(t Target, rel *debsource.Release) {
	for dir, files := range packagesByDir(t, rel) {
		// A cached copy means APT fetched it through the proxy once: it
		// is wanted whatever its architecture.
		if s.anyBuilt(files) || s.buildFromCache(t, files) {
			continue
		}
		if !s.wantsIndex(t, dir, files) || s.buildFromLists(t, dir, files) {
			continue
		}
		hurry, done := s.archives.pendingJoin()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer done()
			timer := time.NewTimer(s.cfg.JoinDelay)
			defer timer.Stop()
			select {
			case <-s.ctx.Done():
				return
			case <-timer.C:
			case <-hurry:
			}
			if s.anyBuilt(files) || s.buildFromCache(t, files) {
				return
			}
			s.fetchForSwarm(t, dir, files)
		}()
	}
}

// packagesByDir groups rel's Packages files (every compression, with a
// SHA256) by index directory ("main/binary-amd64").
func packagesByDir(t Target, rel *debsource.Release) map[string][]debsource.IndexFile {
	out := map[string][]debsource.IndexFile{}
	for _, f := range rel.Files {
		if !f.HasSHA256 {
			continue
		}
		mp, err := debsource.ClassifyPath("dists/" + t.Path.Suite + "/" + f.Path)
		if err != nil || mp.Kind != debsource.KindIndex || mp.Index != debsource.IndexPackages {
			continue
		}
		d := path.Dir(f.Path)
		out[d] = append(out[d], f)
	}
	return out
}

// wantsIndex reports whether the index in dir should have a torrent: it
// has one already (the swarm follows new versions), or it is for one of the
// proxy's architectures.
func (s *Server) wantsIndex(t Target, dir string, files []debsource.IndexFile) bool {
	if s.archives.hasIndex(t.ArchiveKey(), t.Path.Suite, dir) {
		return true
	}
	mp, err := debsource.ClassifyPath("dists/" + t.Path.Suite + "/" + files[0].Path)
	return err == nil && slices.Contains(s.cfg.Architectures, mp.Arch)
}

// anyBuilt reports whether one of the files (one index in several
// compressions) was already turned into a torrent.
func (s *Server) anyBuilt(files []debsource.IndexFile) bool {
	for _, f := range files {
		if s.archives.isBuilt(f.SHA256) {
			return true
		}
	}
	return false
}

// buildFromCache builds from a cached copy of one of the files (under its
// name or by-hash) that matches the Release; false when none is cached.
func (s *Server) buildFromCache(t Target, files []debsource.IndexFile) bool {
	for _, f := range files {
		for _, rel := range []string{f.Path, byHashPath(f)} {
			ct, ok := s.target(t, rel)
			if !ok {
				continue
			}
			e, ok := s.cfg.Cache.Peek(ct.Key())
			if !ok {
				continue
			}
			meta := e.Meta
			e.Close()
			if meta.Size == f.Size && meta.Sum() == f.SHA256 {
				s.maybeBuild(ct, f, meta)
				return true
			}
		}
	}
	return false
}

// buildFromLists builds from APT's own copy of the index, if its lists
// directory holds a file with exactly the size and SHA256 the Release gives
// for one of the files. APT names lists by URL ("host_debian_dists_bookworm_
// main_binary-amd64_Packages", with a compression suffix when it keeps them
// compressed), and the URL depends on how APT reaches the proxy, so any name
// ending in the index's path qualifies: the hash decides.
func (s *Server) buildFromLists(t Target, dir string, files []debsource.IndexFile) bool {
	if s.cfg.AptLists == "" {
		return false
	}
	entries, err := os.ReadDir(s.cfg.AptLists)
	if err != nil {
		return false
	}
	stem := "_dists_" + strings.ReplaceAll(t.Path.Suite+"/"+dir, "/", "_") + "_"
	for _, de := range entries {
		name := de.Name()
		i := strings.LastIndex(name, stem)
		if i < 0 || !de.Type().IsRegular() {
			continue
		}
		base := name[i+len(stem):] // "Packages", "Packages.lz4", ...
		for _, f := range files {
			if path.Base(f.Path) != base {
				continue
			}
			file := filepath.Join(s.cfg.AptLists, name)
			if fi, err := os.Stat(file); err != nil || fi.Size() != f.Size || !sameSHA256(file, f.SHA256) {
				continue
			}
			ct, ok := s.target(t, f.Path)
			if !ok {
				continue
			}
			s.log.Info("aptproxy: joining the swarm with APT's own Packages file", "file", file)
			s.startBuild(ct, f, file, func() (io.ReadCloser, time.Time, error) {
				fh, err := os.Open(file)
				if err != nil {
					return nil, time.Time{}, err
				}
				fi, err := fh.Stat()
				if err != nil {
					fh.Close()
					return nil, time.Time{}, err
				}
				return fh, fi.ModTime(), nil
			})
			return true
		}
	}
	return false
}

// sameSHA256 reports whether file's content has this SHA256.
func sameSHA256(file string, want [32]byte) bool {
	fh, err := os.Open(file)
	if err != nil {
		return false
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return false
	}
	return [32]byte(h.Sum(nil)) == want
}

// fetchForSwarm fetches one of the files from the mirror for the swarm:
// the compression the index's torrent was made from before, else xz (what
// APT asks Debian for), else the smallest; by-hash when the archive offers
// it, as APT would.
func (s *Server) fetchForSwarm(t Target, dir string, files []debsource.IndexFile) {
	f := pickCompression(files, s.archives.indexPath(t.ArchiveKey(), t.Path.Suite, dir))
	rel := s.archives.release(t.ArchiveKey(), t.Path.Suite)
	relPath := f.Path
	if rel != nil && rel.AcquireByHash {
		relPath = byHashPath(f)
	}
	ct, ok := s.target(t, relPath)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.IndexTimeout)
	defer cancel()
	req := indexcache.Request{Key: ct.Key(), URLs: ct.UpstreamURLs(), Mode: indexcache.Validated,
		Valid: func(m indexcache.Meta) bool { return m.Size == f.Size && m.Sum() == f.SHA256 }}
	e, err := s.cfg.Cache.Get(ctx, req)
	if err != nil {
		s.log.Info("aptproxy: fetch Packages for the swarm", "index", ct.Rest, "err", err)
		return
	}
	meta := e.Meta
	e.Close()
	if meta.Size == f.Size && meta.Sum() == f.SHA256 {
		s.maybeBuild(ct, f, meta)
	}
}

// pickCompression chooses which of one index's files to fetch.
func pickCompression(files []debsource.IndexFile, previous string) debsource.IndexFile {
	ext := path.Ext(previous)
	if previous == "" {
		ext = ".xz"
	}
	for _, f := range files {
		if path.Ext(f.Path) == ext || (ext == "" && path.Base(f.Path) == "Packages") {
			return f
		}
	}
	best := files[0]
	for _, f := range files[1:] {
		if f.Size < best.Size {
			best = f
		}
	}
	return best
}

// byHashPath is f's by-hash name, relative to the suite.
func byHashPath(f debsource.IndexFile) string {
	return path.Dir(f.Path) + "/by-hash/SHA256/" + hex.EncodeToString(f.SHA256[:])
}

// target is the file at rel (relative to t's suite directory) of t's
// archive.
func (s *Server) target(t Target, rel string) (Target, bool) {
	mp, err := debsource.ClassifyPath("dists/" + t.Path.Suite + "/" + rel)
	if err != nil {
		return Target{}, false
	}
	return Target{Mirror: t.Mirror, Base: t.Base, Rest: t.Root + "dists/" + t.Path.Suite + "/" + rel, Root: t.Root, Path: mp}, true
}

// suites remembers which Release files passed through the proxy, in a small
// file, so that a restarted proxy can join their swarms before APT asks for
// anything. Safe for concurrent use.
type suites struct {
	file string // "" : nothing is remembered

	mu   sync.Mutex
	seen map[string]bool // "<mirror name>/<path of the Release>"
}

// maxSuites bounds the Releases remembered.
const maxSuites = 1000

func loadSuites(file string) *suites {
	s := &suites{file: file, seen: map[string]bool{}}
	if file == "" {
		return s
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return s
	}
	var list []string
	if json.Unmarshal(b, &list) == nil {
		for _, k := range list[:min(len(list), maxSuites)] {
			s.seen[k] = true
		}
	}
	return s
}

// remember records the Release at t; the file is rewritten when it is new.
func (s *suites) remember(t Target) {
	k := t.Mirror.Name + "/" + t.Rest
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[k] || len(s.seen) >= maxSuites {
		return
	}
	s.seen[k] = true
	if s.file == "" {
		return
	}
	list := make([]string, 0, len(s.seen))
	for k := range s.seen {
		list = append(list, k)
	}
	slices.Sort(list)
	b, _ := json.Marshal(list)
	tmp := s.file + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, s.file)
	}
}

// list returns the remembered Releases.
func (s *suites) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.seen))
	for k := range s.seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// rejoin joins, at start, the swarms of every Release the proxy saw before
// and still holds in its cache: a restarted proxy seeds its packages before
// APT asks for anything.
func (s *Server) rejoin() {
	for _, k := range s.suites.list() {
		name, rest, _ := strings.Cut(k, "/")
		r, err := http.NewRequest(http.MethodGet, "/"+name+"/"+rest, nil)
		if err != nil {
			continue
		}
		t, err := s.cfg.Mirrors.Resolve(r)
		if err != nil || t.Path.Kind != debsource.KindRelease {
			continue
		}
		e, ok := s.cfg.Cache.Peek(t.Key())
		if !ok {
			continue
		}
		rel, err := parseRelease(s.ctx, t, e)
		e.Close()
		if err != nil {
			s.log.Warn("aptproxy: cached Release unreadable", "url", t.Rest, "err", err)
			continue
		}
		s.archives.setRelease(t.ArchiveKey(), t.Path.Suite, rel)
		s.joinSuite(t, rel)
	}
}

// errReleaseTooLarge refuses a Release past debsource.MaxReleaseBytes.
var errReleaseTooLarge = errors.New("aptproxy: Release larger than debsource.MaxReleaseBytes")
