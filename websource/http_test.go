package websource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const debPath = "pool/main/h/hello/hello_2.10-3_amd64.deb"

func TestFetchRanges(t *testing.T) {
	data := randomBytes(300_000, 1)
	srv := newMirrorServer(t, map[string][]byte{debPath: data}, nil)
	src, err := NewHTTP([]string{srv.URL + "/"}, fastOptions())
	require.NoError(t, err)
	size := int64(len(data))
	tests := []struct {
		name      string
		req       Request
		wantRange string
	}{
		{"whole file is a plain GET", Request{Path: debPath, Offset: 0, Length: size, FileSize: size}, ""},
		{"prefix", Request{Path: debPath, Offset: 0, Length: 1000, FileSize: size}, "bytes=0-999"},
		{"middle", Request{Path: debPath, Offset: 12345, Length: 100_000, FileSize: size}, "bytes=12345-112344"},
		{"tail", Request{Path: debPath, Offset: size - 1, Length: 1, FileSize: size}, fmt.Sprintf("bytes=%d-%d", size-1, size-1)},
		{"unknown size uses Range", Request{Path: debPath, Offset: 0, Length: size, FileSize: -1}, fmt.Sprintf("bytes=0-%d", size-1)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, res, err := fetchAll(t, src, tc.req)
			require.NoError(t, err)
			require.Equal(t, data[tc.req.Offset:tc.req.Offset+tc.req.Length], got)
			assert.Equal(t, []string{srv.URL + "/"}, res.Sources)
			assert.Equal(t, tc.wantRange, srv.rangeHeaders()[i])
		})
	}
	assert.Equal(t, int64(1), srv.conns.Load(), "sequential fetches must reuse one connection")
	st := src.Stats()[0]
	assert.Equal(t, int64(len(tests)), st.Requests)
	assert.False(t, st.NoRange)
}

func TestFetchInvalidRequest(t *testing.T) {
	src, err := NewHTTP([]string{"http://127.0.0.1:1/"}, fastOptions())
	require.NoError(t, err)
	for _, req := range []Request{
		{Path: "a", Offset: -1, Length: 1, FileSize: 10},
		{Path: "a", Offset: 5, Length: 6, FileSize: 10},
		{Path: "a", Offset: 0, Length: -2, FileSize: -1},
	} {
		_, err := src.Fetch(context.Background(), req, &bytes.Buffer{})
		assert.ErrorIs(t, err, ErrInvalidRequest, "%v", req)
	}
}

func TestFetchFaults(t *testing.T) {
	data := randomBytes(200_000, 2)
	size := int64(len(data))
	whole := Request{Path: debPath, Offset: 0, Length: size, FileSize: size}
	tests := []struct {
		name       string
		fault      func(t *testing.T) fault
		wantRanges []string // Range headers of the requests, in order (nil: not checked)
		unsized    bool     // send the request with an unknown file size (so with Range)
	}{
		{"500 then success", func(t *testing.T) fault {
			return func(w http.ResponseWriter, r *http.Request, hit int) bool {
				if hit <= 2 {
					http.Error(w, "boom", http.StatusInternalServerError)
					return true
				}
				return false
			}
		}, []string{"", "", ""}, false},
		{"reset mid-body resumes with Range", func(t *testing.T) fault {
			return func(w http.ResponseWriter, r *http.Request, hit int) bool {
				if hit == 1 {
					hijackAfter(t, w, data, 70_000)
					return true
				}
				return false
			}
		}, []string{"", fmt.Sprintf("bytes=70000-%d", size-1)}, false},
		{"chunked body cut short", func(t *testing.T) fault {
			return func(w http.ResponseWriter, r *http.Request, hit int) bool {
				if hit == 1 {
					w.WriteHeader(http.StatusOK) // no Content-Length: chunked
					_, _ = w.Write(data[:50_000])
					return true
				}
				return false
			}
		}, []string{"", fmt.Sprintf("bytes=50000-%d", size-1)}, false},
		{"206 shorter than asked", func(t *testing.T) fault {
			return func(w http.ResponseWriter, r *http.Request, hit int) bool {
				if hit == 1 {
					w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-9999/%d", size))
					w.Header().Set("Content-Length", "10000")
					w.WriteHeader(http.StatusPartialContent)
					_, _ = w.Write(data[:10000])
					return true
				}
				return false
			}
		}, []string{fmt.Sprintf("bytes=0-%d", size-1), fmt.Sprintf("bytes=10000-%d", size-1)}, true},
		{"503 with Retry-After 0", func(t *testing.T) fault {
			return func(w http.ResponseWriter, r *http.Request, hit int) bool {
				if hit == 1 {
					w.Header().Set("Retry-After", "0")
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return true
				}
				return false
			}
		}, []string{"", ""}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMirrorServer(t, map[string][]byte{debPath: data}, tc.fault(t))
			src, err := NewHTTP([]string{srv.URL}, fastOptions())
			require.NoError(t, err)
			req := whole
			if tc.unsized {
				req.FileSize = -1
			}
			got, _, err := fetchAll(t, src, req)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "wrong bytes")
			if tc.wantRanges != nil {
				assert.Equal(t, tc.wantRanges, srv.rangeHeaders())
			}
		})
	}
}

