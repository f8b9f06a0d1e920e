package testmirror

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options tune a Server.
type Options struct {
	// Addr is the address to listen on (default "127.0.0.1:0").
	Addr string
	// Prefix is the URL path the archive root is served under (default
	// "/debian/").
	Prefix string
	// Rate caps the bytes per second of all responses together (0: none).
	Rate int64
	// Fault, when set, is asked about every request; a non-zero status is
	// answered instead of the file.
	Fault func(r *http.Request) int
}

// LogEntry is one request the server answered.
type LogEntry struct {
	// Method and Path of the request (Path relative to the archive root).
	Method, Path string
	// Range is the request's Range header.
	Range string
	// Status is the answer's status code.
	Status int
	// Bytes counts the body bytes sent.
	Bytes int64
}

// Server serves an archive directory over HTTP on loopback.
type Server struct {
	root   string
	prefix string
	opts   Options
	ln     net.Listener
	srv    *http.Server
	pacer  *pacer
	done   chan struct{}

	mu       sync.Mutex
	log      []LogEntry
	inflight int           // requests being answered
	idle     chan struct{} // closed when inflight drops to 0; nil while none wait
}

// Serve starts serving root on a loopback port. Close it when done.
func Serve(root string, opts Options) (*Server, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/debian/"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{root: root, prefix: opts.Prefix, opts: opts, ln: ln, done: make(chan struct{})}
	if opts.Rate > 0 {
		s.pacer = newPacer(opts.Rate)
	}
	fs := http.StripPrefix(strings.TrimSuffix(opts.Prefix, "/"), http.FileServer(http.Dir(root)))
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.inflight++
		s.mu.Unlock()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK, pacer: s.pacer, ctx: r.Context()}
		path := strings.TrimPrefix(r.URL.Path, opts.Prefix)
		switch {
		case !strings.HasPrefix(r.URL.Path, opts.Prefix):
			http.NotFound(rec, r)
		case opts.Fault != nil && opts.Fault(r) != 0:
			code := opts.Fault(r)
			http.Error(rec, http.StatusText(code), code)
		case strings.HasSuffix(r.URL.Path, "/"):
			http.NotFound(rec, r) // no directory listings
		default:
			fs.ServeHTTP(rec, r)
		}
		s.mu.Lock()
		s.log = append(s.log, LogEntry{Method: r.Method, Path: path, Range: r.Header.Get("Range"), Status: rec.status, Bytes: rec.bytes})
		s.inflight--
		if s.inflight == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// URL returns the archive root's URL, e.g. "http://127.0.0.1:PORT/debian/".
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + s.prefix }

// Addr returns the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// logSettle bounds how long Log waits for requests still being answered.
const logSettle = 2 * time.Second

// Log returns a copy of the requests answered so far. A client may have read
// a whole body before the server's handler has returned and logged it, so Log
// first waits (up to logSettle) until no request is being answered.
func (s *Server) Log() []LogEntry {
	s.mu.Lock()
	if s.inflight > 0 {
		if s.idle == nil {
			s.idle = make(chan struct{})
		}
		idle := s.idle
		s.mu.Unlock()
		t := time.NewTimer(logSettle)
		select {
		case <-idle:
		case <-t.C:
		}
		t.Stop()
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.log...)
}

// Count returns how many GET requests for path were answered with status.
func (s *Server) Count(path string, status int) int {
	n := 0
	for _, e := range s.Log() {
		if e.Path == path && e.Status == status && e.Method == http.MethodGet {
			n++
		}
	}
	return n
}

// BytesSent returns the body bytes sent for paths with the given suffix.
func (s *Server) BytesSent(suffix string) int64 {
	var n int64
	for _, e := range s.Log() {
		if strings.HasSuffix(e.Path, suffix) {
			n += e.Bytes
		}
	}
	return n
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

// recorder notes the status and body size of a response and paces it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	pacer  *pacer
	ctx    context.Context
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p
		if r.pacer != nil && len(chunk) > 16<<10 {
			chunk = chunk[:16<<10]
		}
		if r.pacer != nil {
			if err := r.pacer.wait(r.ctx, len(chunk)); err != nil {
				return written, err
			}
		}
		n, err := r.ResponseWriter.Write(chunk)
		written += n
		r.bytes += int64(n)
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// pacer is a token bucket with a small burst (64 KiB), shared by every
// response, standing for the mirror's link.
type pacer struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func newPacer(rate int64) *pacer {
	return &pacer{rate: float64(rate), last: time.Now()}
}

const pacerBurst = 64 << 10

func (p *pacer) wait(ctx context.Context, n int) error {
	p.mu.Lock()
	now := time.Now()
	p.tokens += now.Sub(p.last).Seconds() * p.rate
	if p.tokens > pacerBurst {
		p.tokens = pacerBurst
	}
	p.last = now
	p.tokens -= float64(n)
	deficit := -p.tokens
	p.mu.Unlock()
	if deficit <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(deficit / p.rate * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
