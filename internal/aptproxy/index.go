package aptproxy

import (
	"bytes"
	"context"
	"fmt"
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
		// Nothing that does not match the Release is cached.
		req.Expect = &indexcache.Expectation{Size: vouched.Size, SHA256: vouched.SHA256}
	}
	e, err := s.cfg.Cache.Get(ctx, req)
	s.mirrorState.note(t.Mirror.Name, err)
	if err != nil && unreachable(err) && r.Context().Err() == nil {
		// Offline: the mirror cannot be reached, so what is cached is
		// served as it is (APT checks it against the Release it has), with
		// a warning saying it was not revalidated.
		if old, ok := s.cfg.Cache.Peek(t.Key()); ok {
			resp := ServeContent(r, Content{Body: old.Body, Closer: old, Size: old.Meta.Size, ModTime: old.Meta.ModTime(), ETag: old.Meta.ETag, ContentType: old.Meta.ContentType})
			resp.Header.Set("Warning", `111 debtorrent "Revalidation Failed: mirror unreachable"`)
			return resp
		}
		// An InRelease or Release.gpg never cached beside a cached Release:
		// the mirror had none, so APT goes on as it did online.
		if b := path.Base(t.Path.Path); b == "InRelease" || b == "Release.gpg" {
			if rt, ok := s.target(t, "Release"); ok {
				if e, ok := s.cfg.Cache.Peek(rt.Key()); ok {
					e.Close()
					return pipeline.Text(http.StatusNotFound, "debtorrent: the mirror cannot be reached, and its "+b+" is not in the cache (its Release is): "+RootCause(err))
				}
			}
		}
	}
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
	rel, err := parseRelease(ctx, t, e)
	if err != nil {
		s.log.Warn("aptproxy: unreadable Release", "url", t.Rest, "err", err)
		return
	}
	s.archives.setRelease(t.ArchiveKey(), t.Path.Suite, rel)
	s.suites.remember(t)
	s.joinSuite(t, rel)
}

// parseRelease reads a cached Release or InRelease.
func parseRelease(ctx context.Context, t Target, e *indexcache.Entry) (*debsource.Release, error) {
	if e.Meta.Size > debsource.MaxReleaseBytes {
		return nil, errReleaseTooLarge
	}
	raw := make([]byte, e.Meta.Size)
	if _, err := e.Body.ReadAt(raw, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if path.Base(t.Path.Path) == "InRelease" {
		rel, _, err := debsource.ParseInRelease(ctx, raw, nil)
		return rel, err
	}
	return debsource.ParseRelease(bytes.NewReader(raw))
}

// maybeBuild turns a Packages file the Release vouches for, cached under
// t's key, into a torrent, in the background, once per file content.
func (s *Server) maybeBuild(t Target, f debsource.IndexFile, meta indexcache.Meta) {
	s.startBuild(t, f, t.Rest, func() (io.ReadCloser, time.Time, error) {
		e, ok := s.cfg.Cache.Peek(t.Key())
		if !ok {
			return nil, time.Time{}, fmt.Errorf("aptproxy: %s left the cache", t.Rest)
		}
		return readCloser{io.NewSectionReader(e.Body, 0, e.Meta.Size), e}, meta.ModTime(), nil
	})
}

// readCloser joins a reader and what closes it.
type readCloser struct {
	io.Reader
	io.Closer
}

// startBuild claims Packages file f of t's suite and, unless it was claimed
// before, builds its torrent in the background from what open returns (the
// body and its Last-Modified), then hands it to OnTorrent.
func (s *Server) startBuild(t Target, f debsource.IndexFile, name string, open func() (io.ReadCloser, time.Time, error)) {
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
		var tor *Torrent
		body, modTime, err := open()
		if err == nil {
			tor, err = s.buildFrom(body, name, t, full, f, rel, modTime)
			body.Close()
		}
		if err != nil {
			s.log.Warn("aptproxy: Packages to torrent", "index", name, "err", err)
		}
		// The caller is told before the torrent can be found, so that a
		// request that finds it finds it running too.
		if tor != nil && s.cfg.OnTorrent != nil {
			old := s.archives.sameIndex(tor)
			if old == nil || old.Info.InfoHash() != tor.Info.InfoHash() { // else the same content in another compression
				s.cfg.OnTorrent(tor, old)
			}
		}
		s.archives.buildDone(tor)
	}()
}

// buildFrom turns the Packages file in body (named name in errors), which
// Release entry f vouches for, into the torrent of index full of t's suite.
func (s *Server) buildFrom(body io.Reader, name string, t Target, full debsource.MirrorPath, f debsource.IndexFile, rel *debsource.Release, modTime time.Time) (*Torrent, error) {
	vr := debsource.NewVerifyingReader(body, name, f)
	dec, err := debsource.Decompress(vr, f.Path)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	tname := debsource.TorrentName{Suite: t.Path.Suite, Component: full.Component, Arch: full.Arch}
	if rel != nil {
		tname.Origin = rel.Origin
		if rel.Codename != "" {
			tname.Suite = rel.Codename
		}
	}
	res, err := debsource.BuildInfo(&ctxReader{ctx: s.ctx, r: dec}, tname)
	if err != nil {
		return nil, err
	}
	s.log.Info("aptproxy: torrent made", "name", tname.String(), "infohash", res.Info.InfoHash().String(), "packages", len(res.Info.Files), "skipped", res.SkippedTotal())
	return &Torrent{Info: res.Info, Name: tname, Mirror: t.Mirror.Name, ArchiveKey: t.ArchiveKey(), RootURLs: t.RootURLs(), Dist: t.Path.Suite, Index: f.Path,
		ModTime: modTime, Added: time.Now()}, nil
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
