package aptproxy

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// ServeIndex passes an index (or any non-pool file) through the cache:
// Release files revalidated, by-hash names immutable, indexes the current
// Release lists valid while their size and SHA256 match it, the rest
// revalidated.
func (s *Server) ServeIndex(ctx context.Context, r *http.Request, t Target) *pipeline.Response {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.IndexTimeout)
	defer cancel()
	req := indexcache.Request{Key: t.Key(), URLs: t.UpstreamURLs(), Mode: indexcache.Revalidate, NoCache: noCache(r)}
	vouched, isVouched := s.archives.vouched(t)
	switch {
	case t.Path.Kind != debsource.KindIndex:
	case t.Path.Index == debsource.IndexByHash:
		req.Mode = indexcache.Immutable
	case t.Path.Index == debsource.IndexPDiff && path.Base(t.Path.RelPath) != "Index":
		req.Mode = indexcache.Immutable // patches are named by their date and listed with hashes in .diff/Index
	case isVouched:
		req.Mode = indexcache.Validated
		req.Valid = func(m indexcache.Meta) bool { return m.Size == vouched.Size && m.Sum() == vouched.SHA256 }
	}
	e, err := s.cfg.Cache.Get(ctx, req)
	if err != nil {
		return UpstreamError(ctx, "/"+t.Rest, err)
	}
	if t.Path.Kind == debsource.KindRelease {
		s.noteRelease(ctx, t, e)
	}
	if isVouched && t.Path.Kind == debsource.KindIndex && e.Meta.Size == vouched.Size && e.Meta.Sum() == vouched.SHA256 {
		s.maybeBuild(t, vouched, e.Meta)
	}
	return ServeContent(r, Content{Body: e.Body, Closer: e, Size: e.Meta.Size, ModTime: e.Meta.ModTime(), ETag: e.Meta.ETag, ContentType: e.Meta.ContentType})
}

// noteRelease parses a Release or InRelease that passed through and keeps
// it for the suite. Its signature is APT's business: the proxy uses the
// hashes only to name and check the files APT will check again.
func (s *Server) noteRelease(ctx context.Context, t Target, e *indexcache.Entry) {
	name := path.Base(t.Path.Path)
	if name != "InRelease" && name != "Release" {
		return
	}
	if old := s.archives.release(t.ArchiveKey(), t.Path.Suite); old != nil && !e.Revalidated {
		return
	}
	if e.Meta.Size > debsource.MaxReleaseBytes {
		return
	}
	raw := make([]byte, e.Meta.Size)
	if _, err := e.Body.ReadAt(raw, 0); err != nil && err != io.EOF {
		return
	}
	var rel *debsource.Release
	var err error
	if name == "InRelease" {
		rel, _, err = debsource.ParseInRelease(ctx, raw, nil)
	} else {
		rel, err = debsource.ParseRelease(bytes.NewReader(raw))
	}
	if err != nil {
		s.log.Warn("aptproxy: unreadable Release", "url", t.Rest, "err", err)
		return
	}
	s.archives.setRelease(t.ArchiveKey(), t.Path.Suite, rel)
	s.buildCached(t, rel)
	s.refreshTorrents(t, rel)
}

// refreshTorrents fetches, in the background, the new Packages file of
// every index that has a torrent and that a new Release changed: APT may
// update its copy with pdiffs and never ask for the new file, yet the swarm
// should follow it. The fetch asks for the very name APT would (by-hash when
// the archive offers it), so when APT does ask, both share one download.
func (s *Server) refreshTorrents(t Target, rel *debsource.Release) {
	for _, tor := range s.archives.list() {
		if tor.ArchiveKey != t.ArchiveKey() || tor.Dist != t.Path.Suite {
			continue
		}
		f, ok := rel.File(tor.Index)
		if !ok || !f.HasSHA256 || s.archives.isBuilt(f.SHA256) {
			continue
		}
		relPath := f.Path
		if rel.AcquireByHash {
			relPath = path.Dir(f.Path) + "/by-hash/SHA256/" + hex.EncodeToString(f.SHA256[:])
		}
		mp, err := debsource.ClassifyPath("dists/" + t.Path.Suite + "/" + relPath)
		if err != nil {
			continue
		}
		ct := Target{Mirror: t.Mirror, Base: t.Base, Rest: t.Root + "dists/" + t.Path.Suite + "/" + relPath, Root: t.Root, Path: mp}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.IndexTimeout)
			defer cancel()
			req := indexcache.Request{Key: ct.Key(), URLs: ct.UpstreamURLs(), Mode: indexcache.Validated,
				Valid: func(m indexcache.Meta) bool { return m.Size == f.Size && m.Sum() == f.SHA256 }}
			e, err := s.cfg.Cache.Get(ctx, req)
			if err != nil {
				s.log.Info("aptproxy: fetch new Packages for the swarm", "index", ct.Rest, "err", err)
				return
			}
			meta := e.Meta
			e.Close()
			if meta.Size == f.Size && meta.Sum() == f.SHA256 {
				s.maybeBuild(ct, f, meta)
			}
		}()
	}
}

