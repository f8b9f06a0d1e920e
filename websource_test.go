package debtorrent_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
)

// debSet is a Debian torrent over pseudo-random packages.
type debSet struct {
	info  *metainfo.Info
	debs  map[string][]byte
	order []string
}

func makeDebs(t testing.TB, n int, seed uint64) debSet {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	s := debSet{debs: map[string][]byte{}}
	for i := range n {
		p := fmt.Sprintf("pool/main/p/pkg%d/pkg%d_1.0_amd64.deb", i, i)
		data := make([]byte, 20_000+rng.IntN(300_000))
		for k := range data {
			data[k] = byte(rng.Uint32())
		}
		s.debs[p] = data
		s.order = append(s.order, p)
	}
	s.info = debInfo(t, "debs", s.debs, s.order)
	return s
}

// mirror serves the packages over HTTP and counts what it sent per path. A
// non-nil fail decides, per request, to answer 500 or to reset the connection.
type mirror struct {
	srv   *httptest.Server
	mu    sync.Mutex
	sent  map[string]int64
	fails atomic.Int64
}

func newMirror(t testing.TB, debs map[string][]byte, fail func(n int64) string) *mirror {
	m := &mirror{sent: map[string]int64{}}
	var reqs atomic.Int64
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := reqs.Add(1)
		if fail != nil {
			switch fail(n) {
			case "500":
				m.fails.Add(1)
				http.Error(w, "broken mirror", http.StatusInternalServerError)
				return
			case "reset":
				m.fails.Add(1)
				if hj, ok := w.(http.Hijacker); ok {
					c, _, err := hj.Hijack()
					if err == nil {
						c.Close()
					}
				}
				return
			}
		}
		data, ok := debs[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		cw := &countingWriter{ResponseWriter: w}
		http.ServeContent(cw, r, "", time.Time{}, bytes.NewReader(data))
		m.mu.Lock()
		m.sent[strings.TrimPrefix(r.URL.Path, "/")] += cw.n
		m.mu.Unlock()
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mirror) total() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, v := range m.sent {
		n += v
	}
	return n
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// partialSeed makes a client whose storage holds the pieces chosen by has.
func partialSeed(t testing.TB, s debSet, has func(i int) bool) *debtorrent.Client {
	t.Helper()
	st, err := debtorrent.OpenDiskStorage(t.TempDir(), debtorrent.DiskOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ts, err := st.OpenTorrent(s.info)
	require.NoError(t, err)
	for i, p := range s.order {
		if has(i) {
			require.NoError(t, ts.WriteBlock(i, 0, s.debs[p]))
			require.NoError(t, ts.FinishPiece(i))
		}
	}
	require.NoError(t, ts.Close())
	c, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Storage = st })
	return c
}

func webSource(t testing.TB, m *mirror) *websource.HTTPSource {
	src, err := websource.NewHTTP([]string{m.srv.URL}, websource.Options{BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(src.Close)
	return src
}

// readAll reads piece i of tr once verified.
func readAll(t testing.TB, tr *debtorrent.Torrent, i int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	r, err := tr.ReadPiece(ctx, i)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

// A Debian torrent where one peer has half the packages and the mirror the
// rest: the peer's packages come from the peer, only the others from the
// mirror, and the mirror never sends a byte more than those.
func TestDebianHalfPeerHalfMirror(t *testing.T) {
	before := runtime.NumGoroutine()
	s := makeDebs(t, 12, 1)
	m := newMirror(t, s.debs, nil)
	peerHas := func(i int) bool { return i%2 == 0 }
	a := partialSeed(t, s, peerHas)
	_, err := a.AddTorrent(s.info, debtorrent.TorrentOptions{})
	require.NoError(t, err)

	b, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Web.NormalDelay = time.Second })
	tb, err := b.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m), DownloadAll: true})
	require.NoError(t, err)
	require.NoError(t, tb.AddPeer(a.Addr().String()))
	waitComplete(t, tb)

	var peerBytes, webBytes int64
	for i, p := range s.order {
		require.Equal(t, s.debs[p], readAll(t, tb, i), "package %s", p)
		if peerHas(i) {
			peerBytes += int64(len(s.debs[p]))
		} else {
			webBytes += int64(len(s.debs[p]))
		}
	}
	st := tb.Stats()
	require.Equal(t, peerBytes, st.BytesFromPeers)
	require.Equal(t, webBytes, st.BytesFromWeb)
	require.Equal(t, webBytes, m.total(), "the mirror sent only what no peer had")
	require.Equal(t, webBytes, b.Stats().BytesFromWeb)

	require.NoError(t, b.Close())
	require.NoError(t, a.Close())
	m.srv.Close()
	checkNoLeaks(t, before)
}

