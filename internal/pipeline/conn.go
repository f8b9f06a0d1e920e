package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// slot is one request in flight: its answer arrives on done.
type slot struct {
	req      *http.Request
	done     chan *Response
	last     bool // close the connection after this answer
	chunked  bool // send the body chunked when its length is unknown
	headOnly bool
	// tunnel is set for a CONNECT: the reader stopped after it, and
	// leftover holds what it had read of the connection beyond the request.
	tunnel   bool
	leftover *bufio.Reader
}

// conn serves one connection: a reader goroutine parses requests and starts
// their handlers, the calling goroutine writes answers in order.
type conn struct {
	s        *Server
	nc       net.Conn
	ctx      context.Context
	cancel   context.CancelFunc
	inFlight atomic.Int64
}

// ServeConn serves one connection until it closes, an error occurs or ctx
// ends; it closes nc before returning.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	c := &conn{s: s, nc: nc, ctx: ctx, cancel: cancel}
	defer cancel()
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer stop()
	queue := make(chan *slot, s.depth())
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(queue)
		c.readLoop(queue)
	}()
	graceful := c.writeLoop(queue)
	cancel()
	if !graceful {
		nc.Close()
	}
	for sl := range queue { // drain: close the bodies of answers never sent
		if r := <-sl.done; r.Body != nil {
			r.Body.Close()
		}
	}
	<-readerDone
	if graceful {
		lingerClose(nc)
	}
}

// lingerClose closes a connection whose last answer was sent: it shuts the
// sending side first and reads (for a moment) what the client still sends,
// so that unread request bytes do not make the kernel reset the connection
// before the client has read the answer.
func lingerClose(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		nc.SetReadDeadline(time.Now().Add(time.Second))
		io.CopyN(io.Discard, nc, 256<<10)
	}
	nc.Close()
}

// readLoop parses requests and starts a handler for each, until the
// connection ends, a request asks for the connection to close, or one cannot
// be parsed.
func (c *conn) readLoop(queue chan<- *slot) {
	maxHeader := c.s.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	lr := &io.LimitedReader{R: c.nc, N: math.MaxInt64}
	br := bufio.NewReaderSize(lr, 4096)
	idle := orDefault(c.s.IdleTimeout, DefaultIdleTimeout)
	for {
		// Wait for the first byte of the next request. While answers are
		// still being sent the connection is not idle, so wait again.
		for {
			c.nc.SetReadDeadline(time.Now().Add(idle))
			_, err := br.Peek(1)
			if err == nil {
				break
			}
			if isTimeout(err) && c.inFlight.Load() > 0 && c.ctx.Err() == nil {
				continue
			}
			if !isTimeout(err) {
				// The client closed or reset the connection: nobody will
				// read the answers, so stop the handlers (as net/http does).
				c.cancel()
			}
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(orDefault(c.s.HeaderTimeout, DefaultHeaderTimeout)))
		lr.N = int64(maxHeader)
		req, err := http.ReadRequest(br)
		tooLarge := lr.N <= 0
		lr.N = math.MaxInt64
		c.nc.SetReadDeadline(time.Time{})
		if err != nil {
			sl := &slot{done: make(chan *Response, 1), last: true}
			switch {
			case tooLarge:
				sl.done <- Text(http.StatusRequestHeaderFieldsTooLarge, "request headers too large")
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) || errors.Is(err, net.ErrClosed):
				return
			default:
				sl.done <- Text(http.StatusBadRequest, "malformed request: "+firstLine(err.Error()))
			}
			c.enqueue(queue, sl)
			return
		}
		sl := &slot{req: req, done: make(chan *Response, 1), headOnly: req.Method == http.MethodHead}
		sl.last = req.Close || !(req.ProtoAtLeast(1, 1) || strings.EqualFold(req.Header.Get("Connection"), "keep-alive"))
		if req.Method == http.MethodConnect {
			// What follows a CONNECT is the tunnel's, not requests.
			sl.last, sl.tunnel, sl.leftover = true, true, br
		}
		sl.chunked = req.ProtoAtLeast(1, 1)
		if refusal := refuse(req); refusal != nil {
			// Answered without the handler, and the connection closed
			// after it: a body is never read, so it is never parsed as a
			// request either.
			sl.last = true
			sl.done <- refusal
			c.inFlight.Add(1) // the writer counts it down like any answer
			c.enqueue(queue, sl)
			return
		}
		if !c.enqueue(queue, sl) {
			return
		}
		c.inFlight.Add(1)
		go c.handle(sl)
		if sl.last {
			return
		}
	}
}

// refuse returns the answer to a request the server does not pass to the
// handler, or nil: HTTP versions other than 1.0 and 1.1 (505; an
// "HTTP/2.0" request line is not HTTP/2), and requests with a body (413:
// this server answers GET and HEAD and never reads bodies).
func refuse(req *http.Request) *Response {
	if req.ProtoMajor != 1 || req.ProtoMinor > 1 {
		return Text(http.StatusHTTPVersionNotSupported, "HTTP version "+req.Proto+" is not supported; use HTTP/1.1")
	}
	if req.ContentLength > 0 || len(req.TransferEncoding) > 0 {
		return Text(http.StatusRequestEntityTooLarge, "request bodies are not accepted; send GET or HEAD without a body")
	}
	return nil
}

