package aptproxy

import (
	"errors"
	"net/http"

	"github.com/debtorrent/debtorrent/internal/pipeline"
	"github.com/debtorrent/debtorrent/websource"
)

// DebContentType is the media type of Debian binary packages.
const DebContentType = "application/vnd.debian.binary-package"

// ServeSelf answers a request addressed to the proxy itself: the status
// pages.
func (s *Server) ServeSelf(r *http.Request) *pipeline.Response { return s.serveSelf(r) }

// isNotFound reports whether err means the mirror has no such file.
func isNotFound(err error) bool { return errors.Is(err, websource.ErrNotFound) }
