//go:build unix

package debsource

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the process's CPU time (user+system, all threads) over a
// benchmark loop. On a shared, loaded machine it is a steadier figure than
// wall time per op; it includes the GC's work.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPUClock() cpuClock { return cpuClock{start: processCPU()} }

// report adds cpu-ms/op to the benchmark's results.
func (c cpuClock) report(b *testing.B) {
	if b.N == 0 {
		return
	}
	b.ReportMetric(float64(processCPU()-c.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
