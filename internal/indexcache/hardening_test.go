package indexcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// files serves fixed bodies by path; "/endless" streams zeros without a
// Content-Length until the client leaves.
func files(t *testing.T, bodies map[string]string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/endless" {
			buf := make([]byte, 32<<10)
			for {
				if _, err := w.Write(buf); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(b))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func sumOf(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func hexOf(s string) string { h := sumOf(s); return hex.EncodeToString(h[:]) }

// tmpFiles lists the temporary files under dir.
func tmpFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*", tmpPrefix+"*"))
	require.NoError(t, err)
	return m
}

func TestByHashIsCheckedAgainstItsName(t *testing.T) {
	good := "Package: hello\n"
	byHash := "/dists/x/main/binary-amd64/by-hash/SHA256/" + hexOf(good)
	srv, _ := files(t, map[string]string{byHash: "a poisoned answer\n", "/good" + byHash: good})
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()

	req := Request{Key: "m" + byHash, URLs: []string{srv.URL + byHash}, Mode: Immutable}
	_, err = c.Get(ctx, req)
	require.ErrorIs(t, err, ErrMismatch)
	assert.Contains(t, err.Error(), hexOf(good), "the error names what was expected")
	assert.Contains(t, err.Error(), hexOf("a poisoned answer\n"), "and what came")
	_, ok := c.Peek(req.Key)
	assert.False(t, ok, "a mismatching body must not be cached")
	assert.Empty(t, tmpFiles(t, dir))

	// The next URL has the right file: it is taken.
	req.URLs = append(req.URLs, srv.URL+"/good"+byHash)
	e, err := c.Get(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, good, readAll(t, e))

	// Revalidate-mode keys are not by-hash checked (their names say nothing).
	_, err = c.Get(ctx, Request{Key: "r" + byHash, URLs: []string{srv.URL + byHash}, Mode: Revalidate})
	require.NoError(t, err)
}

func TestExpectation(t *testing.T) {
	srv, hits := files(t, map[string]string{"/v1": "version one\n", "/v2": "version two!\n"})
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()

	t.Run("wrong size announced", func(t *testing.T) {
		_, err := c.Get(ctx, Request{Key: "a", URLs: []string{srv.URL + "/v1"}, Mode: Immutable,
			Expect: &Expectation{Size: 3, SHA256: sumOf("abc")}})
		require.ErrorIs(t, err, ErrMismatch)
		assert.Contains(t, err.Error(), "announces 12 bytes")
	})
	t.Run("wrong hash", func(t *testing.T) {
		_, err := c.Get(ctx, Request{Key: "b", URLs: []string{srv.URL + "/v1"}, Mode: Revalidate,
			Expect: &Expectation{Size: 12, SHA256: sumOf("version 1ne\n")}})
		require.ErrorIs(t, err, ErrMismatch)
		_, ok := c.Peek("b")
		assert.False(t, ok)
	})
	t.Run("endless body is cut off at the size", func(t *testing.T) {
		before := c.BytesFetched()
		_, err := c.Get(ctx, Request{Key: "c", URLs: []string{srv.URL + "/endless"}, Mode: Immutable,
			Expect: &Expectation{Size: 1000, SHA256: sumOf("x")}})
		require.ErrorIs(t, err, ErrMismatch)
		assert.LessOrEqual(t, c.BytesFetched()-before, int64(1001), "read no more than Size+1 bytes")
		assert.Empty(t, tmpFiles(t, dir))
	})
	t.Run("cached copy failing its expectation is deleted and refetched", func(t *testing.T) {
		e, err := c.Get(ctx, Request{Key: "d", URLs: []string{srv.URL + "/v1"}, Mode: Immutable})
		require.NoError(t, err)
		readAll(t, e)
		n := hits.Load()
		want := &Expectation{Size: 13, SHA256: sumOf("version two!\n")}
		_, ok := c.PeekExpect("d", want)
		assert.False(t, ok, "PeekExpect refuses a copy that does not match")
		_, ok = c.Peek("d")
		assert.False(t, ok, "and deletes it")
		e, err = c.Get(ctx, Request{Key: "d", URLs: []string{srv.URL + "/v2"}, Mode: Immutable, Expect: want})
		require.NoError(t, err)
		assert.Equal(t, "version two!\n", readAll(t, e))
		assert.Equal(t, n+1, hits.Load())
		e, ok = c.PeekExpect("d", want)
		require.True(t, ok)
		e.Close()
		// A matching copy is served even with NoCache: its content is known.
		e, err = c.Get(ctx, Request{Key: "d", URLs: []string{srv.URL + "/v2"}, Mode: Immutable, Expect: want, NoCache: true})
		require.NoError(t, err)
		readAll(t, e)
		assert.Equal(t, n+1, hits.Load())
	})
	t.Run("Expect contradicting a by-hash name", func(t *testing.T) {
		_, err := c.Get(ctx, Request{Key: "m/by-hash/SHA256/" + hexOf("a"), URLs: []string{srv.URL + "/v1"}, Mode: Immutable,
			Expect: &Expectation{Size: 1, SHA256: sumOf("b")}})
		require.ErrorIs(t, err, ErrMismatch)
	})
}

func TestOpenLocksAndCleansTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ab"), 0o755))
	stale := filepath.Join(dir, "ab", tmpPrefix+"12345")
	require.NoError(t, os.WriteFile(stale, []byte("half a download"), 0o644))
	c, err := Open(dir, Options{})
	require.NoError(t, err)
	assert.NoFileExists(t, stale, "Open removes temporary files nobody owns")
	_, err = Open(dir, Options{})
	require.Error(t, err, "a second cache on the same directory is refused")
	assert.Contains(t, err.Error(), "in use by another process")
	require.NoError(t, c.Close())
	c2, err := Open(dir, Options{})
	require.NoError(t, err, "the lock is released by Close")
	c2.Close()
}

