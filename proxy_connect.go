package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// connectDialTimeout bounds the dial of an https mirror for a tunnel.
const connectDialTimeout = 10 * time.Second

// serveConnect answers APT's https method in forward-proxy mode: a CONNECT
// to the host and port of a configured https mirror is tunnelled (the
// proxy sees only encrypted bytes, so nothing is cached or shared:
// "https, not shared"); any other CONNECT gets 403 with a reason. Sources
// rewritten to the path-prefix form (deb http://proxy/<mirror>/...) share
// https mirrors too.
func (p *Proxy) serveConnect(ctx context.Context, r *http.Request) (*pipeline.Response, string) {
	target := r.Host
	if !p.connectAllowed(target) {
		return pipeline.Text(http.StatusForbidden, fmt.Sprintf("debtorrent: CONNECT %s refused: not the host and port of a configured https mirror", target)), "refused"
	}
	dctx, cancel := context.WithTimeout(ctx, connectDialTimeout)
	defer cancel()
	var d net.Dialer
	upstream, err := d.DialContext(dctx, "tcp", target)
	if err != nil {
		return pipeline.Text(http.StatusBadGateway, fmt.Sprintf("debtorrent: CONNECT %s: %v", target, err)), "https"
	}
	return &pipeline.Response{Status: http.StatusOK, Reason: "Connection Established", Tunnel: func(ctx context.Context, client io.ReadWriter) error {
		return relay(ctx, client, upstream)
	}}, "https"
}

// connectAllowed reports whether hostport is the host and port of a
// configured mirror reached over https.
func (p *Proxy) connectAllowed(hostport string) bool {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	for _, m := range p.mirrors {
		for _, raw := range m.URLs {
			u, err := parseURL(raw)
			if err != nil || u.Scheme != "https" {
				continue
			}
			uport := u.Port()
			if uport == "" {
				uport = "443"
			}
			if strings.EqualFold(u.Hostname(), host) && uport == port {
				return true
			}
		}
	}
	return false
}

// relay copies both ways between client and upstream until one side ends
// or ctx is done, then closes upstream.
func relay(ctx context.Context, client io.ReadWriter, upstream net.Conn) error {
	defer upstream.Close()
	stop := context.AfterFunc(ctx, func() { upstream.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	var upErr error
	go func() {
		defer wg.Done()
		_, upErr = io.Copy(upstream, client)
		if cw, ok := upstream.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	_, downErr := io.Copy(client, upstream)
	upstream.Close() // unblocks the other copy if the client is still open
	wg.Wait()
	if downErr != nil && !errors.Is(downErr, net.ErrClosed) {
		return downErr
	}
	if upErr != nil && !errors.Is(upErr, net.ErrClosed) {
		return upErr
	}
	return nil
}
