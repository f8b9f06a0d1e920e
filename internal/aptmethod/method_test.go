package aptmethod

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// session drives a Method the way APT does: it writes to the method's
// stdin and reads its stdout.
type testSession struct {
	t       *testing.T
	stdin   *io.PipeWriter
	replies *Reader
	done    chan error
}

// startMethod runs a Method with the given configuration items and checks
// its capabilities.
func startMethod(t *testing.T, items ...string) *testSession {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &testSession{t: t, stdin: inW, replies: NewReader(outR), done: make(chan error, 1)}
	m := &Method{}
	go func() {
		err := m.Run(context.Background(), inR, outW)
		outW.Close()
		s.done <- err
	}()
	t.Cleanup(func() {
		inW.Close()
		go io.Copy(io.Discard, outR) // let the writer finish
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("method did not stop after stdin closed")
		}
	})
	caps := s.next()
	require.Equal(t, CodeCapabilities, caps.Code)
	for _, f := range []string{"Pipeline", "Send-Config", "Send-URI-Encoded"} {
		assert.Equal(t, "true", caps.Value(f), f)
	}
	cfg := NewMessage(CodeConfiguration, "Configuration").Add("Config-Item", "APT::Sandbox::User=root")
	for _, it := range items {
		cfg.Add("Config-Item", it)
	}
	s.send(cfg)
	return s
}

func (s *testSession) send(m *Message) {
	s.t.Helper()
	_, err := m.WriteTo(s.stdin)
	require.NoError(s.t, err)
}

// acquire sends a 600 URI Acquire.
func (s *testSession) acquire(uri, filename string, fields ...string) {
	s.t.Helper()
	m := NewMessage(CodeURIAcquire, "URI Acquire").Add("URI", uri).Add("Filename", filename)
	for i := 0; i+1 < len(fields); i += 2 {
		m.Add(fields[i], fields[i+1])
	}
	s.send(m)
}

// next returns the method's next message.
func (s *testSession) next() *Message {
	s.t.Helper()
	m, err := s.replies.ReadMessage()
	require.NoError(s.t, err)
	return m
}

// final returns the next 201 or 400 message, keeping the 200 URI Start
// messages seen on the way, by URI.
func (s *testSession) final(starts map[string]*Message) *Message {
	s.t.Helper()
	for {
		m := s.next()
		switch m.Code {
		case CodeURIStart:
			if starts != nil {
				starts[m.Value("URI")] = m
			}
		case CodeURIDone, CodeURIFailure, CodeGeneralFailure:
			return m
		}
	}
}

// testServer serves fixed content under several behaviours.
type testServer struct {
	*httptest.Server
	content  []byte
	modified time.Time
	mu       sync.Mutex
	ranges   []string
}