// An urgent piece that no connected peer has goes to the mirror at once,
// however many wait for it: one download serves them all.
func TestUrgentPieceFromMirrorOnce(t *testing.T) {
	s := makeDebs(t, 4, 2)
	m := newMirror(t, s.debs, nil)
	b, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Web.NormalDelay = -1 })
	tb, err := b.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- tb.WaitPiece(ctx, 2, debtorrent.WithDeadline(time.Now().Add(time.Second)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	want := s.debs[s.order[2]]
	require.Equal(t, want, readAll(t, tb, 2))
	require.Equal(t, int64(len(want)), m.total(), "eight waiters, one download")
	st := tb.Stats()
	require.Equal(t, 1, st.PiecesHave, "nothing else was fetched")
	require.Zero(t, st.Wanted)
	_, err = tb.OpenPiece(1)
	require.ErrorIs(t, err, debtorrent.ErrNotComplete, "unverified pieces are never readable")
}

// A waiter that gives up lowers the piece back: nothing more is fetched for
// it.
func TestWaitCancelled(t *testing.T) {
	s := makeDebs(t, 3, 3)
	b, _ := newClient(t, nil)
	tb, err := b.AddTorrent(s.info, debtorrent.TorrentOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.WaitPiece(ctx, 1) }()
	wctx, wstop := context.WithTimeout(context.Background(), swarmTimeout)
	defer wstop()
	require.NoError(t, tb.WaitFor(wctx, func(s debtorrent.TorrentStats) bool { return s.Wanted == 1 }))
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	waitCtx, stop := context.WithTimeout(context.Background(), swarmTimeout)
	defer stop()
	require.NoError(t, tb.WaitFor(waitCtx, func(s debtorrent.TorrentStats) bool { return s.Wanted == 0 }))
}

// A mirror that fails (500s, then connection resets) while a peer has
// everything: the peer carries the download and it completes correctly.
func TestMirrorFailingPeersCarry(t *testing.T) {
	s := makeDebs(t, 10, 4)
	m := newMirror(t, s.debs, func(n int64) string {
		if n%2 == 0 {
			return "500"
		}
		return "reset"
	})
	a := partialSeed(t, s, func(int) bool { return true })
	_, err := a.AddTorrent(s.info, debtorrent.TorrentOptions{})
	require.NoError(t, err)
	b, _ := newClient(t, nil)
	tb, err := b.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
	require.NoError(t, err)

	// Everything is urgent before any peer is known: it all goes to the
	// failing mirror first.
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range s.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, tb.WaitPiece(ctx, i))
		}()
	}
	require.NoError(t, tb.WaitFor(ctx, func(s debtorrent.TorrentStats) bool { return s.Wanted == 10 }))
	require.NoError(t, tb.AddPeer(a.Addr().String()))
	wg.Wait()
	for i, p := range s.order {
		require.Equal(t, s.debs[p], readAll(t, tb, i))
	}
	require.Zero(t, tb.Stats().BytesFromWeb)
	require.Positive(t, m.fails.Load(), "the mirror was tried")
}

