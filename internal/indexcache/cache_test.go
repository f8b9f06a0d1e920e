package indexcache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func setup(t *testing.T, fault func(*http.Request) int) (*Cache, *testmirror.Server, string) {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "Release"), []byte("release v1\n"), 0o644))
	srv, err := testmirror.Serve(root, testmirror.Options{Fault: fault})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	c, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	return c, srv, root
}

func readAll(t *testing.T, e *Entry) string {
	t.Helper()
	defer e.Close()
	b, err := io.ReadAll(e)
	require.NoError(t, err)
	return string(b)
}

func TestRevalidateUsesConditionalRequests(t *testing.T) {
	c, srv, root := setup(t, nil)
	ctx := context.Background()
	req := Request{Key: "m/Release", URLs: []string{srv.URL() + "Release"}, Mode: Revalidate}
	e, err := c.Get(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "release v1\n", readAll(t, e))
	e, err = c.Get(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "release v1\n", readAll(t, e))
	assert.Equal(t, 1, srv.Count("Release", http.StatusOK))
	assert.Equal(t, 1, srv.Count("Release", http.StatusNotModified), "second Get must revalidate with If-Modified-Since")

	// A new version upstream is picked up.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.WriteFile(filepath.Join(root, "Release"), []byte("release v2\n"), 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(root, "Release"), later, later))
	e, err = c.Get(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "release v2\n", readAll(t, e))
}

func TestImmutableAndValidated(t *testing.T) {
	c, srv, _ := setup(t, nil)
	ctx := context.Background()
	imm := Request{Key: "m/imm", URLs: []string{srv.URL() + "Release"}, Mode: Immutable, NoCache: true}
	for range 3 {
		e, err := c.Get(ctx, imm)
		require.NoError(t, err)
		readAll(t, e)
	}
	assert.Equal(t, 1, srv.Count("Release", http.StatusOK), "immutable files are fetched once")
	assert.Equal(t, 2, srv.Count("Release", http.StatusNotModified), "NoCache revalidates an immutable file nothing vouches for")
	imm.NoCache = false
	e, err := c.Get(ctx, imm)
	require.NoError(t, err)
	readAll(t, e)
	require.Equal(t, 3, len(srv.Log()), "without NoCache an immutable file is served without asking")

	valid := true
	val := Request{Key: "m/val", URLs: []string{srv.URL() + "Release"}, Mode: Validated,
		Valid: func(m Meta) bool { return valid && m.Size == int64(len("release v1\n")) }}
	for range 2 {
		e, err := c.Get(ctx, val)
		require.NoError(t, err)
		readAll(t, e)
	}
	assert.Equal(t, 4, len(srv.Log()), "a valid cached copy is served without asking")
	valid = false
	e, err = c.Get(ctx, val)
	require.NoError(t, err)
	readAll(t, e)
	require.Equal(t, 5, len(srv.Log()))
	assert.Equal(t, http.StatusOK, srv.Log()[4].Status, "an invalid copy is fetched whole, not revalidated")
}

func TestBurstMakesOneFetch(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	arrived := make(chan struct{})
	c, srv, _ := setup(t, func(r *http.Request) int {
		once.Do(func() { close(arrived) })
		<-gate
		return 0
	})
	const n = 20
	req := Request{Key: "m/Release", URLs: []string{srv.URL() + "Release"}, Mode: Revalidate}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.Get(context.Background(), req)
			if err == nil {
				_, err = io.ReadAll(e)
				e.Close()
			}
			errs <- err
		}()
	}
	<-arrived
	// Every Get has either joined the flight or not started: let the
	// upstream answer only once all goroutines are blocked in Get.
	waitUntil(t, func() bool { return c.joined.Load() == n })
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, srv.Log(), 1, "a burst of identical requests makes one upstream fetch")
}

func TestStatusPassedOnAndStaleOnOutage(t *testing.T) {
	down := false
	c, srv, _ := setup(t, func(r *http.Request) int {
		if down {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	ctx := context.Background()
	_, err := c.Get(ctx, Request{Key: "m/missing", URLs: []string{srv.URL() + "missing"}})
	var se *StatusError
	require.True(t, errors.As(err, &se), "got %v", err)
	assert.Equal(t, http.StatusNotFound, se.Status)

	req := Request{Key: "m/Release", URLs: []string{srv.URL() + "Release"}}
	e, err := c.Get(ctx, req)
	require.NoError(t, err)
	readAll(t, e)
	down = true
	e, err = c.Get(ctx, req)
	require.NoError(t, err, "a cached Release is served when upstream fails")
	assert.Equal(t, "release v1\n", readAll(t, e))

	_, err = c.Get(ctx, Request{Key: "m/other", URLs: []string{srv.URL() + "other"}})
	require.True(t, errors.As(err, &se))
	assert.Equal(t, http.StatusServiceUnavailable, se.Status)
}

func TestCorruptFileIsRefetched(t *testing.T) {
	c, srv, _ := setup(t, nil)
	req := Request{Key: "m/imm", URLs: []string{srv.URL() + "Release"}, Mode: Immutable}
	e, err := c.Get(context.Background(), req)
	require.NoError(t, err)
	readAll(t, e)
	p := keyPath(c.dir, req.Key)
	require.NoError(t, os.Truncate(p, 20))
	e, err = c.Get(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "release v1\n", readAll(t, e))
	assert.Equal(t, 2, len(srv.Log()))
}

// waitUntil polls cond with a deadline (a condition wait, not a sleep for
// ordering).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