func TestMaxBytesEvictsLeastRecentlyUsed(t *testing.T) {
	body := strings.Repeat("x", 1000)
	srv, _ := files(t, map[string]string{"/f": body})
	per := int64(headerSize + len(body))
	dir := t.TempDir()
	c, err := Open(dir, Options{MaxBytes: 2*per + per/2})
	require.NoError(t, err)
	ctx := context.Background()
	get := func(key string) *Entry {
		t.Helper()
		e, err := c.Get(ctx, Request{Key: key, URLs: []string{srv.URL + "/f"}, Mode: Immutable})
		require.NoError(t, err)
		return e
	}
	readAll(t, get("k1"))
	held := get("k2") // stays open
	readAll(t, get("k3"))
	// Over the cap: k1 is the least recently used and not open.
	_, ok := c.Peek("k1")
	assert.False(t, ok, "k1 evicted")
	total, n := c.Usage()
	assert.Equal(t, 2, n)
	assert.Equal(t, 2*per, total)
	// k2 is now the oldest, but open: k3 goes instead when k4 arrives.
	readAll(t, get("k4"))
	e, ok := c.Peek("k2")
	require.True(t, ok, "an open entry is not evicted")
	e.Close()
	held.Close()
	_, ok = c.Peek("k3")
	assert.False(t, ok, "k3 evicted")
	require.NoError(t, c.Close())

	// The index survives a restart (by file times) and a lower cap applies at Open.
	c, err = Open(dir, Options{MaxBytes: per})
	require.NoError(t, err)
	defer c.Close()
	total, n = c.Usage()
	assert.Equal(t, 1, n)
	assert.Equal(t, per, total)
}

func TestAllowRedirect(t *testing.T) {
	var adminHits atomic.Int64
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminHits.Add(1)
		fmt.Fprintln(w, "secret admin page")
	}))
	defer admin.Close()
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/real", http.StatusFound)
		case "/real":
			fmt.Fprintln(w, "real file")
		default:
			http.Redirect(w, r, admin.URL+"/admin", http.StatusFound)
		}
	}))
	defer mirror.Close()
	mu, _ := url.Parse(mirror.URL)
	allow := func(from, to *url.URL) bool { return to.Host == mu.Host }
	caller := &http.Client{}
	c, err := Open(t.TempDir(), Options{Client: caller, AllowRedirect: allow})
	require.NoError(t, err)
	defer c.Close()
	assert.Nil(t, caller.CheckRedirect, "the caller's client is not modified")
	ctx := context.Background()

	_, err = c.Get(ctx, Request{Key: "evil", URLs: []string{mirror.URL + "/evil"}})
	var se *StatusError
	require.True(t, errors.As(err, &se), "got %v", err)
	assert.Equal(t, http.StatusFound, se.Status)
	assert.Equal(t, admin.URL+"/admin", se.Location)
	assert.Zero(t, adminHits.Load(), "a refused redirect is not followed")
	_, ok := c.Peek("evil")
	assert.False(t, ok)

	e, err := c.Get(ctx, Request{Key: "same", URLs: []string{mirror.URL + "/same"}})
	require.NoError(t, err, "an allowed redirect is followed")
	assert.Equal(t, "real file\n", readAll(t, e))
}
