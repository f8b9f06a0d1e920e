package aptproxy

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// EngineStatus is what the engine (Client) reports for the status pages.
type EngineStatus struct {
	// Peers is the number of connected peers.
	Peers int `json:"peers"`
	// BytesFromPeers and BytesToPeers count payload bytes.
	BytesFromPeers int64 `json:"bytes_from_peers"`
	BytesToPeers   int64 `json:"bytes_to_peers"`
	// BytesFromWeb counts bytes the engine fetched from mirrors.
	BytesFromWeb int64 `json:"bytes_from_web"`
	// Torrents holds per-torrent figures by hex infohash.
	Torrents map[string]EngineTorrent `json:"-"`
}

// EngineTorrent is one torrent's figures from the engine.
type EngineTorrent struct {
	PiecesWanted int `json:"pieces_wanted"`
	PiecesDone   int `json:"pieces_done"`
	Peers        int `json:"peers"`
}

// TorrentStatus describes one torrent on the status pages.
type TorrentStatus struct {
	Name     string `json:"name"`
	InfoHash string `json:"infohash"`
	Index    string `json:"index"`
	Packages int    `json:"packages"`
	Bytes    int64  `json:"bytes"`
	EngineTorrent
	Added time.Time `json:"added"`
}

// Status is the proxy's state, served as /status.json.
type Status struct {
	Uptime           float64             `json:"uptime_seconds"`
	Mirrors          map[string][]string `json:"mirrors"`
	Torrents         []TorrentStatus     `json:"torrents"`
	Requests         int64               `json:"requests"`
	Errors           int64               `json:"errors"`
	BytesServed      int64               `json:"bytes_served"`
	BytesFromMirrors int64               `json:"bytes_from_mirrors"`
	DebsBySource     map[string]int64    `json:"debs_by_source"`
	Engine           *EngineStatus       `json:"engine,omitempty"`
	CacheBytes       int64               `json:"cache_bytes"`
	CachePieces      int                 `json:"cache_pieces"`
	Recent           []RequestLog        `json:"recent"`
}

// Status returns a snapshot of the proxy's state.
func (s *Server) Status() Status {
	st := Status{Uptime: time.Since(s.started).Seconds(), Mirrors: map[string][]string{}, DebsBySource: map[string]int64{},
		Requests: s.stats.requests.Load(), Errors: s.stats.errors.Load(), BytesServed: s.stats.bytesServed.Load(),
		Recent: s.stats.recentLogs()}
	for _, m := range s.cfg.Mirrors.List() {
		for _, u := range m.URLs {
			st.Mirrors[m.Name] = append(st.Mirrors[m.Name], u.String())
		}
	}
	var eng EngineStatus
	if s.cfg.Engine != nil {
		eng = s.cfg.Engine()
		st.Engine = &eng
	}
	for _, t := range s.archives.list() {
		ts := TorrentStatus{Name: t.Name.String(), InfoHash: t.Info.InfoHash().String(), Index: t.Index, Packages: len(t.Info.Files), Bytes: t.Info.TotalLength(), Added: t.Added}
		ts.EngineTorrent = eng.Torrents[ts.InfoHash]
		st.Torrents = append(st.Torrents, ts)
	}
	sort.Slice(st.Torrents, func(i, j int) bool { return st.Torrents[i].Name < st.Torrents[j].Name })
	st.BytesFromMirrors = s.cfg.Cache.BytesFetched()
	if s.cfg.MirrorStats != nil {
		for _, m := range s.cfg.MirrorStats() {
			st.BytesFromMirrors += m.BytesReceived
		}
	}
	s.stats.debs.Range(func(k, v any) bool {
		st.DebsBySource[k.(string)] = v.(interface{ Load() int64 }).Load()
		return true
	})
	if s.cfg.Usage != nil {
		st.CacheBytes, st.CachePieces = s.cfg.Usage()
	}
	return st
}

// serveSelf answers requests addressed to the proxy itself.
func (s *Server) serveSelf(r *http.Request) *pipeline.Response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return pipeline.Text(http.StatusMethodNotAllowed, "debtorrent: only GET and HEAD")
	}
	switch r.URL.Path {
	case "/":
		return pipeline.Bytes(http.StatusOK, "text/html; charset=utf-8", s.statusHTML())
	case "/status.json":
		b, _ := json.MarshalIndent(s.Status(), "", "  ")
		return pipeline.Bytes(http.StatusOK, "application/json", append(b, '\n'))
	case "/metrics":
		return pipeline.Bytes(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", s.metrics())
	}
	// Anything else names a mirror this proxy does not serve.
	return pipeline.Text(http.StatusForbidden, "debtorrent: forbidden: "+r.URL.Path+": "+ErrNotAllowed.Error()+"; proxied paths start with a configured mirror name: /"+strings.Join(s.mirrorNames(), "/, /")+"/")
}

