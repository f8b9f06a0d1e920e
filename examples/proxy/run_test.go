package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "10G": 10 << 30, "500M": 500 << 20, "20MB": 20 << 20, "4KiB": 4 << 10, "1t": 1 << 40} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "x", "-5", "10Q", "99999999999T"} {
		_, err := parseSize(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-mirror", "debian=http://deb.debian.org/debian", "-mirror", "sec=http://a/,http://b/", "-tracker", "http://t/announce", "-cache-size", "2G"}, io.Discard)
	require.NoError(t, err)
	require.Len(t, o.mirrors, 2)
	assert.Equal(t, []string{"http://a/", "http://b/"}, o.mirrors[1].URLs)
	assert.Equal(t, int64(2<<30), o.cacheSize)
	assert.Equal(t, "127.0.0.1:9988", o.listen)
	_, err = parseFlags([]string{"-mirror", "nourl"}, io.Discard)
	assert.Error(t, err)
}

// TestRunServesAndShutsDown starts the command against a test mirror,
// reads the address it prints, fetches through it, then cancels (as SIGINT
// does) and expects a clean return.
func TestRunServesAndShutsDown(t *testing.T) {
	arch, err := testmirror.Build(t.TempDir(), testmirror.SimpleSpec(2, 1000))
	require.NoError(t, err)
	mirror, err := testmirror.Serve(arch.Root, testmirror.Options{})
	require.NoError(t, err)
	defer mirror.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-peer-listen", "127.0.0.1:0", "-tracker-listen", "127.0.0.1:0", "-lsd=false",
			"-cache", t.TempDir(), "-import", "", "-mirror", "test=http://" + mirror.Addr() + "/"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var addr string
	var printed []string
	for sc.Scan() {
		line := sc.Text()
		printed = append(printed, line)
		if a, ok := strings.CutPrefix(line, "debtorrent proxy listening on "); ok {
			addr = a
		}
		if strings.HasPrefix(line, "Status:") {
			break
		}
	}
	require.NotEmpty(t, addr, "no address printed:\n%s", strings.Join(printed, "\n"))
	assert.Contains(t, strings.Join(printed, "\n"), `Acquire::http::Proxy "http://`+addr+`";`)
	go io.Copy(io.Discard, pr)

	resp, err := http.Get("http://" + addr + "/test/debian/" + arch.Debs[0].Filename)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, arch.Debs[0].Size, int64(len(body)))

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestCacheDirDefault(t *testing.T) {
	home := t.TempDir()
	userCache := func(dir string, err error) func() (string, error) {
		return func() (string, error) { return dir, err }
	}
	for _, c := range []struct {
		name  string
		euid  int
		cache func() (string, error)
		want  string
	}{
		{"user with a home", 1000, userCache(filepath.Join(home, ".cache"), nil), filepath.Join(home, ".cache", "debtorrent")},
		{"root", 0, userCache(filepath.Join(home, ".cache"), nil), serviceCacheDir},
		{"HOME=/nonexistent", 1000, userCache("/nonexistent/.cache", nil), serviceCacheDir},
		{"no HOME", 1000, userCache("", errors.New("$HOME is not defined")), serviceCacheDir},
	} {
		assert.Equal(t, c.want, cacheDirFor(c.euid, c.cache), c.name)
	}
}

// TestUnusableCacheNamesTheFlag: a cache directory that cannot be made is an
// error that says which flag to change.
func TestUnusableCacheNamesTheFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	err := run(context.Background(), []string{"-cache", filepath.Join(file, "sub"), "-no-peers", "-mirror", "x=http://127.0.0.1:1/"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-cache DIR")
}

// startProxy runs the command with args and waits for it to print its
// status line; it returns what it printed up to then and a function that
// stops it and returns run's error.
func startProxy(t *testing.T, args ...string) (printed string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "Status:") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("run did not return after cancel")
		}
	}
	return strings.Join(lines, "\n"), stop
}

// Two proxies start on one host with no flags about ports: no embedded
// tracker unless asked for, and a taken default peer port gives way to
// another. A peer port asked for and taken is an error.
func TestTwoProxiesOnOneHost(t *testing.T) {
	if ln, err := net.Listen("tcp", ":6881"); err == nil { // else it is taken already
		defer ln.Close()
	}
	base := []string{"-listen", "127.0.0.1:0", "-lsd=false", "-import", "", "-mirror", "test=http://127.0.0.1:1/"}
	var stops []func() error
	for i := range 2 {
		printed, stop := startProxy(t, append(base, "-cache", t.TempDir())...)
		stops = append(stops, stop)
		require.Contains(t, printed, "debtorrent proxy listening on", "proxy %d", i)
		require.Contains(t, printed, "LAN discovery: off", "proxy %d", i)
		require.NotContains(t, printed, ":6881;", "proxy %d took the taken port", i)
	}
	for _, stop := range stops {
		require.NoError(t, stop())
	}
	err := run(context.Background(), append(base, "-cache", t.TempDir(), "-peer-listen", ":6881"), io.Discard, io.Discard)
	require.ErrorContains(t, err, "address already in use")
}