func (c *conn) enqueue(queue chan<- *slot, sl *slot) bool {
	select {
	case queue <- sl:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// handle runs the handler for one request, turning a panic into a 500.
func (c *conn) handle(sl *slot) {
	defer func() {
		if p := recover(); p != nil {
			c.s.logger().Error("pipeline: handler panic", "url", sl.req.URL.String(), "panic", p)
			sl.done <- Text(http.StatusInternalServerError, "internal error")
		}
	}()
	r := c.s.Handler.Handle(c.ctx, sl.req.WithContext(c.ctx))
	if r == nil {
		r = Text(http.StatusInternalServerError, "internal error: no response")
	}
	sl.done <- r
}

// writeLoop writes the answers in request order until the queue ends or a
// write fails. It reports whether it ended cleanly (the last answer sent).
func (c *conn) writeLoop(queue <-chan *slot) bool {
	bw := bufio.NewWriterSize(&deadlineWriter{nc: c.nc, timeout: orDefault(c.s.WriteTimeout, DefaultWriteTimeout)}, 32<<10)
	for sl := range queue {
		r := <-sl.done
		keep, err := writeResponse(bw, sl, r)
		if err == nil {
			err = bw.Flush()
		}
		if sl.req != nil {
			c.inFlight.Add(-1)
		}
		if err != nil {
			c.s.logger().Debug("pipeline: write", "remote", c.nc.RemoteAddr().String(), "err", err)
			return false
		}
		if sl.tunnel && r.Tunnel != nil && r.Status >= 200 && r.Status < 300 {
			err := r.Tunnel(c.ctx, tunnelConn{Reader: sl.leftover, Writer: c.nc})
			if err != nil && c.ctx.Err() == nil {
				c.s.logger().Debug("pipeline: tunnel", "remote", c.nc.RemoteAddr().String(), "err", err)
			}
			return false
		}
		if !keep {
			return true
		}
	}
	return c.ctx.Err() == nil
}

// tunnelConn is the client side of a CONNECT tunnel: reads come from the
// bytes already buffered, then the connection.
type tunnelConn struct {
	io.Reader
	io.Writer
}

// writeResponse writes one answer and reports whether the connection may
// carry more.
func writeResponse(bw *bufio.Writer, sl *slot, r *Response) (keep bool, err error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	keep = !sl.last
	hasBody := bodyAllowed(r.Status) && !sl.headOnly && r.Body != nil
	chunked := false
	if r.ContentLength < 0 && bodyAllowed(r.Status) {
		if sl.chunked {
			chunked = hasBody
		} else {
			keep = false
		}
	}
	proto := "HTTP/1.1"
	fmt.Fprintf(bw, "%s %d %s\r\n", proto, r.Status, reasonPhrase(r))
	h := r.Header
	if h == nil {
		h = http.Header{}
	}
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	h.Del("Connection")
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if sl.tunnel && r.Status >= 200 && r.Status < 300 {
		// A tunnel's answer has no body and no length (RFC 9110, 9.3.6).
		if err := h.Write(bw); err != nil {
			return false, err
		}
		_, err := bw.WriteString("\r\n")
		return false, err
	}
	if r.ContentLength >= 0 && bodyAllowed(r.Status) {
		h.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	} else if chunked {
		h.Set("Transfer-Encoding", "chunked")
	} else if !bodyAllowed(r.Status) && r.Status != http.StatusNotModified {
		h.Set("Content-Length", "0")
	}
	if !keep {
		h.Set("Connection", "close")
	} else if sl.req != nil && !sl.req.ProtoAtLeast(1, 1) {
		h.Set("Connection", "keep-alive")
	}
	if err := h.Write(bw); err != nil {
		return false, err
	}
	bw.WriteString("\r\n")
	if !hasBody {
		return keep, nil
	}
	switch {
	case r.ContentLength >= 0:
		n, err := io.CopyN(bw, r.Body, r.ContentLength)
		if err != nil {
			return false, fmt.Errorf("pipeline: body ended after %d of %d bytes: %w", n, r.ContentLength, err)
		}
	case chunked:
		cw := &chunkWriter{w: bw}
		if _, err := io.Copy(cw, r.Body); err != nil {
			return false, err
		}
		if _, err := bw.WriteString("0\r\n\r\n"); err != nil {
			return false, err
		}
	default:
		if _, err := io.Copy(bw, r.Body); err != nil {
			return false, err
		}
	}
	return keep, nil
}

// chunkWriter writes each Write as one HTTP/1.1 chunk.
type chunkWriter struct{ w *bufio.Writer }

func (c *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	fmt.Fprintf(c.w, "%x\r\n", len(p))
	c.w.Write(p)
	_, err := c.w.WriteString("\r\n")
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// deadlineWriter renews the write deadline before every write, so a client
// that stops reading is dropped but a slow one is not.
type deadlineWriter struct {
	nc      net.Conn
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.nc.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.nc.Write(p)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