func newTestServer(t *testing.T, content []byte) *testServer {
	ts := &testServer{content: content, modified: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	mux := http.NewServeMux()
	mux.HandleFunc("/m/debian/file", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.ranges = append(ts.ranges, r.Header.Get("Range"))
		ts.mu.Unlock()
		http.ServeContent(w, r, "file", ts.modified, bytes.NewReader(ts.content))
	})
	mux.HandleFunc("/m/debian/busy", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/m/debian/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(ts.content)))
		w.Write(ts.content[:len(ts.content)/2])
		// The handler returns early: the server closes the connection.
	})
	mux.HandleFunc("/m/debian/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	mux.HandleFunc("/m/debian/stall", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ts.Server = httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// uri returns the debtorrent:// URI of a path on the server.
func (ts *testServer) uri(path string) string {
	return "debtorrent://" + ts.Listener.Addr().String() + "/m/debian/" + path
}

func hexSum(h interface{ Sum([]byte) []byte }) string { return hex.EncodeToString(h.Sum(nil)) }

func TestMethodAnswers(t *testing.T) {
	content := bytes.Repeat([]byte("debtorrent "), 50000)
	sha := sha256.Sum256(content)
	sha256Hex := hex.EncodeToString(sha[:])
	md := md5.Sum(content)
	md5Hex := hex.EncodeToString(md[:])
	s512 := sha512.Sum512(content)
	sha512Hex := hex.EncodeToString(s512[:])
	ts := newTestServer(t, content)
	size := fmt.Sprint(len(content))
	closedURI := "debtorrent://" + closedAddr(t) + "/m/debian/file"

	tests := []struct {
		name   string
		path   string
		uri    string
		fields []string
		// partial is what the file holds before the fetch, and
		// partialTime its time (zero: now).
		partial     []byte
		partialTime time.Time
		wantCode    int
		wantFields  map[string]string
		wantAbsent  []string
		wantFile    bool
	}{
		{
			name: "done with hashes", path: "file", fields: []string{"Expected-SHA256", sha256Hex, "Expected-SHA512", sha512Hex, "Expected-Checksum-FileSize", size},
			wantCode: CodeURIDone, wantFile: true,
			wantFields: map[string]string{"Size": size, "SHA256-Hash": sha256Hex, "MD5Sum-Hash": md5Hex,
				"Checksum-FileSize-Hash": size, "Last-Modified": "Sun, 01 Nov 2026 12:00:00 GMT"},
			wantAbsent: []string{"SHA1-Hash", "SHA512-Hash", "IMS-Hit"},
		},
		{
			name: "without SHA256 every expected hash is computed", path: "file", fields: []string{"Expected-SHA512", sha512Hex},
			wantCode: CodeURIDone, wantFile: true,
			wantFields: map[string]string{"SHA256-Hash": sha256Hex, "MD5Sum-Hash": md5Hex, "SHA512-Hash": sha512Hex},
		},
		{
			name: "SHA512 mismatch", path: "file", fields: []string{"Expected-SHA512", strings.Repeat("0", 128)},
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonHashSumMismatch},
		},
		{
			name: "MD5Sum mismatch", path: "file", fields: []string{"Expected-SHA256", sha256Hex, "Expected-MD5Sum", strings.Repeat("0", 32)},
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonHashSumMismatch},
		},
		{
			name: "not modified", path: "file", fields: []string{"Last-Modified", "Sun, 01 Nov 2026 12:00:00 GMT"},
			wantCode: CodeURIDone, wantFields: map[string]string{"IMS-Hit": "true", "Last-Modified": "Sun, 01 Nov 2026 12:00:00 GMT"},
			wantAbsent: []string{"SHA256-Hash", "Size"},
		},
		{
			name: "modified since", path: "file", fields: []string{"Last-Modified", "Sat, 31 Oct 2026 12:00:00 GMT"},
			wantCode: CodeURIDone, wantFile: true, wantFields: map[string]string{"SHA256-Hash": sha256Hex}, wantAbsent: []string{"IMS-Hit"},
		},
		{
			name: "resumed", path: "file", partial: content[:1000], partialTime: ts.modified, fields: []string{"Expected-SHA256", sha256Hex},
			wantCode: CodeURIDone, wantFile: true, wantFields: map[string]string{"SHA256-Hash": sha256Hex, "Size": size},
		},
		{
			name: "partial file of another version is fetched whole", path: "file", partial: []byte("garbage"), fields: []string{"Expected-SHA256", sha256Hex},
			wantCode: CodeURIDone, wantFile: true, wantFields: map[string]string{"SHA256-Hash": sha256Hex, "Size": size},
		},
		{
			name: "partial file with wrong bytes fails the hash check", path: "file", partial: []byte("garbage"), partialTime: ts.modified,
			fields:   []string{"Expected-SHA256", sha256Hex},
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonHashSumMismatch},
		},
		{
			name: "redirect loop", path: "loop",
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonRedirectionLoop}, wantAbsent: []string{"Transient-Failure"},
		},
		{
			name: "hash mismatch", path: "file", fields: []string{"Expected-SHA256", strings.Repeat("0", 64)},
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonHashSumMismatch}, wantAbsent: []string{"Transient-Failure"},
		},
		{
			name: "size mismatch", path: "file", fields: []string{"Expected-Checksum-FileSize", "10"},
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonHashSumMismatch},
		},
		{
			name: "maximum size", path: "file", fields: []string{"Maximum-Size", "100"},
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonMaximumSizeExceeded}, wantAbsent: []string{"Transient-Failure"},
		},
		{
			name: "not found", path: "missing",
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": "HttpError404"}, wantAbsent: []string{"Transient-Failure"},
		},
		{
			name: "server error is transient", path: "busy",
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": "HttpError503", "Transient-Failure": "true"},
		},
		{
			name: "truncated body is transient", path: "short",
			wantCode: CodeURIFailure, wantFields: map[string]string{"Transient-Failure": "true"},
		},
		{
			name: "connection refused is transient", uri: closedURI,
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonConnectionRefused, "Transient-Failure": "true"},
		},
		{
			name: "bad URI", uri: "debtorrent:///nohost",
			wantCode: CodeURIFailure, wantFields: map[string]string{"FailReason": ReasonBadURI}, wantAbsent: []string{"Transient-Failure"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startMethod(t)
			file := filepath.Join(t.TempDir(), "partial")
			if tt.partial != nil {
				require.NoError(t, os.WriteFile(file, tt.partial, 0o644))
				if !tt.partialTime.IsZero() {
					require.NoError(t, os.Chtimes(file, tt.partialTime, tt.partialTime))
				}
			}
			uri := tt.uri
			if uri == "" {
				uri = ts.uri(tt.path)
			}
			s.acquire(uri, file, tt.fields...)
			starts := map[string]*Message{}
			got := s.final(starts)
			require.Equal(t, tt.wantCode, got.Code, got.String())
			assert.Equal(t, uri, got.Value("URI"))
			for k, v := range tt.wantFields {
				assert.Equal(t, v, got.Value(k), "%s in\n%s", k, got)
			}
			for _, k := range tt.wantAbsent {
				_, ok := got.Get(k)
				assert.False(t, ok, "%s in\n%s", k, got)
			}
			if got.Code == CodeURIFailure {
				assert.NotEmpty(t, got.Value("Message"))
			}
			if tt.wantFile {
				assert.Equal(t, file, got.Value("Filename"))
				data, err := os.ReadFile(file)
				require.NoError(t, err)
				assert.Equal(t, content, data)
				start := starts[uri]
				require.NotNil(t, start, "200 URI Start before 201")
				assert.Equal(t, size, start.Value("Size"))
				st, err := os.Stat(file)
				require.NoError(t, err)
				assert.True(t, st.ModTime().Equal(ts.modified), "file time is the server's Last-Modified")
			}
			if tt.wantFile {
				wantResume := ""
				if tt.name == "resumed" {
					wantResume = "1000"
					ts.mu.Lock()
					assert.Equal(t, "bytes=1000-", ts.ranges[len(ts.ranges)-1])
					ts.mu.Unlock()
				}
				assert.Equal(t, wantResume, starts[uri].Value("Resume-Point"))
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

// blockingServer holds every request until released, counting how many
// are in flight at once.
type blockingServer struct {
	*httptest.Server
	arrived   chan string
	release   chan struct{}
	cancelled chan string
	mu        sync.Mutex
	now       int
	max       int
}

func newBlockingServer(t *testing.T) *blockingServer {
	b := &blockingServer{arrived: make(chan string, 100), release: make(chan struct{}, 100), cancelled: make(chan string, 100)}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.now++
		b.max = max(b.max, b.now)
		b.mu.Unlock()
		defer func() {
			b.mu.Lock()
			b.now--
			b.mu.Unlock()
		}()
		b.arrived <- r.URL.Path
		select {
		case <-b.release:
			fmt.Fprint(w, r.URL.Path)
		case <-r.Context().Done():
			b.cancelled <- r.URL.Path
		}
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *blockingServer) maxInFlight() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.max
}

func TestMethodWorkerBound(t *testing.T) {
	b := newBlockingServer(t)
	s := startMethod(t, "Acquire::debtorrent::Workers=3")
	dir := t.TempDir()
	const n = 7
	for i := range n {
		s.acquire(fmt.Sprintf("debtorrent://%s/p%d", b.Listener.Addr(), i), filepath.Join(dir, fmt.Sprint(i)))
	}
	for range 3 {
		<-b.arrived
	}
	assert.Equal(t, 3, b.maxInFlight())
	done := map[string]bool{}
	for i := range n {
		b.release <- struct{}{}
		m := s.final(nil)
		require.Equal(t, CodeURIDone, m.Code, m.String())
		done[m.Value("URI")] = true
		if i+3 < n {
			<-b.arrived
		}
	}
	assert.Len(t, done, n)
	assert.Equal(t, 3, b.maxInFlight(), "never more than Workers requests at once")
}

func TestMethodAnswersInCompletionOrder(t *testing.T) {
	b := newBlockingServer(t)
	content := []byte("fast")
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(content) }))
	defer fast.Close()
	s := startMethod(t)
	dir := t.TempDir()
	slowURI := "debtorrent://" + b.Listener.Addr().String() + "/slow"
	fastURI := "debtorrent://" + fast.Listener.Addr().String() + "/fast"
	s.acquire(slowURI, filepath.Join(dir, "slow"))
	<-b.arrived
	s.acquire(fastURI, filepath.Join(dir, "fast"))
	first := s.final(nil)
	assert.Equal(t, fastURI, first.Value("URI"), "the fast URI is answered while the slow one waits")
	b.release <- struct{}{}
	second := s.final(nil)
	assert.Equal(t, slowURI, second.Value("URI"))
	assert.Equal(t, CodeURIDone, second.Code)
}