func TestFetchGivesUp(t *testing.T) {
	srv := newMirrorServer(t, nil, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		http.Error(w, "down", http.StatusBadGateway)
		return true
	})
	opts := fastOptions()
	opts.MaxAttempts = 3
	src, err := NewHTTP([]string{srv.URL}, opts)
	require.NoError(t, err)
	_, _, err = fetchAll(t, src, Request{Path: debPath, Length: 10, FileSize: 10})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "502")
	assert.Equal(t, int64(3), srv.hits.Load())
}

func TestFetchRangeIgnored(t *testing.T) {
	data := randomBytes(3<<20, 3)
	size := int64(len(data))
	ignoreRange := func(w http.ResponseWriter, r *http.Request, hit int) bool {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		_, _ = w.Write(data)
		return true
	}
	t.Run("small skip is read and discarded", func(t *testing.T) {
		srv := newMirrorServer(t, nil, ignoreRange)
		src, err := NewHTTP([]string{srv.URL}, fastOptions())
		require.NoError(t, err)
		req := Request{Path: debPath, Offset: 1000, Length: 5000, FileSize: size}
		got, _, err := fetchAll(t, src, req)
		require.NoError(t, err)
		require.Equal(t, data[1000:6000], got)
		assert.True(t, src.Stats()[0].NoRange)
	})
	t.Run("large skip fails over to a mirror honouring Range", func(t *testing.T) {
		bad := newMirrorServer(t, nil, ignoreRange)
		good := newMirrorServer(t, map[string][]byte{debPath: data}, nil)
		src, err := NewHTTP([]string{bad.URL, good.URL}, fastOptions())
		require.NoError(t, err)
		req := Request{Path: debPath, Offset: 2 << 20, Length: 1000, FileSize: size}
		got, res, err := fetchAll(t, src, req)
		require.NoError(t, err)
		require.Equal(t, data[2<<20:2<<20+1000], got)
		assert.Equal(t, []string{good.URL + "/"}, res.Sources)
		st := src.Stats()
		assert.True(t, st[0].NoRange)
		assert.Less(t, st[0].BytesReceived, int64(2<<20), "must not read the whole unwanted prefix")
		// Next partial fetch goes straight to the good mirror.
		_, res, err = fetchAll(t, src, req)
		require.NoError(t, err)
		assert.Equal(t, []string{good.URL + "/"}, res.Sources)
		assert.Equal(t, int64(1), bad.hits.Load())
	})
	t.Run("only mirror serves whole file and skips", func(t *testing.T) {
		srv := newMirrorServer(t, nil, ignoreRange)
		src, err := NewHTTP([]string{srv.URL}, fastOptions())
		require.NoError(t, err)
		req := Request{Path: debPath, Offset: 2 << 20, Length: 1000, FileSize: size}
		got, _, err := fetchAll(t, src, req)
		require.NoError(t, err)
		require.Equal(t, data[2<<20:2<<20+1000], got)
	})
}

func TestFetchSlowBodyDeadline(t *testing.T) {
	data := randomBytes(100_000, 4)
	release := make(chan struct{})
	defer close(release)
	srv := newMirrorServer(t, nil, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		_, _ = w.Write(data[:1000])
		w.(http.Flusher).Flush()
		select { // stall until the client gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
		return true
	})
	src, err := NewHTTP([]string{srv.URL}, fastOptions())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	res, err := src.Fetch(ctx, Request{Path: debPath, Length: int64(len(data)), FileSize: int64(len(data))}, &buf)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int64(1000), res.Written)
	assert.Equal(t, data[:1000], buf.Bytes())
}

