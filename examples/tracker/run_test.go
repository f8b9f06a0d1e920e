package main

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/tracker"
)

// logWatcher collects run's log and hands over the address it listens on.
type logWatcher struct {
	mu   sync.Mutex
	log  strings.Builder
	addr chan string
	sent bool
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (w *logWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log.Write(p)
	if m := listeningRE.FindStringSubmatch(w.log.String()); m != nil && !w.sent {
		w.sent = true
		w.addr <- m[1]
	}
	return len(p), nil
}

func (w *logWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

func TestRunServesHTTPAndUDPOnOnePort(t *testing.T) {
	allowed := metainfo.InfoHash(sha1.Sum([]byte("allowed")))
	refused := metainfo.InfoHash(sha1.Sum([]byte("refused")))
	allowFile := filepath.Join(t.TempDir(), "allow.txt")
	require.NoError(t, os.WriteFile(allowFile, []byte("# served here\n"+allowed.String()+"\n\n"), 0o644))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logWatcher{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-interval", "1m", "-max-swarms", "5", "-max-peers", "10", "-max-peers-per-addr", "2", "-allow", allowFile}, logs)
	}()
	var addr string
	select {
	case addr = <-logs.addr:
	case err := <-done:
		t.Fatalf("run returned early: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("run did not start listening:\n%s", logs)
	}

	client := tracker.NewClient(tracker.ClientConfig{UDPTimeout: 500 * time.Millisecond, UDPRetries: 2})
	httpURL, udpURL := "http://"+addr+"/announce", "udp://"+addr+"/announce"
	_, err := client.Announce(ctx, httpURL, tracker.AnnounceRequest{InfoHash: allowed, Port: 7001, Left: 0})
	require.NoError(t, err)
	resp, err := client.Announce(ctx, udpURL, tracker.AnnounceRequest{InfoHash: allowed, Port: 7002, Left: 10})
	require.NoError(t, err, "UDP is served on the same port")
	require.Len(t, resp.Peers, 1)
	assert.Equal(t, "127.0.0.1:7001", resp.Peers[0].Addr.String())
	assert.Equal(t, time.Minute, resp.Interval)

	_, err = client.Announce(ctx, httpURL, tracker.AnnounceRequest{InfoHash: allowed, Port: 7004, Left: 10})
	require.NoError(t, err, "a third port from one address replaces its oldest (-max-peers-per-addr 2)")

	_, err = client.Announce(ctx, udpURL, tracker.AnnounceRequest{InfoHash: refused, Port: 7003})
	var fe *tracker.FailureError
	require.ErrorAs(t, err, &fe, "the allow-list is in force")

	r, err := http.Get("http://" + addr + "/stats")
	require.NoError(t, err)
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	require.NoError(t, err)
	var st tracker.Stats
	require.NoError(t, json.Unmarshal(body, &st))
	assert.Equal(t, tracker.Stats{Announces: 4, Refusals: 1, Connects: 1, Swarms: 1, Peers: 2, Seeders: 0}, st)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancellation")
	}
	assert.Contains(t, logs.String(), "msg=stopped")
}

func TestRunRejectsBadArguments(t *testing.T) {
	dir := t.TempDir()
	badList := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(badList, []byte("0123\n"), 0o644))
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"zero swarms", []string{"-max-swarms", "0"}, "must be positive"},
		{"zero swarms per address", []string{"-max-swarms-per-addr", "0"}, "must be positive"},
		{"zero peers per address", []string{"-max-peers-per-addr", "0"}, "must be positive"},
		{"tiny interval", []string{"-interval", "10ms"}, "at least 1s"},
		{"extra argument", []string{"extra"}, "unexpected arguments"},
		{"missing allow-list", []string{"-allow", filepath.Join(dir, "none.txt")}, "allow-list"},
		{"bad allow-list line", []string{"-allow", badList}, "line 1"},
		{"bad listen address", []string{"-listen", "nowhere"}, "-listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, io.Discard)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
