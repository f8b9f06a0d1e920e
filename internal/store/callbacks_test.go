package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// callbackLog records OnCommit and OnEvict calls. Each callback also uses
// the store (Has, Usage, OpenSum) to prove no store lock is held while it
// runs: a held lock would deadlock and the test would hit its deadline.
type callbackLog struct {
	mu       sync.Mutex
	s        *Store
	commits  map[Sum]int
	evicts   map[Sum]int
	sawHas   map[Sum]bool // Has(sum) as seen from inside the callback
	reentrys int
}

func newCallbackLog() *callbackLog {
	return &callbackLog{commits: map[Sum]int{}, evicts: map[Sum]int{}, sawHas: map[Sum]bool{}}
}

func (l *callbackLog) options(o Options) Options {
	o.OnCommit = func(sum Sum) { l.record(sum, true) }
	o.OnEvict = func(sum Sum) { l.record(sum, false) }
	return o
}

func (l *callbackLog) record(sum Sum, commit bool) {
	l.mu.Lock()
	s := l.s
	l.mu.Unlock()
	has := false
	if s != nil {
		has = s.Has(sum)
		s.Usage()
		if r, err := s.OpenSum(sum); err == nil {
			r.Close()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if commit {
		l.commits[sum]++
	} else {
		l.evicts[sum]++
	}
	l.sawHas[sum] = has
	if s != nil {
		l.reentrys++
	}
}

func (l *callbackLog) counts(sum Sum) (commits, evicts int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.commits[sum], l.evicts[sum]
}

// openLogged opens a store in dir whose callbacks go to a new log.
func openLogged(t *testing.T, dir string, o Options) (*Store, *callbackLog) {
	t.Helper()
	l := newCallbackLog()
	s, err := Open(dir, l.options(o))
	require.NoError(t, err)
	l.mu.Lock()
	l.s = s
	l.mu.Unlock()
	t.Cleanup(func() {
		if !t.Failed() { // a deadlocked store would hang Close
			s.Close()
		}
	})
	return s, l
}

// within runs fn and fails the test if it does not return before a
// deadline (a deadlock in a callback).
func within(t *testing.T, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("store call did not return: callback deadlocked on a store lock?")
	}
}

func sumOf(b []byte) Sum { return Sum(sha256.Sum256(b)) }

func TestOnCommitEveryRoad(t *testing.T) {
	a, b := randomBytes(40000, 1), randomBytes(30000, 2)
	fxA := newDebFixture(t, "a", "amd64", [][]byte{a, b})
	fxB := newDebFixture(t, "b", "arm64", [][]byte{b}) // shares b with fxA

	for _, road := range []string{"FinishPiece", "SumWriter", "Import"} {
		t.Run(road, func(t *testing.T) {
			s, l := openLogged(t, t.TempDir(), Options{})
			put := func(data []byte) {
				switch road {
				case "FinishPiece":
					within(t, func() {
						tor, err := s.OpenTorrent(fxA.info)
						require.NoError(t, err)
						defer tor.Close()
						i := 0
						if sumOf(data) == sumOf(b) {
							i = 1
						}
						writePiece(t, tor, i, data, 16384)
						require.NoError(t, tor.FinishPiece(i))
					})
				case "SumWriter":
					within(t, func() {
						w, err := s.CreateSum(sumOf(data), int64(len(data)))
						require.NoError(t, err)
						_, err = w.Write(data)
						require.NoError(t, err)
						require.NoError(t, w.Commit())
					})
				case "Import":
					src := t.TempDir()
					require.NoError(t, os.WriteFile(filepath.Join(src, "x.deb"), data, 0o644))
					within(t, func() {
						_, err := s.Import(context.Background(), src)
						require.NoError(t, err)
					})
				}
			}
			put(a)
			c, e := l.counts(sumOf(a))
			require.Equal(t, 1, c, "OnCommit once for a new piece")
			require.Zero(t, e)
			require.True(t, l.sawHas[sumOf(a)], "the piece is visible from inside OnCommit")

			put(a) // already there: no second call
			c, _ = l.counts(sumOf(a))
			require.Equal(t, 1, c, "OnCommit must not run for a piece already stored")

			// The shared piece b, put by this road, is complete in fxB at once.
			put(b)
			c, _ = l.counts(sumOf(b))
			require.Equal(t, 1, c)
			torB, err := s.OpenTorrent(fxB.info)
			require.NoError(t, err)
			require.True(t, torB.PieceComplete(0))
			require.NoError(t, torB.Close())
		})
	}
}

func TestOnCommitImportCopy(t *testing.T) {
	// /dev/shm is another filesystem here, so Import must copy.
	src, err := os.MkdirTemp("/dev/shm", "store-import-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(src)
	data := randomBytes(50000, 3)
	require.NoError(t, os.WriteFile(filepath.Join(src, "y.deb"), data, 0o644))
	s, l := openLogged(t, t.TempDir(), Options{})
	var st ImportStats
	within(t, func() {
		st, err = s.Import(context.Background(), src)
		require.NoError(t, err)
	})
	if st.Linked > 0 {
		t.Skip("/dev/shm is on the same filesystem as the store; cannot test copying")
	}
	require.Equal(t, 1, st.Copied)
	c, _ := l.counts(sumOf(data))
	require.Equal(t, 1, c)
	st, err = s.Import(context.Background(), src)
	require.NoError(t, err)
	require.Equal(t, 1, st.Present)
	c, _ = l.counts(sumOf(data))
	require.Equal(t, 1, c)
}

func TestOnCommitConcurrentWritersOnce(t *testing.T) {
	data := randomBytes(70000, 4)
	sum := sumOf(data)
	s, l := openLogged(t, t.TempDir(), Options{})
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.CreateSum(sum, int64(len(data)))
			if err != nil {
				errs <- err
				return
			}
			if _, err := w.Write(data); err != nil {
				errs <- err
				return
			}
			errs <- w.Commit()
		}()
	}
	within(t, wg.Wait)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	c, _ := l.counts(sum)
	require.Equal(t, 1, c, "OnCommit exactly once however many writers raced")
	require.Len(t, dirEntries(t, s.tmpDir()), 0, "losing writers leave no temporary files")
	require.Len(t, dirEntries(t, s.partialDir()), 0, "nor partial files")
}

