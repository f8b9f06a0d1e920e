package main

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// detect runs packaging/files/apt-proxy-detect with addr as the proxy and
// returns what it printed and how long it took.
func detect(t *testing.T, addr string) (string, time.Duration) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("timeout (coreutils) not installed")
	}
	cmd := exec.Command(filepath.Join("..", "files", "apt-proxy-detect"), "http://deb.example/debian/dists/x/Release")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "DEBTORRENT_PROXY_ADDR=" + addr}
	start := time.Now()
	out, err := cmd.Output()
	require.NoError(t, err)
	return string(out), time.Since(start)
}

// TestAptProxyDetect: the script names the proxy only while it accepts
// connections, else DIRECT, so APT falls back to the mirrors.
func TestAptProxyDetect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	out, _ := detect(t, addr)
	assert.Equal(t, "http://"+addr+"\n", out, "the proxy answers: APT is sent to it")

	ln.Close() // the service is stopped: connections are refused
	out, took := detect(t, addr)
	assert.Equal(t, "DIRECT\n", out, "the proxy is down: APT goes to the mirrors")
	assert.Less(t, took, 2*time.Second)

	out, _ = detect(t, "127.0.0.1:notaport")
	assert.Equal(t, "DIRECT\n", out, "a bad address is DIRECT, not an error")
	assert.False(t, strings.Contains(out, "bash"), "no error text on stdout")
}
