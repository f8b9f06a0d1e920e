// Package ratelimit is a token bucket that paces transfers to a configured
// number of bytes per second.
//
// A nil *Limiter, or one with a zero rate, never waits, so "no limit" needs no
// special case at the call site. A Limiter is safe for concurrent use.
package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter hands out bytes at Rate per second with bursts up to Burst.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // bytes per second; 0 means unlimited
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// New returns a limiter of bytesPerSecond with a burst of one second's worth
// (at least 64 KiB, so a whole block always fits). bytesPerSecond ≤ 0 means
// unlimited.
func New(bytesPerSecond int64) *Limiter {
	l := &Limiter{now: time.Now}
	l.SetRate(bytesPerSecond)
	return l
}

// SetRate changes the rate; ≤ 0 removes the limit.
func (l *Limiter) SetRate(bytesPerSecond int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if bytesPerSecond <= 0 {
		l.rate, l.burst = 0, 0
		return
	}
	l.rate = float64(bytesPerSecond)
	l.burst = max(l.rate, 64<<10)
	l.tokens = min(l.tokens, l.burst)
}

// reserve takes n bytes at time now and returns how long the caller must wait
// before using them. Debt is allowed, so a large n is paced, never refused.
func (l *Limiter) reserve(n int64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate == 0 {
		return 0
	}
	if l.last.IsZero() {
		l.tokens = l.burst
	} else if el := now.Sub(l.last).Seconds(); el > 0 {
		l.tokens = min(l.burst, l.tokens+el*l.rate)
	}
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// Wait blocks until n bytes may pass, or ctx ends.
func (l *Limiter) Wait(ctx context.Context, n int64) error {
	if l == nil {
		return nil
	}
	d := l.reserve(n, l.now())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ratelimit: waiting for %d bytes: %w", n, ctx.Err())
	}
}
