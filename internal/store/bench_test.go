package store

import (
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriteVerify measures writing a piece in 16 KiB blocks and
// committing it (hash check, fsync, rename): the store's write+verify
// throughput, for a Debian piece written in order (hashed as it arrives), in
// shuffled order (hashed by reading back), and a standard torrent's 1 MiB
// pieces (copied into the torrent's files).
func BenchmarkWriteVerify(b *testing.B) {
	const debSize = 16 << 20
	data := randomBytes(debSize, 1)
	blocks := func(n int, shuffle bool) []int {
		var offs []int
		for off := 0; off < n; off += 16384 {
			offs = append(offs, off)
		}
		if shuffle {
			rand.New(rand.NewPCG(1, 1)).Shuffle(len(offs), func(i, j int) { offs[i], offs[j] = offs[j], offs[i] })
		}
		return offs
	}
	for _, tc := range []struct {
		name    string
		shuffle bool
	}{{"debian-in-order", false}, {"debian-shuffled", true}} {
		b.Run(tc.name, func(b *testing.B) {
			fx := newDebFixture(b, "bench", "amd64", [][]byte{data})
			offs := blocks(debSize, tc.shuffle)
			b.SetBytes(debSize)
			for range b.N {
				b.StopTimer()
				s, err := Open(b.TempDir(), Options{})
				if err != nil {
					b.Fatal(err)
				}
				tor, err := s.OpenTorrent(fx.info)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for _, off := range offs {
					if err := tor.WriteBlock(0, int64(off), data[off:min(off+16384, debSize)]); err != nil {
						b.Fatal(err)
					}
				}
				if err := tor.FinishPiece(0); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
	b.Run("standard-1MiB-pieces", func(b *testing.B) {
		fx := newFixedFixture(b, "bench", 1<<20, []int{6 << 20, 5<<20 + 12345, 5 << 20}, 5)
		total := fx.info.TotalLength()
		b.SetBytes(total)
		var cpu time.Duration
		defer func() {
			b.ReportMetric(cpu.Seconds()/(float64(total)*float64(b.N)/1e9), "cpu-s/GB")
		}()
		for range b.N {
			b.StopTimer()
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			tor, err := s.OpenTorrent(fx.info)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			c0 := cpuTime(b)
			for i := range fx.info.Pieces {
				writePiece(b, tor, i, fx.piece(i), 16384)
				if err := tor.FinishPiece(i); err != nil {
					b.Fatal(err)
				}
			}
			cpu += cpuTime(b) - c0
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
	})
}

// BenchmarkResumeAdopt measures adopting a kept 32 MiB partial piece: the
// prefix is re-hashed once (streamed) when a writer resumes it.
func BenchmarkResumeAdopt(b *testing.B) {
	const size = 32 << 20
	data := randomBytes(size+resumeBlock, 81)
	sum := sumOf(data)
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := os.WriteFile(s.partialPath(sum), data[:size], 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		w, err := s.ResumeSum(sum, int64(len(data)))
		if err != nil || w.Written() != size {
			b.Fatalf("resumed at %d: %v", w.Written(), err)
		}
		w.Close() // keeps the file, unchanged
	}
}
