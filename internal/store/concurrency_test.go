package store

import (
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// checkIndex asserts the store's index agrees with itself and with the
// disk: every indexed piece has its file, the LRU list holds exactly the
// indexed entries, usage adds up, and no file operation is left in flight.
func checkIndex(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var used int64
	n := 0
	for e := s.lru.back(); e != nil; e = s.lru.prevOf(e) {
		n++
		require.Same(t, e, s.lookup(e.sum), "LRU list entry not in the index")
		require.Zero(t, e.refs, "pin leaked")
		used += e.size
		fi, err := os.Stat(s.casPath(e.sum))
		require.NoError(t, err, "indexed piece has no file")
		require.Equal(t, e.size, fi.Size())
	}
	indexed := 0
	s.cas.Range(func(_, _ any) bool { indexed++; return true })
	require.Equal(t, indexed, n)
	require.Equal(t, s.count, n)
	require.Equal(t, used, s.used)
	require.Empty(t, s.busy)
}

// TestConcurrentCommitOpenEvict commits, reads and evicts a few pieces from
// many goroutines under a tight cap: the index must stay consistent with
// the disk, and for every piece the callbacks must balance (commits minus
// evictions is 1 if stored, else 0).
func TestConcurrentCommitOpenEvict(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const npieces, size = 6, 3000
	var contents [][]byte
	for i := range npieces {
		contents = append(contents, randomBytes(size, uint64(i)+500))
	}
	s, l := openLogged(t, t.TempDir(), Options{MaxBytes: 3 * size})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(g)))
			for range 150 {
				data := contents[r.IntN(npieces)]
				sum := sumOf(data)
				switch r.IntN(3) {
				case 0:
					w, err := s.CreateSum(sum, size)
					if err == nil {
						if _, err = w.Write(data); err == nil {
							err = w.Commit()
						}
					}
					if err != nil {
						t.Error(err)
						return
					}
				case 1:
					if pr, err := s.OpenSum(sum); err == nil {
						got := make([]byte, size)
						if _, err := pr.ReadAt(got, 0); err != nil || sumOf(got) != sum {
							t.Errorf("read of a pinned piece: %v", err)
						}
						pr.Close()
					}
				case 2:
					s.Has(sum)
					s.Usage()
				}
			}
		}()
	}
	within(t, wg.Wait)
	checkIndex(t, s)
	for _, c := range contents {
		commits, evicts := l.counts(sumOf(c))
		want := 0
		if s.Has(sumOf(c)) {
			want = 1
		}
		require.Equal(t, want, commits-evicts, "callbacks out of balance")
	}
	used, _ := s.Usage()
	require.LessOrEqual(t, used, int64(3*size))
}

func TestLRUList(t *testing.T) {
	var l lruList
	l.init()
	require.Nil(t, l.back())
	es := make([]*entry, 4)
	for i := range es {
		es[i] = &entry{size: int64(i)}
		l.pushFront(es[i])
	}
	order := func() []int64 {
		var out []int64
		for e := l.back(); e != nil; e = l.prevOf(e) {
			out = append(out, e.size)
		}
		return out
	}
	require.Equal(t, []int64{0, 1, 2, 3}, order())
	l.moveToFront(es[0])
	require.Equal(t, []int64{1, 2, 3, 0}, order())
	l.remove(es[2])
	l.remove(es[2]) // harmless twice
	require.Equal(t, []int64{1, 3, 0}, order())
	l.pushBack(es[2])
	require.Equal(t, []int64{2, 1, 3, 0}, order())
	l.moveToFront(es[0]) // already at the front
	require.Equal(t, []int64{2, 1, 3, 0}, order())
}
