package aptproxy

import (
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// recentMax is how many recent requests the status pages list.
const recentMax = 50

// Throughput samples: one per SampleInterval, the last SampleCount kept
// (15 minutes), for the dashboard's chart.
const (
	SampleInterval = 5 * time.Second
	SampleCount    = 180
)

// Deb byte sources counted by debBytes: where the bytes of a served .deb
// came from.
const (
	BytesFromPeers  = "peers"  // fetched from other machines (BitTorrent)
	BytesFromMirror = "mirror" // fetched from a mirror
	BytesFromCache  = "cache"  // already in the store when asked for
)

// RequestLog is one answered request, for the status pages.
type RequestLog struct {
	// Time is when the answer was ready (UTC; the dashboard shows it in
	// the browser's local time).
	Time time.Time `json:"time"`
	// Method is GET or HEAD (or what was refused).
	Method string `json:"method"`
	// URL is the request's URL as APT sent it.
	URL string `json:"url"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// Bytes is the body length answered (0 for HEAD).
	Bytes int64 `json:"bytes"`
	// Source says where the answer came from: cache, peers, mirror, mixed,
	// unlisted, index, refused, self or error (other values are shown as
	// they are).
	Source string `json:"source"`
	// Duration is the time to the answer's head, in seconds.
	Duration float64 `json:"duration_seconds"`
}

// Sample is one SampleInterval of traffic, for the throughput chart.
type Sample struct {
	// Start is the start of the interval.
	Start time.Time `json:"start"`
	// Served counts body bytes answered to APT.
	Served int64 `json:"served"`
	// Peers and Mirror count .deb bytes brought in from peers and from
	// mirrors (debBytes).
	Peers  int64 `json:"peers"`
	Mirror int64 `json:"mirror"`
}

// stats counts what the Server did. Every method is safe for concurrent
// use; nothing returned shares memory with stats.
type stats struct {
	requests    atomic.Int64
	errors      atomic.Int64
	bytesServed atomic.Int64
	debs        sync.Map // source → *atomic.Int64 (packages)

	mu         sync.Mutex
	recent     []RequestLog
	next       int
	codes      map[int]int64
	debBytesBy map[string]int64
	day        string // local date of todayBytes, "2006-01-02"
	todayBytes int64
	indexBytes int64
	samples    [SampleCount]Sample // ring, indexed by interval number
	cacheFn    func() (capBytes, evictions int64)
	now        func() time.Time
}

func newStats() *stats {
	return &stats{codes: map[int]int64{}, debBytesBy: map[string]int64{}, now: time.Now}
}

// sampleLocked returns the ring slot of time t, reset if it held an older
// interval. Caller holds mu.
func (st *stats) sampleLocked(t time.Time) *Sample {
	start := t.Truncate(SampleInterval)
	n := start.UnixNano() / int64(SampleInterval)
	s := &st.samples[int(n%SampleCount)]
	if !s.Start.Equal(start) {
		*s = Sample{Start: start}
	}
	return s
}

// record counts one answered request. Its bytes are counted when the
// answer's head is ready (the body is streamed after). Requests to the
// proxy itself ("self": the dashboard, /status.json, /metrics) count as
// requests but not as bytes served nor as recent requests.
func (st *stats) record(r *http.Request, resp *pipeline.Response, source string, d time.Duration) {
	st.requests.Add(1)
	if resp.Status >= 400 {
		st.errors.Add(1)
	}
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.codes[resp.Status]++
	if source == "self" {
		return
	}
	n := resp.ContentLength
	if r.Method == http.MethodHead || n < 0 {
		n = 0
	}
	st.bytesServed.Add(n)
	if source == "index" {
		st.indexBytes += n
	}
	if day := now.Local().Format(time.DateOnly); day != st.day {
		st.day, st.todayBytes = day, 0
	}
	st.todayBytes += n
	st.sampleLocked(now).Served += n
	l := RequestLog{Time: now.UTC(), Method: r.Method, URL: r.URL.String(), Status: resp.Status, Bytes: n, Source: source, Duration: d.Seconds()}
	if len(st.recent) < recentMax {
		st.recent = append(st.recent, l)
	} else {
		st.recent[st.next] = l
	}
	st.next = (st.next + 1) % recentMax
}

// debServed counts one .deb answered, by the request's source label.
func (st *stats) debServed(source string) {
	v, _ := st.debs.LoadOrStore(source, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// debBytes counts n bytes of a served .deb by where they came from:
// BytesFromPeers, BytesFromMirror or BytesFromCache (other labels are
// counted too and shown as they are). A .deb that came partly from peers
// and partly from the mirror is counted with two calls. The request path
// calls it once per answered .deb (GET only, not HEAD).
func (st *stats) debBytes(source string, n int64) {
	if n <= 0 {
		return
	}
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.debBytesBy[source] += n
	s := st.sampleLocked(now)
	switch source {
	case BytesFromPeers:
		s.Peers += n
	case BytesFromMirror:
		s.Mirror += n
	}
}

// setCacheStats keeps f for cacheStats.
func (st *stats) setCacheStats(f func() (capBytes, evictions int64)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.cacheFn = f
}

// cacheStats calls the function setCacheStats kept (zeros without one).
func (st *stats) cacheStats() (capBytes, evictions int64) {
	st.mu.Lock()
	f := st.cacheFn
	st.mu.Unlock()
	if f == nil {
		return 0, 0
	}
	return f()
}

// snapshot is the part of Status that stats keeps.
type statsSnapshot struct {
	todayBytes int64
	indexBytes int64
	codes      map[string]int64
	debBytes   map[string]int64
	samples    []Sample
	recent     []RequestLog
}

// snapshot copies the counters: samples oldest first, SampleCount of them
// ending with the current interval (missing intervals are zero), recent
// requests newest first.
func (st *stats) snapshot() statsSnapshot {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	out := statsSnapshot{indexBytes: st.indexBytes, codes: map[string]int64{}, debBytes: map[string]int64{}}
	if st.day == now.Local().Format(time.DateOnly) {
		out.todayBytes = st.todayBytes
	}
	for c, n := range st.codes {
		out.codes[strconv.Itoa(c)] = n
	}
	for k, n := range st.debBytesBy {
		out.debBytes[k] = n
	}
	cur := now.Truncate(SampleInterval)
	out.samples = make([]Sample, SampleCount)
	for i := range SampleCount {
		start := cur.Add(-time.Duration(SampleCount-1-i) * SampleInterval)
		n := start.UnixNano() / int64(SampleInterval)
		s := st.samples[int(n%SampleCount)]
		if !s.Start.Equal(start) {
			s = Sample{Start: start}
		}
		s.Start = s.Start.UTC()
		out.samples[i] = s
	}
	out.recent = make([]RequestLog, 0, len(st.recent))
	for i := range len(st.recent) {
		j := (st.next - 1 - i + 2*recentMax) % recentMax
		if j < len(st.recent) {
			out.recent = append(out.recent, st.recent[j])
		}
	}
	return out
}

// recentLogs returns the recent requests, newest first.
func (st *stats) recentLogs() []RequestLog { return st.snapshot().recent }

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
