package websource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errKind classifies a failed attempt for the fetch loop.
type errKind int

const (
	transient    errKind = iota // retry later, maybe elsewhere: 5xx, 429, resets, truncation, stalls
	notFound                    // 404/410: this mirror lacks the file
	broken                      // this mirror cannot serve this fetch: other 4xx, wrong size, bad Content-Range
	rangeIgnored                // the server ignored Range and the skip would be too long
	fatal                       // stop the fetch: the writer failed
)

// attemptError is the error of one HTTP attempt.
type attemptError struct {
	kind          errKind
	retryAfter    time.Duration
	hasRetryAfter bool
	err           error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func failf(kind errKind, format string, args ...any) *attemptError {
	return &attemptError{kind: kind, err: fmt.Errorf(format, args...)}
}

// copyBufs holds the buffers bodies are copied through.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// attempt sends one request to m for bytes [cur, end) of req's file and
// writes what arrives to w. It returns the bytes written and, on failure, an
// *attemptError, or ctx's error. allowSkip says that m is the last mirror
// left, so an ignored Range is served by discarding however many bytes.
func (s *HTTPSource) attempt(ctx context.Context, m *mirror, req Request, cur, end int64, w io.Writer, allowSkip bool) (int64, error) {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-m.sem }()

	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	idle := time.AfterFunc(s.opts.IdleTimeout, func() { stalled.Store(true); cancel() })
	defer idle.Stop()

	whole := cur == 0 && req.FileSize >= 0 && end == req.FileSize
	sendRange := !whole && !m.noRange.Load()
	hr, err := http.NewRequestWithContext(reqCtx, http.MethodGet, m.fileURL(req.Path), nil)
	if err != nil {
		return 0, failf(broken, "build request: %w", err)
	}
	hr.Header.Set("User-Agent", s.opts.UserAgent)
	if sendRange {
		hr.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", cur, end-1))
	}
	m.requests.Add(1)
	resp, err := s.opts.Client.Do(hr)
	if err != nil {
		return 0, s.netError(ctx, &stalled, err)
	}
	defer resp.Body.Close()
	idle.Reset(s.opts.IdleTimeout)

	skip := int64(0)
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if !sendRange {
			return 0, failf(broken, "206 Partial Content to a request without Range")
		}
		first, last, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return 0, failf(broken, "206 answer: %w", err)
		}
		if first != cur || last < first {
			return 0, failf(broken, "206 answer covers bytes %d-%d, asked for %d-%d", first, last, cur, end-1)
		}
		end = min(end, last+1) // a server may send less than asked; the loop asks again
	case resp.StatusCode == http.StatusOK:
		if req.FileSize >= 0 && resp.ContentLength >= 0 && resp.ContentLength != req.FileSize {
			return 0, failf(broken, "file is %d bytes there, want %d", resp.ContentLength, req.FileSize)
		}
		skip = cur
		if sendRange {
			if skip > s.opts.MaxRangeSkip && !allowSkip {
				m.noRange.Store(true)
				return 0, failf(rangeIgnored, "server ignored Range and sent the whole file; skipping %d bytes is more than %d", skip, s.opts.MaxRangeSkip)
			}
			if skip > 0 {
				m.noRange.Store(true)
			}
		}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return 0, failf(notFound, "%s: %w", resp.Status, ErrNotFound)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		ae := failf(transient, "server answered %s", resp.Status)
		ae.retryAfter, ae.hasRetryAfter = parseRetryAfter(resp.Header, time.Now())
		return 0, ae
	default:
		return 0, failf(broken, "server answered %s", resp.Status)
	}

	body := &idleReader{r: resp.Body, timer: idle, timeout: s.opts.IdleTimeout, counter: &m.bytesReceived}
	if skip > 0 {
		if n, err := io.CopyN(io.Discard, body, skip); err != nil {
			return 0, s.bodyError(ctx, &stalled, fmt.Errorf("skipping %d bytes the server should not have sent: got %d: %w", skip, n, err))
		}
	}
	n, err := copyTo(w, body, end-cur)
	m.bytesDelivered.Add(n)
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return n, &attemptError{kind: fatal, err: we.err}
		}
		return n, s.bodyError(ctx, &stalled, fmt.Errorf("body ended after %d of %d bytes: %w", n, end-cur, err))
	}
	// Read a little past the end so the connection can be reused when only
	// the terminating EOF remains.
	_, _ = io.CopyN(io.Discard, body, 4096)
	return n, nil
}

// netError classifies an error of Client.Do.
func (s *HTTPSource) netError(ctx context.Context, stalled *atomic.Bool, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if stalled.Load() {
		return failf(transient, "no answer within %v", s.opts.IdleTimeout)
	}
	if errors.Is(err, errRedirectRefused) {
		return &attemptError{kind: broken, err: err}
	}
	return &attemptError{kind: transient, err: err}
}

// bodyError classifies an error while reading a body.
func (s *HTTPSource) bodyError(ctx context.Context, stalled *atomic.Bool, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if stalled.Load() {
		return failf(transient, "body stalled for %v: %w", s.opts.IdleTimeout, err)
	}
	return &attemptError{kind: transient, err: err}
}

// writeError marks an error of the caller's writer, which ends the fetch.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// copyTo copies exactly n bytes from r to w. A body that ends early gives
// io.ErrUnexpectedEOF; a failing writer gives a *writeError.
func copyTo(w io.Writer, r io.Reader, n int64) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var done int64
	for done < n {
		chunk := buf[:min(int64(len(buf)), n-done)]
		k, rerr := r.Read(chunk)
		if k > 0 {
			wk, werr := w.Write(chunk[:k])
			done += int64(wk)
			if werr == nil && wk < k {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return done, &writeError{err: werr}
			}
		}
		if rerr != nil {
			if done == n {
				return done, nil
			}
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return done, rerr
		}
	}
	return done, nil
}

// idleReader counts the bytes it reads and pushes back an idle timer on each
// read that returns data.
type idleReader struct {
	r       io.Reader
	timer   *time.Timer
	timeout time.Duration
	counter *atomic.Int64
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.timeout)
		r.counter.Add(int64(n))
	}
	return n, err
}

// parseContentRange reads "bytes first-last/total" (total may be "*").
func parseContentRange(v string) (first, last int64, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("Content-Range %q is not a byte range", v)
	}
	span, _, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, fmt.Errorf("Content-Range %q has no total", v)
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, fmt.Errorf("Content-Range %q has no range", v)
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, fmt.Errorf("Content-Range %q is malformed", v)
	}
	return first, last, nil
}
