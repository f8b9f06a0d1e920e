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

// Content is a body that can be served with conditional and range
// requests.
type Content struct {
	// Body is read with ReadAt from the offsets a Range asks for.
	Body io.ReaderAt
	// Closer is closed when the answer has been sent (or not sent).
	Closer io.Closer
	// Size is the body's length.
	Size int64
	// ModTime is its Last-Modified (zero: unknown).
	ModTime time.Time
	// ETag is a quoted strong ETag, or "".
	ETag string
	// ContentType is its media type ("": application/octet-stream).
	ContentType string
}

// ServeContent answers r with c: 304 for a matching If-None-Match or an
// If-Modified-Since not older than the content, 206 for one satisfiable
// byte range (unless If-Range says the client's copy differs), 416 for a
// range past the end, 200 otherwise. Several ranges get the whole body.
func ServeContent(r *http.Request, c Content) *pipeline.Response {
	h := http.Header{}
	h.Set("Accept-Ranges", "bytes")
	if c.ContentType != "" {
		h.Set("Content-Type", c.ContentType)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	if !c.ModTime.IsZero() {
		h.Set("Last-Modified", c.ModTime.UTC().Format(http.TimeFormat))
	}
	if c.ETag != "" {
		h.Set("ETag", c.ETag)
	}
	notModified := func() *pipeline.Response {
		c.Closer.Close()
		return &pipeline.Response{Status: http.StatusNotModified, Header: h, ContentLength: -1}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if c.ETag != "" && etagListHas(inm, c.ETag) {
			return notModified()
		}
	} else if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !c.ModTime.IsZero() {
		if !c.ModTime.Truncate(time.Second).After(ims) {
			return notModified()
		}
	}
	status, off, n := http.StatusOK, int64(0), c.Size
	if rg := r.Header.Get("Range"); rg != "" && ifRangeHolds(r.Header.Get("If-Range"), c) {
		start, end, ok, unsat := parseRange(rg, c.Size)
		switch {
		case unsat:
			c.Closer.Close()
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", c.Size))
			return &pipeline.Response{Status: http.StatusRequestedRangeNotSatisfiable, Header: h, ContentLength: 0}
		case ok:
			status, off, n = http.StatusPartialContent, start, end-start+1
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, c.Size))
		}
	}
	body := struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(c.Body, off, n), c.Closer}
	return &pipeline.Response{Status: status, Header: h, Body: body, ContentLength: n}
}

// ifRangeHolds reports whether a Range may be honoured given If-Range: absent,
// or naming exactly this content (strong ETag or the same date).
func ifRangeHolds(ir string, c Content) bool {
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) {
		return c.ETag != "" && ir == c.ETag
	}
	t, err := http.ParseTime(ir)
	return err == nil && !c.ModTime.IsZero() && t.Equal(c.ModTime.UTC().Truncate(time.Second))
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