// An urgent piece that a peer delivers far slower than the mirror would is
// handed over to the mirror: the rest of it comes from there, and no byte is
// kept twice.
func TestSlowPeerHandsOverToMirror(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	path := "pool/main/b/big/big_1_amd64.deb"
	s := debSet{debs: map[string][]byte{path: big}, order: []string{path}}
	s.info = debInfo(t, "big", s.debs, s.order)
	m := newMirror(t, s.debs, nil)

	// A peer with the package, uploading at 128 KiB/s.
	st, err := debtorrent.OpenDiskStorage(t.TempDir(), debtorrent.DiskOptions{})
	require.NoError(t, err)
	defer st.Close()
	ts, err := st.OpenTorrent(s.info)
	require.NoError(t, err)
	require.NoError(t, ts.WriteBlock(0, 0, big))
	require.NoError(t, ts.FinishPiece(0))
	require.NoError(t, ts.Close())
	a, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Storage = st; cfg.UploadRate = 128 << 10 })
	_, err = a.AddTorrent(s.info, debtorrent.TorrentOptions{})
	require.NoError(t, err)

	b, _ := newClient(t, nil)
	tb, err := b.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
	require.NoError(t, err)
	require.NoError(t, tb.AddPeer(a.Addr().String()))
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	for tb.Availability(0) == 0 { // the peer's have-all has not arrived yet
		select {
		case <-tb.Changed():
		case <-ctx.Done():
			t.Fatal("the peer never said it has the piece")
		}
	}
	require.Equal(t, big, readAll(t, tb, 0))
	got := tb.Stats()
	require.Positive(t, got.BytesFromPeers, "the peer started")
	require.Positive(t, got.BytesFromWeb, "the mirror took over")
	require.Equal(t, int64(len(big)), got.BytesFromPeers+got.BytesFromWeb, "every byte kept once")
}

// When the last waiter gives up, the mirror's fetch of the piece stops too.
func TestWebFetchCancelledWhenUnwanted(t *testing.T) {
	s := makeDebs(t, 2, 12)
	half := make(chan struct{})
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := s.debs[strings.TrimPrefix(r.URL.Path, "/")]
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		close(half)
		<-r.Context().Done() // the rest never comes: the client must hang up
		close(gone)
	}))
	defer srv.Close()
	src, err := websource.NewHTTP([]string{srv.URL}, websource.Options{})
	require.NoError(t, err)
	defer src.Close()
	b, _ := newClient(t, nil)
	tb, err := b.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: src})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { waited <- tb.WaitPiece(ctx, 0) }()
	deadline := time.After(swarmTimeout)
	select {
	case <-half:
	case <-deadline:
		t.Fatal("the mirror was never asked")
	}
	cancel()
	require.ErrorIs(t, <-waited, context.Canceled)
	select {
	case <-gone:
	case <-deadline:
		t.Fatal("the fetch went on after nobody wanted the piece")
	}
	wctx, stop := context.WithTimeout(context.Background(), swarmTimeout)
	defer stop()
	require.NoError(t, tb.WaitFor(wctx, func(s debtorrent.TorrentStats) bool { return s.Wanted == 0 }))
}

// A standard multi-file torrent with a web seed (BEP 19 url-list) and no
// peers downloads from the web seed alone, pieces spanning files included.
func TestURLListWebSeed(t *testing.T) {
	src := t.TempDir()
	info := makeTree(t, src, "webseeded", map[string]int{"a.bin": 100_000, "b/c.bin": 70_001, "d.bin": 5}, 32<<10, 41)
	srv := httptest.NewServer(http.FileServer(http.Dir(src)))
	defer srv.Close()
	ws, err := websource.NewURLList([]string{srv.URL + "/"}, info, websource.Options{})
	require.NoError(t, err)
	defer ws.Close()
	c, dir := newClient(t, func(cfg *debtorrent.Config) { cfg.Web.NormalDelay = time.Millisecond })
	tr, err := c.AddTorrent(info, debtorrent.TorrentOptions{WebSource: ws, DownloadAll: true})
	require.NoError(t, err)
	waitComplete(t, tr)
	sameTree(t, info, src, dir)
	require.Equal(t, info.TotalLength(), tr.Stats().BytesFromWeb)
}