// buildCached makes torrents of the Packages files of a Release that the
// cache already holds (under their name or by-hash) and that match it: after
// a restart APT does not fetch Packages files again while the Release is
// unchanged, yet their packages should still come from the swarm.
func (s *Server) buildCached(t Target, rel *debsource.Release) {
	prefix := t.Root + "dists/" + t.Path.Suite + "/"
	done := map[string]bool{} // index directories with a torrent made
	for _, f := range rel.Files {
		if !f.HasSHA256 || done[path.Dir(f.Path)] {
			continue
		}
		for _, rel := range []string{f.Path, path.Dir(f.Path) + "/by-hash/SHA256/" + hex.EncodeToString(f.SHA256[:])} {
			mp, err := debsource.ClassifyPath("dists/" + t.Path.Suite + "/" + rel)
			if err != nil || mp.Kind != debsource.KindIndex || (mp.Index != debsource.IndexPackages && mp.Index != debsource.IndexByHash) {
				continue
			}
			ct := Target{Mirror: t.Mirror, Base: t.Base, Rest: prefix + rel, Root: t.Root, Path: mp}
			e, ok := s.cfg.Cache.Peek(ct.Key())
			if !ok {
				continue
			}
			meta := e.Meta
			e.Close()
			if meta.Size == f.Size && meta.Sum() == f.SHA256 {
				s.maybeBuild(ct, f, meta)
				done[path.Dir(f.Path)] = true
				break
			}
		}
	}
}

// maybeBuild turns a Packages file the Release vouches for into a torrent,
// in the background, once per file content.
func (s *Server) maybeBuild(t Target, f debsource.IndexFile, meta indexcache.Meta) {
	full, err := debsource.ClassifyPath("dists/" + t.Path.Suite + "/" + f.Path)
	if err != nil || full.Index != debsource.IndexPackages {
		return
	}
	if !s.archives.claim(f.SHA256) {
		return
	}
	rel := s.archives.release(t.ArchiveKey(), t.Path.Suite)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tor, err := s.build(t, full, f, rel, meta)
		if err != nil {
			s.log.Warn("aptproxy: Packages to torrent", "index", t.Rest, "err", err)
		}
		replaced := s.archives.buildDone(tor)
		if replaced != nil && tor != nil && replaced.Info.InfoHash() == tor.Info.InfoHash() {
			return // the same Packages content in another compression
		}
		if tor != nil && s.cfg.OnTorrent != nil {
			s.cfg.OnTorrent(tor, replaced)
		}
	}()
}

func (s *Server) build(t Target, full debsource.MirrorPath, f debsource.IndexFile, rel *debsource.Release, meta indexcache.Meta) (*Torrent, error) {
	e, ok := s.cfg.Cache.Peek(t.Key())
	if !ok {
		return nil, io.ErrUnexpectedEOF
	}
	defer e.Close()
	body := debsource.NewVerifyingReader(e.Body, t.Rest, f)
	dec, err := debsource.Decompress(body, f.Path)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	name := debsource.TorrentName{Suite: t.Path.Suite, Component: full.Component, Arch: full.Arch}
	if rel != nil {
		name.Origin = rel.Origin
		if rel.Codename != "" {
			name.Suite = rel.Codename
		}
	}
	res, err := debsource.BuildInfo(&ctxReader{ctx: s.ctx, r: dec}, name)
	if err != nil {
		return nil, err
	}
	s.log.Info("aptproxy: torrent made", "name", name.String(), "infohash", res.Info.InfoHash().String(), "packages", len(res.Info.Files), "skipped", res.SkippedTotal())
	return &Torrent{Info: res.Info, Name: name, ArchiveKey: t.ArchiveKey(), RootURLs: t.RootURLs(), Dist: t.Path.Suite, Index: f.Path,
		ModTime: meta.ModTime(), Added: time.Now()}, nil
}

// ctxReader stops a long parse when the server closes.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