func TestFetchStallRecovers(t *testing.T) {
	data := randomBytes(100_000, 5)
	srv := newMirrorServer(t, map[string][]byte{debPath: data}, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		if hit > 1 {
			return false
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		_, _ = w.Write(data[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // stall until the client's idle timeout drops us
		return true
	})
	opts := fastOptions()
	opts.IdleTimeout = 100 * time.Millisecond
	src, err := NewHTTP([]string{srv.URL}, opts)
	require.NoError(t, err)
	got, _, err := fetchAll(t, src, Request{Path: debPath, Length: int64(len(data)), FileSize: int64(len(data))})
	require.NoError(t, err)
	require.Equal(t, data, got)
	assert.Equal(t, []string{"", "bytes=1000-99999"}, srv.rangeHeaders())
}

func TestFetchRetryAfterSeconds(t *testing.T) {
	data := randomBytes(1000, 6)
	srv := newMirrorServer(t, map[string][]byte{debPath: data}, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		if hit == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	src, err := NewHTTP([]string{srv.URL}, fastOptions())
	require.NoError(t, err)
	got, _, err := fetchAll(t, src, Request{Path: debPath, Length: 1000, FileSize: 1000})
	require.NoError(t, err)
	require.Equal(t, data, got)
	srv.mu.Lock()
	gap := srv.arrived[1].Sub(srv.arrived[0])
	srv.mu.Unlock()
	assert.GreaterOrEqual(t, gap, 900*time.Millisecond, "the retry must honour Retry-After")
}

func TestFetchRetryAfterPastDeadline(t *testing.T) {
	srv := newMirrorServer(t, nil, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "later", http.StatusTooManyRequests)
		return true
	})
	src, err := NewHTTP([]string{srv.URL}, fastOptions())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = src.Fetch(ctx, Request{Path: debPath, Length: 10, FileSize: 10}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "must fail at once rather than sleep")
	assert.Equal(t, int64(1), srv.hits.Load())
}

func TestFetchNotFound(t *testing.T) {
	data := randomBytes(5000, 7)
	gone := newMirrorServer(t, nil, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		http.Error(w, "gone", http.StatusGone)
		return true
	})
	empty := newMirrorServer(t, nil, nil)
	has := newMirrorServer(t, map[string][]byte{debPath: data}, nil)
	req := Request{Path: debPath, Length: 5000, FileSize: 5000}

	src, err := NewHTTP([]string{gone.URL, empty.URL}, fastOptions())
	require.NoError(t, err)
	_, _, err = fetchAll(t, src, req)
	require.ErrorIs(t, err, ErrNotFound)

	src, err = NewHTTP([]string{empty.URL, has.URL}, fastOptions())
	require.NoError(t, err)
	got, res, err := fetchAll(t, src, req)
	require.NoError(t, err)
	require.Equal(t, data, got)
	assert.Equal(t, []string{has.URL + "/"}, res.Sources)
	assert.Equal(t, int64(1), src.Stats()[0].NotFound)
}

func TestFetchFailoverMidBody(t *testing.T) {
	data := randomBytes(400_000, 8)
	size := int64(len(data))
	flaky := newMirrorServer(t, nil, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		if hit == 1 {
			hijackAfter(t, w, data, 123_456)
		} else {
			http.Error(w, "down", http.StatusInternalServerError)
		}
		return true
	})
	good := newMirrorServer(t, map[string][]byte{debPath: data}, nil)
	src, err := NewHTTP([]string{flaky.URL, good.URL}, fastOptions())
	require.NoError(t, err)
	got, res, err := fetchAll(t, src, Request{Path: debPath, Length: size, FileSize: size})
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
	assert.Equal(t, []string{flaky.URL + "/", good.URL + "/"}, res.Sources)
	assert.Equal(t, []string{fmt.Sprintf("bytes=123456-%d", size-1)}, good.rangeHeaders())
	st := src.Stats()
	assert.Equal(t, int64(123_456), st[0].BytesDelivered)
	assert.Equal(t, size-123_456, st[1].BytesDelivered)
	assert.GreaterOrEqual(t, st[0].Failures, int64(1))
}

func TestFetchBadHashAvoidance(t *testing.T) {
	data := randomBytes(2000, 9)
	files := map[string][]byte{debPath: data, "other.deb": data}
	a := newMirrorServer(t, files, nil)
	b := newMirrorServer(t, files, nil)
	src, err := NewHTTP([]string{a.URL, b.URL}, fastOptions())
	require.NoError(t, err)
	req := Request{Path: debPath, Length: 2000, FileSize: 2000}
	_, res, err := fetchAll(t, src, req)
	require.NoError(t, err)
	require.Equal(t, []string{a.URL + "/"}, res.Sources)

	src.BadHash(debPath, res.Sources[0])
	_, res, err = fetchAll(t, src, req)
	require.NoError(t, err)
	assert.Equal(t, []string{b.URL + "/"}, res.Sources, "the mirror that served bad data is avoided for that file")

	_, res, err = fetchAll(t, src, Request{Path: "other.deb", Length: 2000, FileSize: 2000})
	require.NoError(t, err)
	assert.Equal(t, []string{a.URL + "/"}, res.Sources, "but still used for other files")
}

