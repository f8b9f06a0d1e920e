package websource

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fault decides, per request, whether the test server misbehaves. It returns
// true when it has answered the request itself.
type fault func(w http.ResponseWriter, r *http.Request, hit int) bool

// mirrorServer is a loopback HTTP server holding files in memory, with
// fault injection and request accounting.
type mirrorServer struct {
	*httptest.Server
	files   map[string][]byte
	fault   fault
	hits    atomic.Int64
	conns   atomic.Int64
	mu      sync.Mutex
	ranges  []string // Range header of every request, "" for none
	paths   []string // escaped request path of every request
	arrived []time.Time
}

func newMirrorServer(t *testing.T, files map[string][]byte, f fault) *mirrorServer {
	t.Helper()
	s := &mirrorServer{files: files, fault: f}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *mirrorServer) serve(w http.ResponseWriter, r *http.Request) {
	hit := int(s.hits.Add(1))
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.paths = append(s.paths, r.URL.EscapedPath())
	s.arrived = append(s.arrived, time.Now())
	s.mu.Unlock()
	if s.fault != nil && s.fault(w, r, hit) {
		return
	}
	data, ok := s.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func (s *mirrorServer) rangeHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func (s *mirrorServer) requestPaths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fastOptions keeps retries quick in tests.
func fastOptions() Options {
	return Options{BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, IdleTimeout: 5 * time.Second}
}

// hijackAfter answers with the full Content-Length, sends n bytes of data
// starting at the requested offset, then drops the connection.
func hijackAfter(t *testing.T, w http.ResponseWriter, data []byte, n int) {
	hj, ok := w.(http.Hijacker)
	require.True(t, ok)
	conn, buf, err := hj.Hijack()
	require.NoError(t, err)
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(data)) + "\r\n\r\n")
	_, _ = buf.Write(data[:n])
	_ = buf.Flush()
}

// fetchAll is Fetch into a buffer with a test deadline.
func fetchAll(t *testing.T, src WebSource, req Request) ([]byte, Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var buf bytes.Buffer
	res, err := src.Fetch(ctx, req, &buf)
	require.Equal(t, int64(buf.Len()), res.Written, "Written must count the bytes written")
	return buf.Bytes(), res, err
}
