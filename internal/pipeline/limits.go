package pipeline

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// Connection-limit defaults (see DefaultMaxConns).
const (
	// FDReserve is how many file descriptors DefaultMaxConns leaves to the
	// rest of the process: peer connections, the store's files, mirror
	// and index-cache connections, logs.
	FDReserve = 256
	// MinMaxConns is the smallest default connection limit, whatever the
	// descriptor limit says.
	MinMaxConns = 16
	// MaxDefaultMaxConns caps the default when the descriptor limit is
	// huge or unlimited.
	MaxDefaultMaxConns = 1 << 16
	// fallbackMaxConns is the default when the descriptor limit cannot be
	// read (1024 is the usual soft limit, minus FDReserve).
	fallbackMaxConns = 1024 - FDReserve
)

// DefaultMaxConns is the connection limit a Server with MaxConns 0 uses:
// the soft RLIMIT_NOFILE minus FDReserve, at least MinMaxConns and at most
// MaxDefaultMaxConns (1024-FDReserve when the limit cannot be read). With
// the common soft limit of 1024 it is 768. It is read when Serve first
// runs, so raise the limit (ulimit -n, LimitNOFILE=) before that.
func DefaultMaxConns() int {
	lim, ok := openFileLimit()
	if !ok {
		return fallbackMaxConns
	}
	if lim > MaxDefaultMaxConns+FDReserve {
		return MaxDefaultMaxConns
	}
	return max(int(lim)-FDReserve, MinMaxConns)
}

// temporaryAcceptError reports whether an Accept error is worth retrying
// after a pause: running out of descriptors, buffers or memory, a
// connection aborted before it was accepted, or a timeout. Such errors pass
// when other connections close; anything else (a closed listener) ends
// Serve.
func temporaryAcceptError(err error) bool {
	if isTimeout(err) {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS,
		syscall.ENOMEM, syscall.ECONNRESET, syscall.EPROTO, syscall.EAGAIN, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
		return false
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