func TestFetchPerHostCap(t *testing.T) {
	const limit, fetches = 2, 6
	data := randomBytes(1000, 10)
	var inflight, peak atomic.Int64
	over := make(chan struct{})
	var overOnce sync.Once
	srv := newMirrorServer(t, map[string][]byte{debPath: data}, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n > limit {
			overOnce.Do(func() { close(over) })
		}
		// Hold the request until the cap is broken or a while has passed, so
		// that without a cap every fetch would be in flight at once.
		select {
		case <-over:
		case <-time.After(150 * time.Millisecond):
		}
		return false
	})
	opts := fastOptions()
	opts.PerHost = limit
	// A client whose transport has no per-host limit of its own: the cap
	// must come from the source.
	opts.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	src, err := NewHTTP([]string{srv.URL}, opts)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, fetches)
	for range fetches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := fetchAll(t, src, Request{Path: debPath, Length: 1000, FileSize: 1000})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(limit), peak.Load())
}

func TestFetchWriterErrorStops(t *testing.T) {
	data := randomBytes(300_000, 11)
	srv := newMirrorServer(t, map[string][]byte{debPath: data}, nil)
	src, err := NewHTTP([]string{srv.URL}, fastOptions())
	require.NoError(t, err)
	boom := errors.New("disk full")
	_, err = src.Fetch(context.Background(), Request{Path: debPath, Length: 300_000, FileSize: 300_000}, failingWriter{boom})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, int64(1), srv.hits.Load(), "a writer error is not retried")
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestPathEscaping(t *testing.T) {
	files := map[string][]byte{
		"pool/main/g/g++-12/g++-12_12.2.0-14+deb12u1_amd64.deb": []byte("gpp"),
		"pool/main/x/x/x_1.0~rc1 with space%.deb":               []byte("odd"),
	}
	srv := newMirrorServer(t, files, nil)
	src, err := NewHTTP([]string{srv.URL + "/"}, fastOptions())
	require.NoError(t, err)
	for p, want := range files {
		got, _, err := fetchAll(t, src, Request{Path: p, Length: int64(len(want)), FileSize: int64(len(want))})
		require.NoError(t, err, p)
		require.Equal(t, want, got)
	}
	assert.ElementsMatch(t, []string{
		"/pool/main/g/g++-12/g++-12_12.2.0-14+deb12u1_amd64.deb",
		"/pool/main/x/x/x_1.0~rc1%20with%20space%25.deb",
	}, srv.requestPaths())
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.value != "" {
			h.Set("Retry-After", tc.value)
		}
		got, ok := parseRetryAfter(h, now)
		assert.Equal(t, tc.ok, ok, tc.value)
		assert.Equal(t, tc.want, got, tc.value)
	}
}

func TestBackoffBounds(t *testing.T) {
	base, maxWait := 100*time.Millisecond, time.Second
	for n := 1; n <= 10; n++ {
		step := min(base<<(n-1), maxWait)
		for range 20 {
			d := backoff(n, base, maxWait)
			assert.GreaterOrEqual(t, d, step/2)
			assert.LessOrEqual(t, d, step)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in          string
		first, last int64
		ok          bool
	}{
		{"bytes 0-99/1000", 0, 99, true},
		{"bytes 5-5/*", 5, 5, true},
		{"bytes 9-5/10", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes 0-1", 0, 0, false},
		{"bytes x-1/2", 0, 0, false},
	}
	for _, tc := range tests {
		f, l, err := parseContentRange(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, [2]int64{tc.first, tc.last}, [2]int64{f, l})
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	data := randomBytes(100_000, 12)
	srv := newMirrorServer(t, map[string][]byte{debPath: data}, func(w http.ResponseWriter, r *http.Request, hit int) bool {
		if hit == 1 {
			hijackAfter(t, w, data, 5000)
			return true
		}
		return false
	})
	src, err := NewHTTP([]string{srv.URL}, fastOptions())
	require.NoError(t, err)
	for range 3 {
		_, _, err := fetchAll(t, src, Request{Path: debPath, Length: 100_000, FileSize: 100_000})
		require.NoError(t, err)
	}
	src.Close()
	srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left behind")
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/1000", "bytes 5-5/*", "bytes 100-50/10", "bytes -1-2/3", "", "bytes 99999999999999999999-1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, last, err := parseContentRange(s)
		if err == nil && (first < 0 || last < first) {
			t.Fatalf("%q accepted as %d-%d", s, first, last)
		}
	})
}
