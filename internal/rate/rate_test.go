package rate

import (
	"math"
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	tests := []struct {
		name  string
		adds  []struct{ at, n int64 } // seconds after t0, bytes
		at    int64
		want  float64
		total int64
	}{
		{name: "empty", at: 5, want: 0},
		{name: "young meter averages over its age", adds: []struct{ at, n int64 }{{0, 1000}, {1, 1000}}, at: 1, want: 1000, total: 2000},
		{name: "steady over the window", adds: steady(40, 500), at: 39, want: 500, total: 20000},
		{name: "old traffic is forgotten", adds: []struct{ at, n int64 }{{0, 1 << 20}}, at: 100, want: 0, total: 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMeter(20 * time.Second)
			for _, a := range tt.adds {
				m.Add(a.n, t0.Add(time.Duration(a.at)*time.Second))
			}
			if got := m.Rate(t0.Add(time.Duration(tt.at) * time.Second)); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("Rate = %v, want %v", got, tt.want)
			}
			if m.Total() != tt.total {
				t.Fatalf("Total = %d, want %d", m.Total(), tt.total)
			}
		})
	}
}

func steady(seconds int, perSecond int64) []struct{ at, n int64 } {
	out := make([]struct{ at, n int64 }, seconds)
	for i := range out {
		out[i].at, out[i].n = int64(i), perSecond
	}
	return out
}
