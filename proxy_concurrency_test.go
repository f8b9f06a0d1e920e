package debtorrent_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEightAptGetsAtOnce: eight apt-get runs started together through one
// proxy, with Acquire::Retries 0, all succeed (no 503 under load).
func TestEightAptGetsAtOnce(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{Rate: 20 << 20})
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	const n = 8
	roots := make([]*aptRoot, n)
	for i := range roots {
		if i%2 == 0 {
			roots[i] = newAptRoot(t, "deb [trusted=yes] "+mirror.URL()+" bookworm main", "http://"+p.Addr)
		} else {
			roots[i] = newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "")
		}
	}
	pkgs := debNames(arch)
	var wg sync.WaitGroup
	outs := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i, r := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			outs[i], errs[i] = r.run(context.Background(), "update")
			if errs[i] == nil {
				var o string
				o, errs[i] = r.run(context.Background(), append([]string{"install", "--download-only", "-y"}, pkgs...)...)
				outs[i] += o
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range roots {
		require.NoError(t, errs[i], "apt-get run %d:\n%s", i, outs[i])
		roots[i].checkDebs(t, arch, pkgs...)
	}
	for _, d := range arch.Debs {
		assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), "%s fetched once for all eight", d.Filename)
	}
	for _, l := range p.Status().Recent {
		assert.Less(t, l.Status, 500, "no request failed: %+v", l)
	}
}

// TestPipelinedDebsFetchedAtOnce: one apt-get, one connection with
// pipelined requests; the proxy must work on them at once, so the mirror
// sees several .deb requests in flight together. Each .deb request at the
// mirror waits (bounded) until three are in flight: served one at a time,
// none would ever see three.
func TestPipelinedDebsFetchedAtOnce(t *testing.T) {
	var inFlight, maxInFlight atomic.Int32
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{Fault: func(r *http.Request) int {
		if !strings.HasSuffix(r.URL.Path, ".deb") {
			return 0
		}
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		mu.Lock()
		cond.Broadcast()
		deadline := time.Now().Add(2 * time.Second)
		timer := time.AfterFunc(2*time.Second, func() { mu.Lock(); cond.Broadcast(); mu.Unlock() })
		for maxInFlight.Load() < 3 && time.Now().Before(deadline) {
			cond.Wait()
		}
		timer.Stop()
		mu.Unlock()
		inFlight.Add(-1)
		return 0
	}})
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	root := newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "")
	root.mustRun(t, "update")
	pkgs := debNames(arch)
	root.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	root.checkDebs(t, arch, pkgs...)
	assert.GreaterOrEqual(t, maxInFlight.Load(), int32(3), "pipelined requests were worked on one at a time")
}
