package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer serves h on a loopback port and returns its address.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		assert.ErrorIs(t, <-done, ErrServerClosed)
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc, bufio.NewReader(nc)
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// TestPipelinedConcurrentInOrder sends n requests at once; every handler
// must be running before any may answer (a barrier), and the later ones
// answer first, yet the answers arrive in request order.
func TestPipelinedConcurrentInOrder(t *testing.T) {
	const n = 10
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	finished := make(chan int, n)
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
		started.Done()
		select {
		case <-all:
		case <-ctx.Done():
			return Text(http.StatusServiceUnavailable, "cancelled")
		case <-time.After(10 * time.Second):
			return Text(http.StatusGatewayTimeout, "handlers did not run concurrently")
		}
		var i int
		fmt.Sscanf(r.URL.Path, "/%d", &i)
		finished <- i
		return Text(http.StatusOK, r.URL.Path)
	})}
	addr := startServer(t, s)
	nc, br := dial(t, addr)
	var req strings.Builder
	for i := range n {
		fmt.Fprintf(&req, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	_, err := io.WriteString(nc, req.String())
	require.NoError(t, err)
	for i := range n {
		resp, body := readResponse(t, br, "GET")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.Equal(t, fmt.Sprintf("/%d\n", i), body)
	}
}

func TestHeadConnectionCloseAndHTTP10(t *testing.T) {
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
		return Text(http.StatusOK, "hello")
	})}
	addr := startServer(t, s)

	t.Run("HEAD keeps length, sends no body", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := readResponse(t, br, "HEAD")
		assert.Equal(t, int64(6), resp.ContentLength)
		assert.Empty(t, body)
		_, body = readResponse(t, br, "GET")
		assert.Equal(t, "hello\n", body)
	})
	t.Run("Connection close ends after the answer", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, _ := readResponse(t, br, "GET")
		assert.True(t, resp.Close)
		_, err := br.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	})
	t.Run("HTTP/1.0 closes unless keep-alive", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /a HTTP/1.0\r\n\r\n")
		resp, body := readResponse(t, br, "GET")
		assert.Equal(t, "hello\n", body)
		assert.True(t, resp.Close)
		_, err := br.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	})
	t.Run("HTTP/1.0 keep-alive", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n")
		resp, _ := readResponse(t, br, "GET")
		assert.False(t, resp.Close)
		_, body := readResponse(t, br, "GET")
		assert.Equal(t, "hello\n", body)
	})
}

func TestLimitsAndErrors(t *testing.T) {
	s := &Server{MaxHeaderBytes: 1024, IdleTimeout: 200 * time.Millisecond,
		Handler: HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
			switch r.URL.Path {
			case "/panic":
				panic("boom")
			case "/short":
				return &Response{Status: http.StatusOK, Body: io.NopCloser(strings.NewReader("abc")), ContentLength: 10}
			case "/chunked":
				return &Response{Status: http.StatusOK, Body: io.NopCloser(strings.NewReader("streamed")), ContentLength: -1}
			}
			return Text(http.StatusOK, "ok")
		})}
	addr := startServer(t, s)

	t.Run("huge headers get 431", func(t *testing.T) {
		nc, br := dial(t, addr)
		go io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 8000)+"\r\n\r\n")
		resp, _ := readResponse(t, br, "GET")
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	})
	t.Run("garbage gets 400", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "NONSENSE\r\n\r\n")
		resp, _ := readResponse(t, br, "GET")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("panic gets 500 and the connection goes on", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, _ := readResponse(t, br, "GET")
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		_, body := readResponse(t, br, "GET")
		assert.Equal(t, "ok\n", body)
	})
	t.Run("short body breaks the connection", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /short HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
		}
		assert.Error(t, err, "a short body must not look whole")
	})
	t.Run("unknown length is chunked", func(t *testing.T) {
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := readResponse(t, br, "GET")
		assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
		assert.Equal(t, "streamed", body)
	})
	t.Run("idle connection is closed", func(t *testing.T) {
		_, br := dial(t, addr)
		_, err := br.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	})
}

// TestClientGoneCancelsHandlers: closing the connection ends the handlers'
// context, and Close returns once everything stopped.
func TestClientGoneCancelsHandlers(t *testing.T) {
	started := make(chan struct{})
	cancelled := make(chan struct{})
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return Text(http.StatusServiceUnavailable, "gone")
	})}
	addr := startServer(t, s)
	nc, _ := dial(t, addr)
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	nc.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("handler not cancelled after the client left")
	}
}

func TestAdapt(t *testing.T) {
	h := Adapt(HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
		if r.URL.Path == "/short" {
			return &Response{Status: http.StatusOK, Body: io.NopCloser(strings.NewReader("abc")), ContentLength: 10}
		}
		return Text(http.StatusTeapot, "tea")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/x")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusTeapot, resp.StatusCode)
	assert.Equal(t, "tea\n", string(body))

	resp, err = http.Get(srv.URL + "/short")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	assert.True(t, errors.Is(err, io.ErrUnexpectedEOF) || err != nil, "a short body must not look whole")
}

func TestReasonPhrase(t *testing.T) {
	for _, c := range []struct {
		r    Response
		want string
	}{
		{Response{Status: 404}, "Not Found"},
		{Response{Status: 403, Reason: "debtorrent: host x is not a configured mirror"}, "debtorrent: host x is not a configured mirror"},
		{Response{Status: 502, Reason: "a\r\nInjected: yes\x00é"}, "a  Injected: yes   "},
		{Response{Status: 502, Reason: strings.Repeat("x", 500)}, strings.Repeat("x", MaxReason)},
	} {
		assert.Equal(t, c.want, reasonPhrase(&c.r))
	}
	assert.Equal(t, "debtorrent: why", Text(403, "debtorrent: why").Reason)
	assert.Empty(t, Text(200, "fine").Reason)
}

// TestConnectTunnel: a 2xx answer to CONNECT hands the connection to its
// Tunnel, including bytes the client sent right after the request; a
// refused CONNECT is answered and closed; no request is read after one.
func TestConnectTunnel(t *testing.T) {
	var handled sync.WaitGroup
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
		handled.Add(1)
		defer handled.Done()
		if r.Method != http.MethodConnect || r.Host != "mirror.example:443" {
			return Text(http.StatusForbidden, "not a mirror")
		}
		return &Response{Status: http.StatusOK, Reason: "Connection Established", Tunnel: func(ctx context.Context, c io.ReadWriter) error {
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return err
			}
			_, err = io.WriteString(c, "echo: "+line)
			return err
		}}
	})}
	addr := startServer(t, s)

	nc, br := dial(t, addr)
	// The first tunnel bytes follow the request at once, in the same write.
	fmt.Fprint(nc, "CONNECT mirror.example:443 HTTP/1.1\r\nHost: mirror.example:443\r\n\r\nhello\n")
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "200 Connection Established", resp.Status)
	assert.Empty(t, resp.Header.Get("Content-Length"))
	got, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "echo: hello\n", got)
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "closed when the tunnel ends")

	nc, br = dial(t, addr)
	fmt.Fprint(nc, "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, br, http.MethodConnect)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "not a mirror\n", body)
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "what follows a CONNECT is never read as a request")
	handled.Wait()
}
