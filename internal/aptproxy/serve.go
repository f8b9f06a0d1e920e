package aptproxy

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// content is a body that can be served with conditional and range
// requests.
type content struct {
	body        io.ReaderAt
	closer      io.Closer
	size        int64
	modTime     time.Time // zero: unknown
	etag        string    // quoted strong ETag, or ""
	contentType string
}

// serveContent answers r with c: 304 for a matching If-None-Match or an
// If-Modified-Since not older than the content, 206 for one satisfiable
// byte range (unless If-Range says the client's copy differs), 416 for a
// range past the end, 200 otherwise. Several ranges get the whole body.
func serveContent(r *http.Request, c content) *pipeline.Response {
	h := http.Header{}
	h.Set("Accept-Ranges", "bytes")
	if c.contentType != "" {
		h.Set("Content-Type", c.contentType)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	if !c.modTime.IsZero() {
		h.Set("Last-Modified", c.modTime.UTC().Format(http.TimeFormat))
	}
	if c.etag != "" {
		h.Set("ETag", c.etag)
	}
	notModified := func() *pipeline.Response {
		c.closer.Close()
		return &pipeline.Response{Status: http.StatusNotModified, Header: h, ContentLength: -1}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if c.etag != "" && etagListHas(inm, c.etag) {
			return notModified()
		}
	} else if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !c.modTime.IsZero() {
		if !c.modTime.Truncate(time.Second).After(ims) {
			return notModified()
		}
	}
	status, off, n := http.StatusOK, int64(0), c.size
	if rg := r.Header.Get("Range"); rg != "" && ifRangeHolds(r.Header.Get("If-Range"), c) {
		start, end, ok, unsat := parseRange(rg, c.size)
		switch {
		case unsat:
			c.closer.Close()
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", c.size))
			return &pipeline.Response{Status: http.StatusRequestedRangeNotSatisfiable, Header: h, ContentLength: 0}
		case ok:
			status, off, n = http.StatusPartialContent, start, end-start+1
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, c.size))
		}
	}
	body := struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(c.body, off, n), c.closer}
	return &pipeline.Response{Status: status, Header: h, Body: body, ContentLength: n}
}

// ifRangeHolds reports whether a Range may be honoured given If-Range: absent,
// or naming exactly this content (strong ETag or the same date).
func ifRangeHolds(ir string, c content) bool {
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) {
		return c.etag != "" && ir == c.etag
	}
	t, err := http.ParseTime(ir)
	return err == nil && !c.modTime.IsZero() && t.Equal(c.modTime.UTC().Truncate(time.Second))
}

// parseRange parses one "bytes=" range against size. ok: a satisfiable
// single range; unsat: a syntactically good range that starts past the end.
// Anything else (several ranges, garbage) is neither: serve the whole body.
func parseRange(s string, size int64) (start, end int64, ok, unsat bool) {
	spec, found := strings.CutPrefix(s, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, n == 0 && err == nil
		}
		if n > size {
			n = size
		}
		if size == 0 {
			return 0, 0, false, true
		}
		return size - n, size - 1, true, false
	}
	st, err := strconv.ParseInt(a, 10, 64)
	if err != nil || st < 0 {
		return 0, 0, false, false
	}
	if st >= size {
		return 0, 0, false, true
	}
	en := size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < st {
			return 0, 0, false, false
		}
		en = min(e, size-1)
	}
	return st, en, true, false
}

// etagListHas reports whether an If-None-Match list names etag (or is "*").
func etagListHas(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(e), "W/"))
		if e == "*" || e == etag {
			return true
		}
	}
	return false
}
