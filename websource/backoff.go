package websource

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// backoff returns the wait before retrying a mirror after its n-th consecutive
// failure (n >= 1): exponential from base, capped at maxWait, with "full
// jitter" (a uniform draw between half the step and the step) so that many
// fetches retrying at once spread out.
func backoff(n int, base, maxWait time.Duration) time.Duration {
	if n < 1 {
		return 0
	}
	step := base
	for i := 1; i < n && step < maxWait; i++ {
		step *= 2
	}
	step = min(step, maxWait)
	if step <= 1 {
		return step
	}
	half := step / 2
	return half + rand.N(step-half+1)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3). It returns false for a missing or malformed value. A
// date in the past gives 0.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(365 * 24 * 3600)
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// sleepCtx waits for d or until ctx ends. It refuses outright to start a wait
// that would run past ctx's deadline: there is no point sleeping only to fail.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("waiting %v to retry would pass the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
