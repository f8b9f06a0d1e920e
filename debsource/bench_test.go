package debsource

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// loadFixture decompresses bookworm's main/binary-amd64/Packages.xz into
// memory once, for the benchmarks that start from decompressed bytes.
func loadFixture(b *testing.B) (xzData, plain []byte) {
	b.Helper()
	dir := fixturesDir(b)
	xzData, err := os.ReadFile(filepath.Join(dir, "bookworm", "main", "binary-amd64", "Packages.xz"))
	if err != nil {
		b.Fatal(err)
	}
	d, err := Decompress(bytes.NewReader(xzData), "Packages.xz")
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	plain, err = io.ReadAll(d)
	if err != nil {
		b.Fatal(err)
	}
	return xzData, plain
}

// heapSampler tracks the largest heap-object total seen while running,
// sampling runtime/metrics (which does not stop the world) every 500µs. The
// result is a lower bound of the true peak, and counts garbage not yet
// collected as well as live objects: what the process needs from the OS.
type heapSampler struct {
	stop chan struct{}
	done chan uint64
}

const heapObjects = "/memory/classes/heap/objects:bytes"

func readHeap() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan uint64, 1)}
	go func() {
		var peak uint64
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			peak = max(peak, readHeap())
			select {
			case <-h.stop:
				h.done <- max(peak, readHeap())
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	return <-h.done
}

// reportHeap runs build once more outside the timer and reports the Info's
// own heap, the sampled peak above the baseline, and that peak minus the
// Info: the working memory the build needs beyond its result. input is the
// benchmark's source data, kept alive throughout.
func reportHeap(b *testing.B, input []byte, build func() *TorrentResult) {
	b.Helper()
	b.StopTimer()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	s := startHeapSampler()
	res := build()
	peak := max(s.Stop(), base)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	retained := max(ms.HeapAlloc, base)
	runtime.KeepAlive(res)
	runtime.KeepAlive(input) // or it dies during build and the figures lie
	const mb = 1 << 20
	b.ReportMetric(float64(retained-base)/mb, "info-MB")
	b.ReportMetric(float64(peak-base)/mb, "peak-heap-MB")
	b.ReportMetric(float64(int64(peak)-int64(retained))/mb, "beyond-info-MB")
	b.StartTimer()
}

var benchName = TorrentName{Origin: "Debian", Suite: "bookworm", Component: "main", Arch: "amd64"}

// BenchmarkBuildInfoDecompressed is the full Packages → Info path from
// decompressed bytes in memory: parse 63,440 stanzas, build and bencode the
// Info, hash it.
func BenchmarkBuildInfoDecompressed(b *testing.B) {
	_, plain := loadFixture(b)
	build := func() *TorrentResult {
		res, err := BuildInfo(bytes.NewReader(plain), benchName)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPUClock()
	for b.Loop() {
		build()
	}
	cpu.report(b)
	reportHeap(b, plain, build)
}

// BenchmarkBuildInfoVerifiedDecompressed adds the streaming SHA256 check
// against the Release to BenchmarkBuildInfoDecompressed.
func BenchmarkBuildInfoVerifiedDecompressed(b *testing.B) {
	_, plain := loadFixture(b)
	want := IndexFile{Size: int64(len(plain)), HasSHA256: true, SHA256: sha256Of(plain)}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v := NewVerifyingReader(bytes.NewReader(plain), "Packages", want)
		if _, err := BuildInfo(v, benchName); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePackages is the stanza parsing alone, no Info.
func BenchmarkParsePackages(b *testing.B) {
	_, plain := loadFixture(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPUClock()
	defer cpu.report(b)
	for b.Loop() {
		pr := NewPackagesReader(bytes.NewReader(plain))
		n := 0
		for {
			_, err := pr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 63440 {
			b.Fatalf("%d entries", n)
		}
	}
}

// BenchmarkXZDecode is the xz decoding alone, to io.Discard.
func BenchmarkXZDecode(b *testing.B) {
	xzData, plain := loadFixture(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPUClock()
	defer cpu.report(b)
	for b.Loop() {
		d, err := Decompress(bytes.NewReader(xzData), "Packages.xz")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, d); err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}

// BenchmarkBuildInfoFromXZ is the whole pipeline a proxy runs on a fetched
// Packages.xz: decompress, verify against the Release, parse, build.
func BenchmarkBuildInfoFromXZ(b *testing.B) {
	xzData, plain := loadFixture(b)
	want := IndexFile{Size: int64(len(plain)), HasSHA256: true, SHA256: sha256Of(plain)}
	build := func() *TorrentResult {
		d, err := Decompress(bytes.NewReader(xzData), "Packages.xz")
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		res, err := BuildInfo(NewVerifyingReader(d, "Packages", want), benchName)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPUClock()
	for b.Loop() {
		build()
	}
	cpu.report(b)
	reportHeap(b, xzData, build)
}
