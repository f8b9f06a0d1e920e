package aptproxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/png"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for stats.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestStats(start time.Time) (*stats, *fakeClock) {
	st := newStats()
	c := &fakeClock{t: start}
	st.now = c.now
	return st, c
}

func answer(st *stats, method string, status int, n int64, source string) {
	r, _ := http.NewRequest(method, "http://proxy/test/debian/x", nil)
	st.record(r, &pipeline.Response{Status: status, ContentLength: n}, source, time.Millisecond)
}

func TestStatsSamplesRing(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 2, 0, time.Local)
	st, clock := newTestStats(start)
	answer(st, "GET", 200, 1000, "mirror")
	st.debBytes(BytesFromMirror, 1000)
	clock.t = start.Add(SampleInterval)
	answer(st, "GET", 200, 500, "peers")
	st.debBytes(BytesFromPeers, 400)
	answer(st, "HEAD", 200, 9999, "peers") // HEAD: no body bytes
	answer(st, "GET", 200, 7777, "self")   // the status pages are not traffic

	snap := st.snapshot()
	require.Len(t, snap.samples, SampleCount)
	last, prev := snap.samples[SampleCount-1], snap.samples[SampleCount-2]
	assert.Equal(t, Sample{Start: start.Add(SampleInterval).Truncate(SampleInterval).UTC(), Served: 500, Peers: 400}, last)
	assert.Equal(t, Sample{Start: start.Truncate(SampleInterval).UTC(), Served: 1000, Mirror: 1000}, prev)
	for i := 1; i < SampleCount; i++ {
		require.Equal(t, SampleInterval, snap.samples[i].Start.Sub(snap.samples[i-1].Start), "samples are consecutive intervals")
	}
	assert.Equal(t, int64(1500), snap.todayBytes)
	assert.Equal(t, map[string]int64{"200": 4}, snap.codes)
	assert.Equal(t, map[string]int64{"mirror": 1000, "peers": 400}, snap.debBytes)

	// The ring wraps: SampleCount intervals later the old slots read zero,
	// not the old figures.
	clock.t = start.Add((SampleCount + 1) * SampleInterval)
	snap = st.snapshot()
	for _, s := range snap.samples {
		assert.Zero(t, s.Served+s.Peers+s.Mirror, "sample at %s kept figures older than the window", s.Start)
	}
	answer(st, "GET", 200, 10, "index")
	assert.Equal(t, int64(10), st.snapshot().samples[SampleCount-1].Served, "a reused slot starts from zero")
}

func TestStatsToday(t *testing.T) {
	day := time.Date(2026, 5, 1, 23, 59, 50, 0, time.Local)
	st, clock := newTestStats(day)
	answer(st, "GET", 200, 100, "index")
	assert.Equal(t, int64(100), st.snapshot().todayBytes)
	clock.t = day.Add(20 * time.Second) // past local midnight
	assert.Zero(t, st.snapshot().todayBytes, "a new day starts at zero even before traffic")
	answer(st, "GET", 200, 7, "index")
	snap := st.snapshot()
	assert.Equal(t, int64(7), snap.todayBytes)
	assert.Equal(t, int64(107), st.bytesServed.Load())
	assert.Equal(t, int64(107), snap.indexBytes)
}

func TestStatsRates(t *testing.T) {
	samples := make([]Sample, SampleCount)
	n := int(RateWindow / SampleInterval)
	for i := SampleCount - 1 - n; i < SampleCount-1; i++ {
		samples[i] = Sample{Served: 5000, Peers: 1000, Mirror: 500}
	}
	samples[SampleCount-1] = Sample{Served: 1 << 40}   // running interval: left out
	samples[SampleCount-2-n] = Sample{Served: 1 << 40} // before the window
	served, peers, mirror := rates(samples)
	assert.InDelta(t, 1000, served, 1e-9)
	assert.InDelta(t, 200, peers, 1e-9)
	assert.InDelta(t, 100, mirror, 1e-9)
}

func TestMirrorStates(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := t0
	m := newMirrorStates(slog.New(slog.DiscardHandler))
	m.now = func() time.Time { return clock }
	assert.Equal(t, MirrorState{Name: "deb"}, m.get("deb"), "nothing asked yet")
	m.note("deb", nil)
	clock = t0.Add(time.Minute)
	m.note("deb", nil)
	assert.Equal(t, MirrorState{Name: "deb", State: MirrorUp, Since: t0}, m.get("deb"), "Since moves only when the state changes")
	clock = t0.Add(2 * time.Minute)
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	m.note("deb", refused)
	assert.Equal(t, MirrorState{Name: "deb", State: MirrorDown, LastError: "dial tcp: connect: connection refused", Since: t0.Add(2 * time.Minute)}, m.get("deb"))
	m.note("deb", &indexcache.StatusError{Status: 500})
	assert.Equal(t, MirrorUp, m.get("deb").State, "any HTTP answer means it is reachable")
	assert.Equal(t, "dial tcp: connect: connection refused", m.get("deb").LastError, "the last failure stays visible")
}

func TestRecentNewestFirst(t *testing.T) {
	st, _ := newTestStats(time.Now())
	for i := range recentMax + 5 {
		answer(st, "GET", 200+i, 1, "index")
	}
	got := st.recentLogs()
	require.Len(t, got, recentMax)
	assert.Equal(t, 200+recentMax+4, got[0].Status)
	assert.Equal(t, 205, got[recentMax-1].Status)
}

func TestFaviconServedNotAnError(t *testing.T) {
	_, mirror := startStatusMirror(t)
	p := startStatusProxy(t, "http://"+mirror.Addr()+"/", nil)
	st, h, body := statusGet(t, &http.Client{}, "http://"+p.Addr+"/favicon.ico")
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "image/x-icon", h.Get("Content-Type"))
	b := []byte(body)
	require.Greater(t, len(b), 22)
	assert.Equal(t, []uint16{0, 1, 1}, []uint16{binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]), binary.LittleEndian.Uint16(b[4:])}, "ICO header, one image")
	off := binary.LittleEndian.Uint32(b[18:])
	size := binary.LittleEndian.Uint32(b[14:])
	require.Equal(t, uint32(len(b)), off+size)
	img, err := png.Decode(bytes.NewReader(b[off:]))
	require.NoError(t, err)
	assert.Equal(t, 16, img.Bounds().Dx())
	s := p.Status()
	assert.Zero(t, s.Errors)
	assert.Empty(t, s.Recent, "the proxy's own pages are not listed as requests")
}
