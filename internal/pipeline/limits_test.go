package pipeline

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingListener returns EMFILE from its first failures Accepts, then
// accepts for real.
type failingListener struct {
	net.Listener
	mu       sync.Mutex
	failures int
	failed   int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.failed < l.failures {
		l.failed++
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// recordHandler keeps the messages of the log records it receives.
type recordHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Level >= slog.LevelWarn {
		h.msgs = append(h.msgs, r.Message)
	}
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

func okHandler() Handler {
	return HandlerFunc(func(ctx context.Context, r *http.Request) *Response { return Text(http.StatusOK, r.URL.Path) })
}

// TestAcceptSurvivesEMFILE: Serve goes on after a burst of EMFILE and logs
// the burst once (and its end once).
func TestAcceptSurvivesEMFILE(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &failingListener{Listener: inner, failures: 5}
	rec := &recordHandler{}
	s := &Server{Handler: okHandler(), Logger: slog.New(rec)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		assert.ErrorIs(t, <-done, ErrServerClosed)
	})
	nc, br := dial(t, inner.Addr().String())
	io.WriteString(nc, "GET /after-emfile HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/after-emfile\n", body)
	msgs := rec.messages()
	require.Len(t, msgs, 2, "one warning when the burst starts, one when it ends: %q", msgs)
	assert.Contains(t, msgs[0], "accept failing")
	assert.Contains(t, msgs[1], "accept works again")
}

// TestAcceptFatalErrorEndsServe: a non-temporary accept error still ends
// Serve (a closed listener must not spin).
func TestAcceptFatalErrorEndsServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln.Close()
	s := &Server{Handler: okHandler()}
	defer s.Close()
	assert.ErrorIs(t, s.Serve(ln), net.ErrClosed)
}

// expectNoAnswer checks that nothing arrives on br for a moment: the
// connection is waiting in the listen backlog.
func expectNoAnswer(t *testing.T, nc net.Conn, br *bufio.Reader) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := br.Peek(1)
	require.Error(t, err, "a connection past MaxConns was served")
	assert.True(t, isTimeout(err), "want a timeout, got %v", err)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
}

// TestMaxConns: with MaxConns=N, N+K connections: the N served keep being
// answered, the K wait, and each is served once another closes.
func TestMaxConns(t *testing.T) {
	const n, k = 3, 2
	s := &Server{Handler: okHandler(), MaxConns: n}
	addr := startServer(t, s)
	type client struct {
		nc net.Conn
		br *bufio.Reader
	}
	var held []client
	for i := range n {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, _ := readResponse(t, br, "GET")
		require.Equal(t, http.StatusOK, resp.StatusCode, "connection %d", i)
		held = append(held, client{nc, br})
	}
	var waiting []client
	for range k {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /waiting HTTP/1.1\r\nHost: x\r\n\r\n")
		waiting = append(waiting, client{nc, br})
	}
	expectNoAnswer(t, waiting[0].nc, waiting[0].br)
	// A held connection still gets answers.
	io.WriteString(held[0].nc, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
	_, body := readResponse(t, held[0].br, "GET")
	assert.Equal(t, "/again\n", body)
	// Each close lets one waiting connection in.
	for i, w := range waiting {
		held[i].nc.Close()
		resp, body := readResponse(t, w.br, "GET")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "/waiting\n", body)
	}
}

func TestDefaultMaxConns(t *testing.T) {
	n := DefaultMaxConns()
	assert.GreaterOrEqual(t, n, MinMaxConns)
	assert.LessOrEqual(t, n, MaxDefaultMaxConns)
	if lim, ok := openFileLimit(); ok && lim < MaxDefaultMaxConns {
		assert.Equal(t, max(int(lim)-FDReserve, MinMaxConns), n)
	}
}

// TestRefusedRequests: unsupported versions get 505 and bodies 413, without
// the handler, and the connection closes after the answer.
func TestRefusedRequests(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		return Text(http.StatusOK, "ok")
	})}
	addr := startServer(t, s)
	for _, c := range []struct {
		name, req string
		status    int
	}{
		{"HTTP/2.0 request line", "GET /v2 HTTP/2.0\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"HTTP/1.2", "GET /v12 HTTP/1.2\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"HTTP/0.9", "GET /v09 HTTP/0.9\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", http.StatusHTTPVersionNotSupported},
		{"Content-Length body", "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"chunked body", "GET /chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusRequestEntityTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			nc, br := dial(t, addr)
			io.WriteString(nc, c.req)
			resp, body := readResponse(t, br, "GET")
			assert.Equal(t, c.status, resp.StatusCode, body)
			assert.True(t, resp.Close, "the connection must close after a refusal")
			_, err := br.ReadByte()
			assert.ErrorIs(t, err, io.EOF)
		})
	}
	// An empty body (Content-Length: 0) is fine.
	nc, br := dial(t, addr)
	io.WriteString(nc, "GET /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	resp, _ := readResponse(t, br, "GET")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"GET /empty"}, seen, "refused requests must not reach the handler")
	for _, s := range seen {
		assert.False(t, strings.Contains(s, "smuggled"))
	}
}
