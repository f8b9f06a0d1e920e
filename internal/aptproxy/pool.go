package aptproxy

import (
	"context"
	"errors"
	"net/http"

	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
	"github.com/debtorrent/debtorrent/websource"
)

// DebContentType is the media type of Debian binary packages.
const DebContentType = "application/vnd.debian.binary-package"

// ServeSelf answers a request addressed to the proxy itself: the status
// pages.
func (s *Server) ServeSelf(r *http.Request) *pipeline.Response { return s.serveSelf(r) }

// ServeUnlisted answers a pool file that no torrent lists, through the cache
// as an immutable file straight from the mirror. It never refuses a pool file
// of a configured mirror.
func (s *Server) ServeUnlisted(ctx context.Context, r *http.Request, t Target) *pipeline.Response {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DebTimeout)
	defer cancel()
	e, err := s.cfg.Cache.Get(ctx, indexcache.Request{Key: "pool/" + t.Key(), URLs: t.UpstreamURLs(), Mode: indexcache.Immutable})
	if err != nil {
		return UpstreamError(ctx, "/"+t.Rest, err)
	}
	return ServeContent(r, Content{Body: e.Body, Closer: e, Size: e.Meta.Size, ModTime: e.Meta.ModTime(), ETag: e.Meta.ETag, ContentType: e.Meta.ContentType})
}

// isNotFound reports whether err means the mirror has no such file.
func isNotFound(err error) bool { return errors.Is(err, websource.ErrNotFound) }
