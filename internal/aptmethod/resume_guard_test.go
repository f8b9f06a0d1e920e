package aptmethod

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resumeServer serves content, honouring "Range: bytes=N-" itself so a test
// controls the Content-Range, and records the Range and If-Range of every
// request.
type resumeServer struct {
	*httptest.Server
	content  []byte
	modified time.Time
	// shift, when set, makes 206 answers start that many bytes before
	// the offset asked (with a Content-Range saying so).
	shift int64
	mu    sync.Mutex
	seen  [][2]string // Range, If-Range
}

func newResumeServer(t *testing.T, content []byte, shift int64) *resumeServer {
	rs := &resumeServer{content: content, modified: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC), shift: shift}
	rs.Server = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *resumeServer) serve(w http.ResponseWriter, r *http.Request) {
	rg, ir := r.Header.Get("Range"), r.Header.Get("If-Range")
	rs.mu.Lock()
	rs.seen = append(rs.seen, [2]string{rg, ir})
	rs.mu.Unlock()
	w.Header().Set("Last-Modified", rs.modified.Format(http.TimeFormat))
	spec, ok := strings.CutPrefix(rg, "bytes=")
	start, err := strconv.ParseInt(strings.TrimSuffix(spec, "-"), 10, 64)
	if !ok || err != nil || ir != rs.modified.Format(http.TimeFormat) || start >= int64(len(rs.content)) {
		w.Header().Set("Content-Length", strconv.Itoa(len(rs.content)))
		_, _ = w.Write(rs.content)
		return
	}
	start = max(0, start-rs.shift)
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(rs.content)-1, len(rs.content)))
	w.Header().Set("Content-Length", strconv.Itoa(len(rs.content)-int(start)))
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(rs.content[start:])
}

func (rs *resumeServer) requests() [][2]string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([][2]string(nil), rs.seen...)
}

// TestMethodResumeOffset: with a partial file of N bytes the method asks for
// "bytes=N-" with the file's time as If-Range and writes the 206 body after
// those N bytes; a 206 starting elsewhere is not appended: the file is
// fetched whole. A resume from another offset, or writing the body at
// another place in the file, gives a file of other bytes and fails.
func TestMethodResumeOffset(t *testing.T) {
	content := make([]byte, 300_000)
	for i := range content {
		content[i] = byte(i*7 + i/251)
	}
	const n = 123_457
	sum := sha256.Sum256(content)
	sumHex := hex.EncodeToString(sum[:])
	tests := []struct {
		name       string
		shift      int64
		wantRanges [][2]string
		wantResume string
	}{
		{"206 at the asked offset is appended", 0, [][2]string{{"bytes=123457-", "Mon, 02 Nov 2026 08:00:00 GMT"}}, strconv.Itoa(n)},
		{"206 at another offset is refetched whole", 1000,
			[][2]string{{"bytes=123457-", "Mon, 02 Nov 2026 08:00:00 GMT"}, {"", ""}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newResumeServer(t, content, tt.shift)
			s := startMethod(t)
			file := filepath.Join(t.TempDir(), "partial")
			require.NoError(t, os.WriteFile(file, content[:n], 0o644))
			require.NoError(t, os.Chtimes(file, rs.modified, rs.modified))
			uri := "debtorrent://" + rs.Listener.Addr().String() + "/m/debian/file"
			s.acquire(uri, file, "Expected-SHA256", sumHex, "Expected-Checksum-FileSize", strconv.Itoa(len(content)))
			starts := map[string]*Message{}
			got := s.final(starts)
			require.Equal(t, CodeURIDone, got.Code, got.String())
			assert.Equal(t, sumHex, got.Value("SHA256-Hash"))
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			require.True(t, bytes.Equal(content, data), "file is %d bytes, not the server's file", len(data))
			assert.Equal(t, tt.wantRanges, rs.requests())
			require.NotNil(t, starts[uri])
			assert.Equal(t, tt.wantResume, starts[uri].Value("Resume-Point"))
			assert.Equal(t, strconv.Itoa(len(content)), starts[uri].Value("Size"))
		})
	}
}
