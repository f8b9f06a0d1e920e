package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReserve(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := New(100 << 10) // 100 KiB/s, burst 100 KiB
	steps := []struct {
		at   time.Duration
		n    int64
		wait time.Duration
	}{
		{0, 100 << 10, 0},                                     // the burst is free
		{0, 50 << 10, 500 * time.Millisecond},                 // then debt is paced
		{500 * time.Millisecond, 0, 0},                        // debt repaid
		{1500 * time.Millisecond, 100 << 10, 0},               // refilled to the burst, not beyond
		{1500 * time.Millisecond, 100 << 10, 1 * time.Second}, // a full second of debt
	}
	for i, s := range steps {
		if got := l.reserve(s.n, t0.Add(s.at)); got != s.wait {
			t.Fatalf("step %d: wait %v, want %v", i, got, s.wait)
		}
	}
}

func TestUnlimited(t *testing.T) {
	var nilLimiter *Limiter
	if err := nilLimiter.Wait(context.Background(), 1<<40); err != nil {
		t.Fatal(err)
	}
	if d := New(0).reserve(1<<40, time.Now()); d != 0 {
		t.Fatalf("unlimited limiter asked to wait %v", d)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	l := New(1024)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.reserve(64<<10, time.Now()) // drain the burst
	err := l.Wait(ctx, 1<<20)     // would take about 1000 s
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
}