func TestOnEvictEveryRoad(t *testing.T) {
	p1, p2, p3 := randomBytes(10000, 5), randomBytes(10000, 6), randomBytes(10000, 7)
	commit := func(s *Store, data []byte) {
		within(t, func() {
			w, err := s.CreateSum(sumOf(data), int64(len(data)))
			require.NoError(t, err)
			_, err = w.Write(data)
			require.NoError(t, err)
			require.NoError(t, w.Commit())
		})
	}

	t.Run("eviction", func(t *testing.T) {
		s, l := openLogged(t, t.TempDir(), Options{MaxBytes: 25000})
		commit(s, p1)
		commit(s, p2)
		commit(s, p3) // 30000 > 25000: p1, least recently used, goes
		_, e := l.counts(sumOf(p1))
		require.Equal(t, 1, e)
		require.False(t, l.sawHas[sumOf(p1)], "evicted piece is gone when OnEvict runs")
		for _, p := range [][]byte{p2, p3} {
			_, e := l.counts(sumOf(p))
			require.Zero(t, e)
		}
	})

	t.Run("verify", func(t *testing.T) {
		s, l := openLogged(t, t.TempDir(), Options{})
		commit(s, p1)
		commit(s, p2)
		require.NoError(t, os.WriteFile(s.casPath(sumOf(p1)), p2, 0o644)) // corrupt
		within(t, func() {
			st, err := s.Verify(context.Background())
			require.NoError(t, err)
			require.Equal(t, 1, st.Removed)
		})
		_, e := l.counts(sumOf(p1))
		require.Equal(t, 1, e)
		_, e = l.counts(sumOf(p2))
		require.Zero(t, e)
		// A second pass finds nothing more to remove and calls nothing.
		_, err := s.Verify(context.Background())
		require.NoError(t, err)
		_, e = l.counts(sumOf(p1))
		require.Equal(t, 1, e)
	})

	t.Run("vanished", func(t *testing.T) {
		s, l := openLogged(t, t.TempDir(), Options{})
		commit(s, p1)
		require.NoError(t, os.Remove(s.casPath(sumOf(p1))))
		within(t, func() {
			_, err := s.OpenSum(sumOf(p1))
			require.True(t, errors.Is(err, ErrNotComplete), "got %v", err)
		})
		_, e := l.counts(sumOf(p1))
		require.Equal(t, 1, e)
		require.False(t, s.Has(sumOf(p1)))
		_, err := s.OpenSum(sumOf(p1))
		require.ErrorIs(t, err, ErrNotComplete)
		_, e = l.counts(sumOf(p1))
		require.Equal(t, 1, e, "OnEvict once per removal")
	})
}

