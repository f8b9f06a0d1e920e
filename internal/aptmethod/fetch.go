package aptmethod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// errIdle is the cause given when a fetch waits too long for the proxy.
var errIdle = errors.New("no data from the proxy within the timeout (Acquire::debtorrent::Timeout)")

// maxRedirects is how many redirects a fetch follows.
const maxRedirects = 10

// NewHTTPClient returns the client the method uses by default: no
// environment proxy (the debtorrent proxy is the destination), no
// transparent decompression (the bytes must be the file's), enough idle
// connections for every worker to keep its own, and a redirect loop
// reported as APT's RedirectionLoop.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        MaxWorkers,
			MaxIdleConnsPerHost: MaxWorkers,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return &Failure{Reason: ReasonRedirectionLoop, Err: fmt.Errorf("stopped after %d redirects at %s", maxRedirects, req.URL)}
			}
			return nil
		},
	}
}

// result is what a successful fetch reports in "201 URI Done".
type result struct {
	size         int64
	lastModified time.Time
	sums         map[string]string
	imsHit       bool
}

// fetcher fetches requests over HTTP into APT's files.
type fetcher struct {
	client  *http.Client
	timeout time.Duration
	// send delivers a message to APT.
	send func(*Message)
}

// fetch gets one request. Failures APT should hear about are *Failure;
// any other error means ctx was cancelled.
func (f *fetcher) fetch(ctx context.Context, r *Request) (*result, error) {
	resume := f.resumePoint(r)
	res, err := f.fetchFrom(ctx, r, resume)
	var rangeErr *errRangeRefused
	if errors.As(err, &rangeErr) {
		// The partial file does not fit what the server has: start over.
		res, err = f.fetchFrom(ctx, r, partial{})
	}
	return res, err
}

// partial is the part of the file an earlier, interrupted download left.
type partial struct {
	size int64
	// modTime is the file's time, which an interrupted fetch sets to the
	// server's Last-Modified; it is sent as If-Range, so a file of another
	// version is fetched whole rather than continued.
	modTime time.Time
}

// resumePoint returns the part of APT's file that may be kept: all of it
// when the file is shorter than the expected size (or no size is known)
// and no If-Modified-Since check is wanted.
func (f *fetcher) resumePoint(r *Request) partial {
	if !r.LastModified.IsZero() {
		return partial{}
	}
	st, err := os.Stat(r.Filename)
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return partial{}
	}
	n := st.Size()
	if (r.ExpectedSize >= 0 && n >= r.ExpectedSize) || (r.MaximumSize > 0 && n >= r.MaximumSize) {
		return partial{}
	}
	return partial{size: n, modTime: st.ModTime()}
}

// errRangeRefused reports that a resumed fetch must start from zero.
type errRangeRefused struct{ status string }

func (e *errRangeRefused) Error() string { return "range refused: " + e.status }

// fetchFrom fetches r, keeping the part of the file that kept describes.
func (f *fetcher) fetchFrom(parent context.Context, r *Request, kept partial) (*result, error) {
	resume := kept.size
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	idle := time.AfterFunc(f.timeout, func() { cancel(errIdle) })
	defer idle.Stop()

	req, err := newRequest(ctx, r, kept)
	if err != nil {
		return nil, err
	}
	f.send(NewMessage(CodeStatus, "Status").Add("URI", r.URI).Add("Message", "Waiting for headers from "+r.Target.Host))
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.failure(parent, ctx, err)
	}
	defer resp.Body.Close()
	idle.Reset(f.timeout)
	lastModified, _ := http.ParseTime(resp.Header.Get("Last-Modified"))

	switch {
	case resp.StatusCode == http.StatusNotModified && !r.LastModified.IsZero():
		if lastModified.IsZero() {
			lastModified = r.LastModified
		}
		return &result{imsHit: true, lastModified: lastModified}, nil
	case resp.StatusCode == http.StatusOK:
		resume = 0
	case resp.StatusCode == http.StatusPartialContent && resume > 0:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != resume {
			return nil, &errRangeRefused{status: "Content-Range " + resp.Header.Get("Content-Range")}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && resume > 0:
		return nil, &errRangeRefused{status: resp.Status}
	default:
		return nil, httpFailure(resp.StatusCode, resp.Status+" from "+r.Target.String())
	}

	return f.receive(parent, ctx, r, resp, resume, lastModified, idle)
}

// newRequest builds the GET for r: If-Modified-Since when APT has a copy,
// Range and If-Range when part of the file is kept.
func newRequest(ctx context.Context, r *Request, kept partial) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.Target.String(), nil)
	if err != nil {
		return nil, &Failure{Reason: ReasonBadURI, Err: fmt.Errorf("request for %s: %w", r.Target, err)}
	}
	req.Header.Set("User-Agent", "debtorrent-apt-method/1")
	if !r.LastModified.IsZero() {
		req.Header.Set("If-Modified-Since", r.LastModified.UTC().Format(http.TimeFormat))
	}
	if kept.size > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", kept.size))
		req.Header.Set("If-Range", kept.modTime.UTC().Format(http.TimeFormat))
	}
	return req, nil
}

