// Package pipeline is an HTTP/1.1 server loop for clients that pipeline,
// such as APT: it reads a connection's requests ahead (up to a depth),
// starts a handler for each at once, and writes the answers in request
// order. Go's net/http serves a connection's pipelined requests one after
// another, which would make APT fetch one package at a time.
//
// A Handler returns a Response (status, headers, body as an
// io.ReadCloser) instead of writing to a ResponseWriter, so that many can
// be prepared at once while a per-connection writer sends them in order.
// Adapt turns a Handler into an http.Handler for use under net/http.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Response is a handler's answer to one request.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Tunnel, when set on a 2xx answer to CONNECT, takes the connection
	// over once the status line is sent: it relays between client (what the
	// client sends, including bytes already read after the request) and
	// wherever it likes, until either side ends or ctx is done; the
	// connection is then closed. The server reads no request after a
	// CONNECT.
	Tunnel func(ctx context.Context, client io.ReadWriter) error
	// Reason is the status line's reason phrase ("": the standard one).
	// Clients such as APT print it, so a reason there is seen; it is
	// cleaned to printable ASCII and cut to MaxReason bytes.
	Reason string
	// Header holds the response headers (may be nil). Content-Length,
	// Transfer-Encoding and Connection are set by the server.
	Header http.Header
	// Body is sent after the headers and then closed; nil means an empty
	// body. For HEAD requests it is closed unread.
	Body io.ReadCloser
	// ContentLength is the body's length, or -1 when unknown (the body is
	// then sent chunked, or the connection closed after it for HTTP/1.0).
	// A body shorter than ContentLength makes the server close the
	// connection, so a client never takes a truncated answer for a whole
	// one.
	ContentLength int64
}

// Handler answers requests. Handle is called concurrently for the
// pipelined requests of a connection; ctx ends when the connection does.
// It must not return nil.
type Handler interface {
	Handle(ctx context.Context, r *http.Request) *Response
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, r *http.Request) *Response

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, r *http.Request) *Response { return f(ctx, r) }

// Text returns a response with a short plain-text body (a line ending in
// "\n" is added), for errors and reasons.
func Text(status int, msg string) *Response {
	body := msg + "\n"
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	r := &Response{Status: status, Header: h, Body: io.NopCloser(stringReader(body)), ContentLength: int64(len(body))}
	if status >= 400 {
		r.Reason = msg // what went wrong, where the client shows it
	}
	return r
}

// MaxReason bounds a reason phrase sent on the status line.
const MaxReason = 200

// reasonPhrase is r's reason phrase for the status line: its Reason made
// safe (printable ASCII only, no CR or LF, at most MaxReason bytes), or the
// standard phrase of its status.
func reasonPhrase(r *Response) string {
	if r.Reason == "" {
		return http.StatusText(r.Status)
	}
	b := make([]byte, 0, min(len(r.Reason), MaxReason))
	for i := 0; i < len(r.Reason) && len(b) < MaxReason; i++ {
		c := r.Reason[i]
		if c < 0x20 || c > 0x7e {
			c = ' '
		}
		b = append(b, c)
	}
	return string(b)
}

// Bytes returns a response with the given body and content type.
func Bytes(status int, contentType string, body []byte) *Response {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	return &Response{Status: status, Header: h, Body: io.NopCloser(byteReader(body)), ContentLength: int64(len(body))}
}

// Adapt returns an http.Handler that answers with h, so that a Handler can
// be mounted under net/http (which serves pipelined requests sequentially).
func Adapt(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp := h.Handle(r.Context(), r)
		if resp.Body != nil {
			defer resp.Body.Close()
		}
		if resp.Tunnel != nil && r.Method == http.MethodConnect && resp.Status >= 200 && resp.Status < 300 {
			tunnelUnderNetHTTP(w, r, resp)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if resp.ContentLength >= 0 && bodyAllowed(resp.Status) {
			w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
		w.WriteHeader(resp.Status)
		if r.Method == http.MethodHead || resp.Body == nil || !bodyAllowed(resp.Status) {
			return
		}
		if resp.ContentLength >= 0 {
			n, err := io.CopyN(w, resp.Body, resp.ContentLength)
			if err != nil && n < resp.ContentLength {
				// Abort the response so the client sees a broken answer,
				// never a short one that looks whole.
				panic(http.ErrAbortHandler)
			}
			return
		}
		io.Copy(w, resp.Body)
	})
}

// tunnelUnderNetHTTP takes a CONNECT's connection over from net/http and
// runs the answer's Tunnel on it.
func tunnelUnderNetHTTP(w http.ResponseWriter, r *http.Request, resp *Response) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "CONNECT is not supported by this server", http.StatusNotImplemented)
		return
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer nc.Close()
	fmt.Fprintf(brw, "HTTP/1.1 %d %s\r\n\r\n", resp.Status, reasonPhrase(resp))
	if brw.Flush() != nil {
		return
	}
	resp.Tunnel(r.Context(), struct {
		io.Reader
		io.Writer
	}{brw.Reader, nc})
}

// bodyAllowed reports whether a response with this status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