func (s *Server) mirrorNames() []string {
	var out []string
	for _, m := range s.cfg.Mirrors.List() {
		out = append(out, m.Name)
	}
	return out
}

// metrics renders the Prometheus text exposition format.
func (s *Server) metrics() []byte {
	st := s.Status()
	var b strings.Builder
	metric := func(name, typ, help string, v any, labels ...string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		fmt.Fprintf(&b, "%s%s %v\n", name, strings.Join(labels, ""), v)
	}
	metric("debtorrent_proxy_requests_total", "counter", "Requests answered.", st.Requests)
	metric("debtorrent_proxy_errors_total", "counter", "Requests answered with a status of 400 or more.", st.Errors)
	metric("debtorrent_proxy_served_bytes_total", "counter", "Body bytes sent to APT.", st.BytesServed)
	metric("debtorrent_proxy_mirror_bytes_total", "counter", "Bytes received from mirrors.", st.BytesFromMirrors)
	metric("debtorrent_proxy_torrents", "gauge", "Debian torrents made from Packages files.", len(st.Torrents))
	metric("debtorrent_proxy_cache_bytes", "gauge", "Bytes of verified packages stored.", st.CacheBytes)
	metric("debtorrent_proxy_cache_pieces", "gauge", "Verified packages stored.", st.CachePieces)
	fmt.Fprintf(&b, "# HELP debtorrent_proxy_debs_total Packages served, by source.\n# TYPE debtorrent_proxy_debs_total counter\n")
	var srcs []string
	for k := range st.DebsBySource {
		srcs = append(srcs, k)
	}
	sort.Strings(srcs)
	for _, k := range srcs {
		fmt.Fprintf(&b, "debtorrent_proxy_debs_total{source=%q} %d\n", k, st.DebsBySource[k])
	}
	if st.Engine != nil {
		metric("debtorrent_peers", "gauge", "Connected peers.", st.Engine.Peers)
		metric("debtorrent_peer_download_bytes_total", "counter", "Payload bytes received from peers.", st.Engine.BytesFromPeers)
		metric("debtorrent_peer_upload_bytes_total", "counter", "Payload bytes sent to peers.", st.Engine.BytesToPeers)
	}
	return []byte(b.String())
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>debtorrent proxy</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>
</head><body>
<h1>debtorrent proxy</h1>
<p>Up {{printf "%.0f" .Uptime}} s. {{.Requests}} requests ({{.Errors}} errors), {{.BytesServed}} bytes served,
{{.BytesFromMirrors}} bytes from mirrors{{with .Engine}}, {{.BytesFromPeers}} bytes from peers, {{.Peers}} peers{{end}}.
Cache: {{.CachePieces}} packages, {{.CacheBytes}} bytes. Also as <a href="/status.json">JSON</a> and <a href="/metrics">metrics</a>.</p>
<h2>Mirrors</h2><table><tr><th>name</th><th>upstream</th></tr>
{{range $n, $u := .Mirrors}}<tr><td>{{$n}}</td><td>{{range $u}}{{.}} {{end}}</td></tr>{{end}}</table>
<h2>Torrents</h2><table><tr><th>name</th><th>infohash</th><th>packages</th><th>bytes</th><th>wanted</th><th>done</th><th>peers</th></tr>
{{range .Torrents}}<tr><td>{{.Name}}</td><td>{{.InfoHash}}</td><td>{{.Packages}}</td><td>{{.Bytes}}</td><td>{{.PiecesWanted}}</td><td>{{.PiecesDone}}</td><td>{{.Peers}}</td></tr>{{end}}</table>
<h2>Recent requests</h2><table><tr><th>time</th><th>method</th><th>url</th><th>status</th><th>bytes</th><th>source</th><th>seconds</th></tr>
{{range .Recent}}<tr><td>{{.Time.Format "15:04:05"}}</td><td>{{.Method}}</td><td>{{.URL}}</td><td>{{.Status}}</td><td>{{.Bytes}}</td><td>{{.Source}}</td><td>{{printf "%.3f" .Duration}}</td></tr>{{end}}</table>
</body></html>
`))

func (s *Server) statusHTML() []byte {
	var b strings.Builder
	if err := statusPage.Execute(&b, s.Status()); err != nil {
		return []byte("status page error: " + template.HTMLEscapeString(err.Error()))
	}
	return []byte(b.String())
}