// receive reports "200 URI Start", writes the body after the first resume
// bytes of APT's file, hashing it on the way, and checks it.
func (f *fetcher) receive(parent, ctx context.Context, r *Request, resp *http.Response, resume int64, lastModified time.Time, idle *time.Timer) (*result, error) {
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = resume + resp.ContentLength
		if err := checkSize(r, total); err != nil {
			return nil, err
		}
	}
	start := NewMessage(CodeURIStart, "URI Start").Add("URI", r.URI)
	if total >= 0 {
		start.Add("Size", strconv.FormatInt(total, 10))
	}
	if !lastModified.IsZero() {
		start.Add("Last-Modified", lastModified.UTC().Format(http.TimeFormat))
	}
	if resume > 0 {
		start.Add("Resume-Point", strconv.FormatInt(resume, 10))
	}
	f.send(start)

	hashes := newHashSet(r.Expected)
	file, err := openTarget(r.Filename, resume, hashes)
	if err != nil {
		return nil, err
	}
	copyErr := f.copyBody(file, hashes, resp.Body, r, idle)
	closeErr := file.Close()
	if !lastModified.IsZero() {
		// APT reads the file's time back as the next If-Modified-Since,
		// and an interrupted download is continued with it as If-Range.
		_ = os.Chtimes(r.Filename, lastModified, lastModified)
	}
	if copyErr != nil {
		return nil, f.failure(parent, ctx, copyErr)
	}
	if closeErr != nil {
		return nil, &Failure{Reason: ReasonWriteError, Err: fmt.Errorf("write %s: %w", r.Filename, closeErr)}
	}
	if total >= 0 && hashes.size != total {
		return nil, &Failure{Reason: ReasonConnectionClosed, Transient: true,
			Err: fmt.Errorf("%s: got %d of %d bytes", r.Target, hashes.size, total)}
	}
	sums := hashes.sums()
	if r.ExpectedSize >= 0 && hashes.size != r.ExpectedSize {
		return nil, &Failure{Reason: ReasonHashSumMismatch,
			Err: fmt.Errorf("%s: size mismatch: got %d bytes, want %d", r.Target, hashes.size, r.ExpectedSize)}
	}
	if err := verify(sums, r.Expected); err != nil {
		return nil, &Failure{Reason: ReasonHashSumMismatch, Err: fmt.Errorf("%s: %w", r.Target, err)}
	}
	return &result{size: hashes.size, lastModified: lastModified, sums: sums}, nil
}

// failure turns a fetch error into a Failure, or into ctx's error when the
// whole method is shutting down.
func (f *fetcher) failure(parent, ctx context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(context.Cause(ctx), errIdle) {
		return &Failure{Reason: ReasonTimeout, Transient: true, Err: errIdle}
	}
	return classify(err)
}

// copyBody streams body into file and hashes, checking APT's size limits as
// the bytes arrive and keeping the idle timer alive.
func (f *fetcher) copyBody(file *os.File, hashes *hashSet, body io.Reader, r *Request, idle *time.Timer) error {
	buf := make([]byte, 256<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			idle.Reset(f.timeout)
			if err := checkSize(r, hashes.size+int64(n)); err != nil {
				return err
			}
			if _, werr := file.Write(buf[:n]); werr != nil {
				return &Failure{Reason: ReasonWriteError, Err: fmt.Errorf("write %s: %w", r.Filename, werr)}
			}
			hashes.Write(buf[:n])
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", r.Target, err)
		}
	}
}

// checkSize fails when size is over APT's Maximum-Size or the expected
// file size.
func checkSize(r *Request, size int64) error {
	if r.MaximumSize > 0 && size > r.MaximumSize {
		return &Failure{Reason: ReasonMaximumSizeExceeded,
			Err: fmt.Errorf("%s: %d bytes is more than the Maximum-Size of %d", r.Target, size, r.MaximumSize)}
	}
	if r.ExpectedSize >= 0 && size > r.ExpectedSize {
		return &Failure{Reason: ReasonHashSumMismatch,
			Err: fmt.Errorf("%s: %d bytes is more than the expected %d", r.Target, size, r.ExpectedSize)}
	}
	return nil
}

// openTarget opens APT's file for writing: truncated, or, when resuming,
// positioned after the kept prefix, which is hashed first.
func openTarget(name string, resume int64, hashes *hashSet) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if resume > 0 {
		flags = os.O_RDWR
	}
	file, err := os.OpenFile(name, flags, 0o644)
	if err != nil {
		return nil, &Failure{Reason: ReasonWriteError, Err: fmt.Errorf("open %s: %w", name, err)}
	}
	if resume == 0 {
		return file, nil
	}
	if _, err := hashes.ReadFrom(io.LimitReader(file, resume)); err != nil || hashes.size != resume {
		file.Close()
		return nil, &Failure{Reason: ReasonWriteError, Err: fmt.Errorf("read back %s: %d of %d bytes: %v", name, hashes.size, resume, err)}
	}
	if err := file.Truncate(resume); err != nil {
		file.Close()
		return nil, &Failure{Reason: ReasonWriteError, Err: fmt.Errorf("truncate %s: %w", name, err)}
	}
	return file, nil
}

// contentRangeStart reads the first byte position of "bytes A-B/N".
func contentRangeStart(v string) (int64, bool) {
	var start, end int64
	var size string
	if _, err := fmt.Sscanf(v, "bytes %d-%d/%s", &start, &end, &size); err != nil {
		return 0, false
	}
	return start, true
}
