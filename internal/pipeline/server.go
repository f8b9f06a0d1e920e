package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Defaults of Server's limits, used for zero fields.
const (
	// DefaultDepth is how many requests of one connection are read ahead
	// and handled at once (APT pipelines up to 10 by default).
	DefaultDepth = 32
	// DefaultMaxHeaderBytes bounds a request's line and headers.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultIdleTimeout closes a connection with no request in flight
	// that sends nothing for this long.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultHeaderTimeout bounds reading one request's headers once its
	// first byte arrived.
	DefaultHeaderTimeout = 30 * time.Second
	// DefaultWriteTimeout closes a connection whose client accepts no
	// bytes for this long.
	DefaultWriteTimeout = 2 * time.Minute
)

// Server serves HTTP/1.x connections with pipelining. Set the fields
// before Serve; zero limits take the defaults above.
type Server struct {
	// Handler answers every request.
	Handler Handler
	// Depth is the read-ahead: requests of one connection in flight at once.
	Depth int
	// MaxHeaderBytes bounds a request's line and headers (431 past it).
	MaxHeaderBytes int
	// IdleTimeout, HeaderTimeout and WriteTimeout: see the defaults.
	IdleTimeout, HeaderTimeout, WriteTimeout time.Duration
	// MaxConns bounds the connections served at once over all listeners
	// (0: DefaultMaxConns, from the open-file limit). When every slot is
	// taken Serve stops accepting: new connections wait in the kernel's
	// listen backlog (and past it, clients retry their SYN) until a served
	// connection closes, while the connections already served go on. This
	// was preferred over accepting and answering 503: answering needs a
	// descriptor, which is exactly what may be missing, and APT retries a
	// slow connect but gives up a mirror after a 503.
	MaxConns int
	// Logger receives connection errors at debug level and accept trouble
	// (out of descriptors...) at warning level (nil: none).
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	slots     chan struct{} // one token per connection served, MaxConns deep
	done      chan struct{} // closed by Close
	closed    bool
	wg        sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("pipeline: server closed")

// Serve accepts connections on ln and serves each in its own goroutines
// until Close; it then returns ErrServerClosed. Temporary accept errors
// (EMFILE, ENFILE, ECONNABORTED, ENOBUFS, timeouts...) are retried after a
// pause growing from 5 ms to 1 s, logged once per burst; any other accept
// error ends Serve with that error. At MaxConns connections it waits for one
// to close before accepting more.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.initLocked()
	s.listeners[ln] = struct{}{}
	slots, done := s.slots, s.done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	const minBackoff = 5 * time.Millisecond
	backoff := time.Duration(0)
	failures := 0
	for {
		select {
		case slots <- struct{}{}:
		case <-done:
			return ErrServerClosed
		}
		nc, err := ln.Accept()
		if err != nil {
			<-slots
			if s.isClosed() {
				return ErrServerClosed
			}
			if !temporaryAcceptError(err) {
				return fmt.Errorf("pipeline: accept: %w", err)
			}
			failures++
			if backoff == 0 {
				backoff = minBackoff
				s.logger().Warn("pipeline: accept failing, retrying with backoff (raise the open-file limit or lower MaxConns if it says too many open files)",
					"addr", ln.Addr().String(), "err", err, "max_conns", cap(slots))
			} else {
				backoff = min(2*backoff, time.Second)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-done:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		if backoff != 0 {
			s.logger().Warn("pipeline: accept works again", "addr", ln.Addr().String(), "failed_accepts", failures)
			backoff, failures = 0, 0
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			<-slots
			return ErrServerClosed
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() { <-slots }()
			s.ServeConn(context.Background(), nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	}
}

// initLocked makes the server's maps and channels on first use.
func (s *Server) initLocked() {
	if s.listeners != nil {
		return
	}
	s.listeners = make(map[net.Listener]struct{})
	s.conns = make(map[net.Conn]struct{})
	n := s.MaxConns
	if n <= 0 {
		n = DefaultMaxConns()
	}
	s.slots = make(chan struct{}, n)
	s.done = make(chan struct{})
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the listeners, closes every connection (cancelling their
// handlers) and waits for the connections' goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		if s.done != nil {
			close(s.done)
		}
	}
	for ln := range s.listeners {
		ln.Close()
	}
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) depth() int {
	if s.Depth > 0 {
		return s.Depth
	}
	return DefaultDepth
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
