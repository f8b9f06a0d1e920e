package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
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
	// Logger receives connection errors at debug level (nil: none).
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("pipeline: server closed")

// Serve accepts connections on ln and serves each in its own goroutines
// until Close; it then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[net.Conn]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	backoff := 5 * time.Millisecond
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				time.Sleep(backoff) // accept backoff, not synchronisation
				backoff = min(2*backoff, time.Second)
				continue
			}
			return fmt.Errorf("pipeline: accept: %w", err)
		}
		backoff = 5 * time.Millisecond
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.ServeConn(context.Background(), nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	}
}

// Close stops the listeners, closes every connection (cancelling their
// handlers) and waits for the connections' goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
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
