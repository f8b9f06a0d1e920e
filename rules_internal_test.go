package debtorrent

import (
	"github.com/debtorrent/debtorrent/piecepicker"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestQueueDepth(t *testing.T) {
	const block = 16 << 10
	tests := []struct {
		name      string
		rate      float64
		rtt       time.Duration
		queueTime time.Duration
		reqq      int
		want      int
	}{
		{"unknown rate starts at the initial depth", 0, 0, time.Second, 0, initialQueueDepth},
		{"slow peer keeps the minimum", 10 << 10, 50 * time.Millisecond, time.Second, 0, minQueueDepth},
		{"1 MiB/s over 1 s", 1 << 20, 0, time.Second, 0, 64},
		{"round trip adds to the queue", 1 << 20, time.Second, time.Second, 0, 128},
		{"fast peer is capped", 500 << 20, time.Millisecond, time.Second, 0, maxQueueDepth},
		{"never above the peer's reqq", 500 << 20, time.Millisecond, time.Second, 250, 250},
		{"reqq below the minimum wins", 500 << 20, time.Millisecond, time.Second, 2, 2},
		{"8 MiB/s, 100 ms rtt, 500 ms queue", 8 << 20, 100 * time.Millisecond, 500 * time.Millisecond, 0, int((8<<20)*6/10/block) + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, queueDepth(tt.rate, tt.rtt, tt.queueTime, tt.reqq))
		})
	}
}

func TestHandOver(t *testing.T) {
	cfg := WebConfig{}.withDefaults() // grace 500 ms, hysteresis 1.5
	const mb = 1 << 20
	tests := []struct {
		name      string
		elapsed   time.Duration
		remaining int64
		peerBytes int64
		webRate   float64
		latency   time.Duration
		timeLeft  time.Duration
		want      bool
	}{
		{"nothing left", time.Second, 0, 0, 10 * mb, 0, 0, false},
		{"peers silent within grace", 100 * time.Millisecond, mb, 0, 10 * mb, 0, 0, false},
		{"peers silent past grace", 600 * time.Millisecond, mb, 0, 10 * mb, 0, 0, true},
		// Peers at 1 MB/s need 9 s for 9 MB; the mirror at 10 MB/s needs
		// 1 s: hand over.
		{"peers much slower than the mirror", time.Second, 9 * mb, mb, 10 * mb, 100 * time.Millisecond, 0, true},
		// Peers at 10 MB/s, the mirror at 8 MB/s: keep the peers.
		{"peers faster than the mirror", time.Second, 9 * mb, 10 * mb, 8 * mb, 0, 0, false},
		// Peers at 5 MB/s (2 s), mirror 1.6 s: within the hysteresis.
		{"peers a little slower: hysteresis keeps them", time.Second, 10 * mb, 5 * mb, 10 * mb, 600 * time.Millisecond, 0, false},
		// The same, but the peers (2 s) would miss a 1.8 s deadline that
		// the mirror (1.6 s) meets.
		{"peers would miss the deadline", time.Second, 10 * mb, 5 * mb, 10 * mb, 600 * time.Millisecond, 1800 * time.Millisecond, true},
		// Both miss a 1 s deadline; the mirror is still sooner.
		{"both late: the sooner wins", time.Second, 10 * mb, 5 * mb, 10 * mb, 600 * time.Millisecond, time.Second, true},
		// The peers meet the deadline: no need for the mirror.
		{"peers meet the deadline", time.Second, 10 * mb, 5 * mb, 10 * mb, 600 * time.Millisecond, 3 * time.Second, false},
		// Peers 10 % slower than the mirror (1.1 s against 1 s): the
		// hysteresis keeps them, with no deadline or a far one...
		{"peers 10% slower, no deadline", time.Second, mb, mb * 10 / 11, mb, 0, 0, false},
		{"peers 10% slower, far deadline", time.Second, mb, mb * 10 / 11, mb, 0, time.Minute, false},
		// ...but not when they would miss a deadline the mirror meets.
		{"peers 10% slower miss the deadline", time.Second, mb, mb * 10 / 11, mb, 0, 1050 * time.Millisecond, true},
		// Latency counts: a far mirror with a fast pipe loses small pieces.
		{"mirror latency dominates a small remainder", time.Second, 100 << 10, 50 << 10, 100 * mb, 3 * time.Second, time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, handOver(tt.elapsed, tt.remaining, tt.peerBytes, tt.webRate, tt.latency, tt.timeLeft, cfg))
		})
	}
}

// A deadline already passed does not switch the hysteresis off: it gives no
// time left (no deadline rule) rather than almost none.
func TestTimeLeft(t *testing.T) {
	now := time.Unix(1000, 0)
	cfg := WebConfig{}.withDefaults()
	const mb = 1 << 20
	tests := []struct {
		name     string
		deadline time.Time
		want     time.Duration
	}{
		{"none", time.Time{}, 0},
		{"passed", now.Add(-time.Second), 0},
		{"now", now, 0},
		{"ahead", now.Add(3 * time.Second), 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			left := timeLeft(tt.deadline, now)
			assert.Equal(t, tt.want, left)
			if tt.want == 0 {
				assert.False(t, handOver(time.Second, mb, mb*10/11, mb, 0, left, cfg),
					"a peer 10%% slower keeps the piece")
			}
		})
	}
}

func TestBlocksOf(t *testing.T) {
	got := blocksOf(pieceRun(3, 16<<10, 40<<10), 56<<10)
	assert.Equal(t, []int64{16 << 10, 32 << 10, 48 << 10}, []int64{got[0].Begin, got[1].Begin, got[2].Begin})
	assert.Equal(t, int64(8<<10), got[2].Length, "the piece's last block is short")
	for _, r := range got {
		assert.Equal(t, 3, r.Piece)
	}
}

func pieceRun(piece int, begin, length int64) piecepicker.Request {
	return piecepicker.Request{Piece: piece, Begin: begin, Length: length}
}
