package aptproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// passHeaders are the request headers a pass-through forwards upstream, so
// that APT's resumes and conditional requests work as they would direct.
var passHeaders = []string{"Range", "If-Range", "If-Modified-Since", "If-None-Match", "Cache-Control", "Pragma"}

// passBackHeaders are the upstream headers a pass-through returns.
var passBackHeaders = []string{"Content-Type", "Content-Range", "Last-Modified", "ETag", "Accept-Ranges", "Location"}

// ServeUnlisted answers a pool file that no torrent lists, straight from
// the mirror, and caches nothing: nothing vouches for its content, so a wrong
// answer (a captive portal's page, say) must not outlive its request. Once a
// verified Packages lists the file, it is served from the package store
// instead. It never refuses a pool file of a configured mirror.
func (s *Server) ServeUnlisted(ctx context.Context, r *http.Request, t Target) *pipeline.Response {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DebTimeout)
	var lastErr error
	for _, u := range t.UpstreamURLs() {
		if _, err := s.MirrorGate(t.Mirror.Name); err != nil {
			lastErr = err
			break
		}
		resp, err := s.passThrough(ctx, r, u)
		s.mirrorState.note(t.Mirror.Name, err)
		if err != nil {
			lastErr = err
			continue
		}
		return resp.withCancel(cancel)
	}
	defer cancel()
	return UpstreamError(ctx, "/"+t.Rest, lastErr)
}

// passResponse is an upstream answer being relayed.
type passResponse struct{ *pipeline.Response }

// withCancel makes closing the body end the request's context too.
func (p passResponse) withCancel(cancel context.CancelFunc) *pipeline.Response {
	if p.Body == nil {
		cancel()
		return p.Response
	}
	p.Body = cancelOnClose{ReadCloser: p.Body, cancel: cancel}
	return p.Response
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// errServerError is an upstream 5xx, tried on the next base URL.
var errServerError = errors.New("upstream server error")

// passThrough sends r's GET or HEAD to url and returns the answer to relay.
func (s *Server) passThrough(ctx context.Context, r *http.Request, url string) (passResponse, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, url, nil)
	if err != nil {
		return passResponse{}, err
	}
	for _, h := range passHeaders {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return passResponse{}, err
	}
	if resp.StatusCode >= 500 {
		resp.Body.Close()
		return passResponse{}, fmt.Errorf("%w: %s answered %s", errServerError, url, resp.Status)
	}
	out := &pipeline.Response{Status: resp.StatusCode, Header: http.Header{}, ContentLength: resp.ContentLength, Body: resp.Body}
	for _, h := range passBackHeaders {
		if v := resp.Header.Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
	if resp.StatusCode >= 400 {
		out.Reason = fmt.Sprintf("debtorrent: upstream answered %s for %s", resp.Status, r.URL.Path)
	}
	return passResponse{out}, nil
}