func TestSumWriter(t *testing.T) {
	data := randomBytes(100000, 8)
	sum := sumOf(data)
	s, l := openLogged(t, t.TempDir(), Options{})

	t.Run("incomplete then complete", func(t *testing.T) {
		w, err := s.CreateSum(sum, int64(len(data)))
		require.NoError(t, err)
		_, err = w.Write(data[:1000])
		require.NoError(t, err)
		require.ErrorIs(t, w.Commit(), ErrIncomplete)
		require.False(t, s.Has(sum))
		_, err = w.Write(data[1000:])
		require.NoError(t, err)
		require.Equal(t, int64(len(data)), w.Written())
		_, err = w.Write([]byte{1})
		require.Error(t, err, "writing past the size")
		require.NoError(t, w.Commit())
		require.True(t, s.Has(sum))
		r, err := s.OpenSum(sum)
		require.NoError(t, err)
		got := make([]byte, len(data))
		_, err = r.ReadAt(got, 0)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		require.Equal(t, data, got)
		require.Error(t, w.Commit(), "commit twice")
		require.NoError(t, w.Abort(), "abort after commit is harmless")
		_, err = w.Write(data[:1])
		require.Error(t, err)
	})

	t.Run("mismatch", func(t *testing.T) {
		other := randomBytes(5000, 9)
		w, err := s.CreateSum(sumOf(other), int64(len(other)))
		require.NoError(t, err)
		bad := append([]byte(nil), other...)
		bad[10] ^= 1
		_, err = w.Write(bad)
		require.NoError(t, err)
		require.ErrorIs(t, w.Commit(), ErrHashMismatch)
		require.False(t, s.Has(sumOf(other)))
		c, _ := l.counts(sumOf(other))
		require.Zero(t, c)
	})

	t.Run("abort", func(t *testing.T) {
		other := randomBytes(5000, 10)
		w, err := s.CreateSum(sumOf(other), int64(len(other)))
		require.NoError(t, err)
		_, err = w.Write(other)
		require.NoError(t, err)
		require.NoError(t, w.Abort())
		require.Error(t, w.Commit())
		require.False(t, s.Has(sumOf(other)))
	})

	t.Run("empty", func(t *testing.T) {
		w, err := s.CreateSum(sumOf(nil), 0)
		require.NoError(t, err)
		require.NoError(t, w.Commit())
		require.True(t, s.Has(sumOf(nil)))
	})

	t.Run("negative size", func(t *testing.T) {
		_, err := s.CreateSum(sum, -1)
		require.Error(t, err)
	})

	require.Len(t, dirEntries(t, s.tmpDir()), 0, "no temporary files left")
	require.Len(t, dirEntries(t, s.partialDir()), 0, "no partial files left")
}
