package debtorrent_test

import (
	"bufio"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAptGetHTTPSThroughConnect: APT's https method in forward-proxy mode
// sends CONNECT; to a configured https mirror it is tunnelled (a loopback TLS
// server with its own CA), and apt-get update and install work. A CONNECT
// anywhere else gets 403 with a reason.
func TestAptGetHTTPSThroughConnect(t *testing.T) {
	arch, err := testmirror.Build(t.TempDir(), testSpec())
	require.NoError(t, err)
	var requests atomic.Int64
	tls := httptest.NewTLSServer(http.StripPrefix("/debian", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.FileServer(http.Dir(arch.Root)).ServeHTTP(w, r)
	})))
	defer tls.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tls.Certificate().Raw}), 0o644))

	p := startProxy(t, "http://127.0.0.1:1/", func(c *debtorrent.ProxyConfig) {
		c.Mirrors = append(c.Mirrors, debtorrent.ProxyMirror{Name: "secure", URLs: []string{tls.URL + "/debian/"}})
	})
	root := newAptRoot(t, "deb [trusted=yes] "+tls.URL+"/debian bookworm main", "http://"+p.Addr,
		fmt.Sprintf(`Acquire::https::CaInfo "%s";`, ca))
	root.mustRun(t, "update")
	pkgs := debNames(arch)[:2]
	root.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
	root.checkDebs(t, arch, pkgs...)
	assert.Greater(t, requests.Load(), int64(3), "APT reached the https mirror through the tunnel")

	// Anywhere else: refused, with the reason on the status line.
	other := httptest.NewTLSServer(http.NotFoundHandler())
	defer other.Close()
	nc, err := net.Dial("tcp", p.Addr)
	require.NoError(t, err)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	host := strings.TrimPrefix(other.URL, "https://")
	fmt.Fprintf(nc, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	resp, err := http.ReadResponse(bufio.NewReader(nc), &http.Request{Method: http.MethodConnect})
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, resp.Status, "not the host and port of a configured https mirror")
}
