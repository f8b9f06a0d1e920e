package debtorrent_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/websource"
)

// pacedWriter writes at most rate bytes per second since its start.
type pacedWriter struct {
	http.ResponseWriter
	ctx   context.Context
	rate  float64
	start time.Time
	n     int64
}

func (w *pacedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), 16<<10)
		n, err := w.ResponseWriter.Write(p[:k])
		written += n
		w.n += int64(n)
		if err != nil {
			return written, err
		}
		p = p[k:]
		due := w.start.Add(time.Duration(float64(w.n) / w.rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-w.ctx.Done():
				t.Stop()
				return written, w.ctx.Err()
			}
		}
	}
	return written, nil
}

// The hand-over rule with a peer 10 % slower than the mirror: with a far
// deadline (or one already passed) the peer keeps the piece, as the
// hysteresis says; when the peer would miss the deadline and the mirror
// would not, the mirror takes the rest.
func TestHandOverDeadline(t *testing.T) {
	const mirrorRate = 1 << 20
	const peerRate = mirrorRate / 1.1
	rng := rand.New(rand.NewPCG(31, 31))
	deb := make([]byte, 2<<20)
	for i := range deb {
		deb[i] = byte(rng.Uint32())
	}
	path := "pool/main/h/handover/handover_1_amd64.deb"
	s := debSet{debs: map[string][]byte{path: deb}, order: []string{path}}
	s.info = debInfo(t, "handover", s.debs, s.order)

	for _, tc := range []struct {
		name     string
		deadline time.Duration // from when the wait starts
		toWeb    bool
	}{
		{"far deadline: hysteresis keeps the peer", time.Minute, false},
		{"peer would miss the deadline: the mirror takes over", 1500 * time.Millisecond, true},
		{"passed deadline: hysteresis keeps the peer", -time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				data, ok := s.debs[strings.TrimPrefix(r.URL.Path, "/")]
				if !ok {
					http.NotFound(w, r)
					return
				}
				pw := &pacedWriter{ResponseWriter: w, ctx: r.Context(), rate: mirrorRate, start: time.Now()}
				http.ServeContent(pw, r, "", time.Time{}, bytes.NewReader(data))
			}))
			defer srv.Close()
			src, err := websource.NewHTTP([]string{srv.URL}, websource.Options{})
			require.NoError(t, err)
			defer src.Close()
			c, _ := newClient(t, func(cfg *debtorrent.Config) {
				cfg.Web.NormalDelay = -1
				cfg.Web.AssumedRate = mirrorRate
				cfg.Web.AssumedLatency = 50 * time.Millisecond
			})
			tr, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: src})
			require.NoError(t, err)
			seed := dialRawHave(t, c.Addr().String(), s.info, 0, peerwire.HaveAll)
			seed.serveSeed([][]byte{deb}, peerRate)
			ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
			defer cancel()
			require.NoError(t, tr.WaitFor(ctx, func(ts debtorrent.TorrentStats) bool { return ts.Peers == 1 }))
			for tr.Availability(0) == 0 {
				select {
				case <-tr.Changed():
				case <-ctx.Done():
					t.Fatal("the peer's have-all never arrived")
				}
			}

			r, err := tr.ReadPiece(ctx, 0, debtorrent.WithDeadline(time.Now().Add(tc.deadline)))
			require.NoError(t, err)
			got := make([]byte, len(deb))
			_, err = r.ReadAt(got, 0)
			require.NoError(t, err)
			r.Close()
			require.Equal(t, deb, got)
			st := tr.Stats()
			require.Equal(t, int64(len(deb)), st.BytesFromPeers+st.BytesFromWeb, "every byte kept once")
			if tc.toWeb {
				require.Positive(t, st.BytesFromWeb, "the mirror took over")
			} else {
				require.Zero(t, st.BytesFromWeb, "the peer kept the piece")
			}
		})
	}
}
