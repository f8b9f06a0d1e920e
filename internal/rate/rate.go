// Package rate measures transfer rates: bytes per second over a recent window,
// as the choker and the request-queue sizing need them.
//
// A Meter keeps one counter per second over a fixed window (20 s by default),
// so a rate reflects recent traffic and forgets old bursts. Time is passed in
// by the caller, which keeps the meter deterministic in tests. A Meter is safe
// for concurrent use.
package rate

import (
	"sync"
	"time"
)

// DefaultWindow is the span a Meter averages over when none is given.
const DefaultWindow = 20 * time.Second

// Meter counts bytes per second over a sliding window.
type Meter struct {
	mu      sync.Mutex
	buckets []int64 // bytes in each second of the window, as a ring
	head    int64   // the Unix second that buckets[head%len] counts
	total   int64   // bytes ever added
	start   time.Time
}

// NewMeter returns a meter that averages over window (rounded up to whole
// seconds; DefaultWindow when zero or negative).
func NewMeter(window time.Duration) *Meter {
	if window <= 0 {
		window = DefaultWindow
	}
	n := int((window + time.Second - 1) / time.Second)
	return &Meter{buckets: make([]int64, n)}
}

// Add records n bytes transferred at time now.
func (m *Meter) Add(n int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.start.IsZero() {
		m.start = now
	}
	m.advance(now.Unix())
	m.buckets[m.head%int64(len(m.buckets))] += n
	m.total += n
}

// Rate returns the average bytes per second over the window ending at now.
// While the meter is younger than its window, it averages over its age (at
// least one second), so a new fast peer is not mistaken for a slow one.
func (m *Meter) Rate(now time.Time) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.start.IsZero() {
		return 0
	}
	m.advance(now.Unix())
	var sum int64
	for _, b := range m.buckets {
		sum += b
	}
	span := float64(len(m.buckets))
	if age := now.Sub(m.start).Seconds() + 1; age < span {
		span = max(age, 1)
	}
	return float64(sum) / span
}

// Total returns every byte ever added.
func (m *Meter) Total() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// advance moves the ring forward to second sec, zeroing the seconds skipped.
// The caller holds mu.
func (m *Meter) advance(sec int64) {
	if m.head == 0 {
		m.head = sec
		return
	}
	if sec <= m.head {
		return
	}
	n := int64(len(m.buckets))
	if sec-m.head >= n {
		clear(m.buckets)
	} else {
		for s := m.head + 1; s <= sec; s++ {
			m.buckets[s%n] = 0
		}
	}
	m.head = sec
}
