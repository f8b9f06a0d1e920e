package aptproxy

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"

	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// debContentType is the media type of Debian binary packages.
const debContentType = "application/vnd.debian.binary-package"

// servePool answers a pool file: from the store when a torrent lists it
// (fetched first by the Fetcher, the mirror as fallback), else through the
// cache as an immutable file straight from the mirror. It never refuses a
// pool file of a configured mirror.
func (s *Server) servePool(ctx context.Context, r *http.Request, t Target) (*pipeline.Response, string) {
	tor, i, listed := s.archives.find(ctx, t.ArchiveKey(), t.Path.Path, s.cfg.BuildWait)
	if !listed {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.DebTimeout)
		defer cancel()
		e, err := s.cfg.Cache.Get(ctx, indexcache.Request{Key: "pool/" + t.Key(), URLs: t.UpstreamURLs(), Mode: indexcache.Immutable})
		if err != nil {
			return upstreamError(ctx, "/"+t.Rest, err), "mirror"
		}
		return serveContent(r, content{body: e.Body, closer: e, size: e.Meta.Size, modTime: e.Meta.ModTime(), etag: e.Meta.ETag, contentType: e.Meta.ContentType}), "unlisted"
	}
	p := tor.Info.Pieces[i]
	var sum [32]byte
	copy(sum[:], p.Hash)
	etag := strconv.Quote("sha256:" + hex.EncodeToString(p.Hash))
	source := "store"
	piece, err := s.cfg.Store.OpenSHA256(sum)
	if err != nil && r.Method == http.MethodHead {
		// The Packages entry says all a HEAD needs; no download for it.
		h := http.Header{}
		h.Set("Content-Type", debContentType)
		h.Set("Accept-Ranges", "bytes")
		h.Set("ETag", etag)
		if !tor.ModTime.IsZero() {
			h.Set("Last-Modified", tor.ModTime.UTC().Format(http.TimeFormat))
		}
		return &pipeline.Response{Status: http.StatusOK, Header: h, ContentLength: p.Length}, "listed"
	}
	if err != nil {
		source, err = s.fetchDeb(ctx, tor, i)
		if err != nil {
			return upstreamError(ctx, "/"+t.Rest, err), source
		}
		piece, err = s.cfg.Store.OpenSHA256(sum)
		if err != nil {
			return pipeline.Text(http.StatusBadGateway, fmt.Sprintf("debtorrent: %s was fetched but cannot be read: %v", t.Rest, err)), source
		}
	}
	s.stats.debServed(source)
	return serveContent(r, content{body: piece, closer: piece, size: piece.Size(), modTime: tor.ModTime, etag: etag, contentType: debContentType}), source
}

// fetchDeb brings a listed .deb into the store: the Fetcher first (peers),
// within PeerWait, then the mirror; all within DebTimeout. It says which
// source delivered.
func (s *Server) fetchDeb(ctx context.Context, tor *Torrent, i int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DebTimeout)
	defer cancel()
	if s.cfg.Fetcher != nil {
		pctx, pcancel := context.WithTimeout(ctx, s.cfg.PeerWait)
		err := s.cfg.Fetcher.Fetch(pctx, tor, i)
		pcancel()
		if err == nil {
			return "engine", nil
		}
		if ctx.Err() != nil {
			return "engine", err
		}
		s.log.Info("aptproxy: engine did not deliver, asking the mirror", "file", tor.Info.Files[i].Path, "err", err)
	}
	return "mirror", s.cfg.Mirror.Fetch(ctx, tor, i)
}
