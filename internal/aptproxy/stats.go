package aptproxy

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// recentMax is how many recent requests the status pages list.
const recentMax = 50

// RequestLog is one answered request, for the status pages.
type RequestLog struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	URL      string    `json:"url"`
	Status   int       `json:"status"`
	Bytes    int64     `json:"bytes"`
	Source   string    `json:"source"`
	Duration float64   `json:"duration_seconds"`
}

// stats counts what the Server did.
type stats struct {
	requests    atomic.Int64
	errors      atomic.Int64
	bytesServed atomic.Int64
	debs        sync.Map // source → *atomic.Int64

	mu     sync.Mutex
	recent []RequestLog
	next   int
}

func newStats() *stats { return &stats{} }

func (st *stats) record(r *http.Request, resp *pipeline.Response, source string, d time.Duration) {
	st.requests.Add(1)
	if resp.Status >= 400 {
		st.errors.Add(1)
	}
	n := resp.ContentLength
	if r.Method == http.MethodHead || n < 0 {
		n = 0
	}
	st.bytesServed.Add(n)
	if source == "self" {
		return
	}
	l := RequestLog{Time: time.Now().UTC(), Method: r.Method, URL: r.URL.String(), Status: resp.Status, Bytes: n, Source: source, Duration: d.Seconds()}
	st.mu.Lock()
	if len(st.recent) < recentMax {
		st.recent = append(st.recent, l)
	} else {
		st.recent[st.next] = l
	}
	st.next = (st.next + 1) % recentMax
	st.mu.Unlock()
}

func (st *stats) debServed(source string) {
	v, _ := st.debs.LoadOrStore(source, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// recentLogs returns the recent requests, newest first.
func (st *stats) recentLogs() []RequestLog {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]RequestLog, 0, len(st.recent))
	for i := range len(st.recent) {
		j := (st.next - 1 - i + 2*recentMax) % recentMax
		if j < len(st.recent) {
			out = append(out, st.recent[j])
		}
	}
	return out
}