func TestMethodStopsWhenStdinCloses(t *testing.T) {
	b := newBlockingServer(t)
	inR, inW := io.Pipe()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- (&Method{}).Run(context.Background(), inR, &lockedWriter{w: &out}) }()
	m := NewMessage(CodeURIAcquire, "URI Acquire").Add("URI", "debtorrent://"+b.Listener.Addr().String()+"/held").Add("Filename", filepath.Join(t.TempDir(), "f"))
	_, err := m.WriteTo(inW)
	require.NoError(t, err)
	<-b.arrived
	inW.Close()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after stdin closed with a fetch in flight")
	}
	select {
	case path := <-b.cancelled:
		assert.Equal(t, "/held", path)
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request was not cancelled")
	}
}

func TestMethodIdleTimeout(t *testing.T) {
	ts := newTestServer(t, []byte("x"))
	s := startMethod(t, "Acquire::debtorrent::Timeout=1")
	s.acquire(ts.uri("stall"), filepath.Join(t.TempDir(), "f"))
	m := s.final(nil)
	require.Equal(t, CodeURIFailure, m.Code)
	assert.Equal(t, ReasonTimeout, m.Value("FailReason"))
	assert.Equal(t, "true", m.Value("Transient-Failure"))
}

func TestMethodGeneralFailure(t *testing.T) {
	tests := []struct{ name, input, want string }{
		{"malformed message", "600 URI Acquire\nno colon here\n\n", "Name: value"},
		{"bad configuration", "601 Configuration\nConfig-Item: Acquire::debtorrent::Workers=lots\n\n", "Workers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := (&Method{}).Run(context.Background(), strings.NewReader(tt.input), &out)
			require.Error(t, err)
			msgs := readAll(t, out.Bytes())
			last := msgs[len(msgs)-1]
			assert.Equal(t, CodeGeneralFailure, last.Code)
			assert.Contains(t, last.Value("Message"), tt.want)
		})
	}
}

func TestMethodOnConfigError(t *testing.T) {
	var out bytes.Buffer
	m := &Method{OnConfig: func(Config) error { return errors.New("cannot drop privileges") }}
	err := m.Run(context.Background(), strings.NewReader("601 Configuration\nConfig-Item: a=b\n\n"), &out)
	require.ErrorContains(t, err, "cannot drop privileges")
	msgs := readAll(t, out.Bytes())
	assert.Equal(t, CodeGeneralFailure, msgs[len(msgs)-1].Code)
}

func TestMethodCancelledByContext(t *testing.T) {
	inR, inW := io.Pipe()
	defer inW.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Method{}).Run(ctx, inR, io.Discard) }()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// readAll parses every message in data.
func readAll(t *testing.T, data []byte) []*Message {
	r := NewReader(bytes.NewReader(data))
	var out []*Message
	for {
		m, err := r.ReadMessage()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, m)
	}
}

// lockedWriter lets a test read what the method wrote without a race.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
