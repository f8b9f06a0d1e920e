package debtorrent

import "github.com/debtorrent/debtorrent/internal/aptproxy"

// ProxyStatus is a snapshot of a Proxy: mirrors, torrents (with pieces
// wanted and done and peers, when a Client runs them), requests, bytes
// served and fetched from mirrors and peers, cache use and the recent
// requests. /status.json serves it.
type ProxyStatus = aptproxy.Status

// Status returns a snapshot of the proxy's state.
func (p *Proxy) Status() ProxyStatus { return p.srv.Status() }
