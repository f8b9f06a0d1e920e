package store

import (
	"sync"
	"sync/atomic"
	"testing"
)

// benchStore opens a store holding n small content-addressed pieces and
// starts a goroutine that keeps opening and closing them (uploads to
// peers), which is what contends with membership checks. It returns the
// pieces' sums; the goroutine stops when the benchmark ends.
func benchStore(b *testing.B, n int) (*Store, []Sum) {
	b.Helper()
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	sums := make([]Sum, n)
	for i := range sums {
		data := randomBytes(4096, uint64(i)+100)
		sums[i] = sumOf(data)
		w, err := s.CreateSum(sums[i], int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r, err := s.OpenSum(sums[i%n])
			if err != nil {
				b.Error(err)
				return
			}
			r.Close()
		}
	}()
	b.Cleanup(func() {
		close(stop)
		wg.Wait()
		s.Close()
	})
	return s, sums
}

// BenchmarkHasParallel measures Store.Has from every CPU while pieces are
// being opened and closed.
func BenchmarkHasParallel(b *testing.B) {
	s, sums := benchStore(b, 64)
	b.ResetTimer()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1))
		for pb.Next() {
			if !s.Has(sums[i%len(sums)]) {
				b.Error("piece missing")
				return
			}
			i++
		}
	})
}

// BenchmarkWriteBlockParallel measures Torrent.WriteBlock of 16 KiB blocks
// into distinct pieces of one Debian torrent from every CPU, while other
// pieces are being opened and closed.
func BenchmarkWriteBlockParallel(b *testing.B) {
	const pieceLen, block = 1 << 20, 16384
	s, _ := benchStore(b, 64)
	contents := make([][]byte, 16)
	for i := range contents {
		contents[i] = randomBytes(pieceLen, uint64(i)+1000)
	}
	fx := newDebFixture(b, "bench", "amd64", contents)
	tor, err := s.OpenTorrent(fx.info)
	if err != nil {
		b.Fatal(err)
	}
	defer tor.Close()
	b.SetBytes(block)
	b.ResetTimer()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % len(contents)
		data := contents[i]
		off := 0
		for pb.Next() {
			if err := tor.WriteBlock(i, int64(off), data[off:off+block]); err != nil {
				b.Error(err)
				return
			}
			off += block
			if off == pieceLen {
				tor.DiscardPiece(i)
				off = 0
			}
		}
	})
}
