package aptproxy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// EngineStatus is what the engine (Client) reports for the status pages.
// The root fills it from its Client (Config.Engine).
type EngineStatus struct {
	// Peers is the number of connected peers.
	Peers int `json:"peers"`
	// BytesFromPeers and BytesToPeers count payload bytes.
	BytesFromPeers int64 `json:"bytes_from_peers"`
	BytesToPeers   int64 `json:"bytes_to_peers"`
	// BytesFromWeb counts bytes the engine fetched from mirrors.
	BytesFromWeb int64 `json:"bytes_from_web"`
	// VerificationFailures counts pieces that failed their hash check.
	VerificationFailures int64 `json:"verification_failures"`
	// BannedPeers counts peers banned (e.g. for sending bad data).
	BannedPeers int64 `json:"banned_peers"`
	// Mirrors, when set, are mirror states the engine knows (its web
	// source); an entry replaces the Server's own state of the same Name
	// and URL, others are added.
	Mirrors []MirrorState `json:"mirrors,omitempty"`
	// Torrents holds per-torrent figures by hex infohash.
	Torrents map[string]EngineTorrent `json:"-"`
}

// EngineTorrent is one torrent's figures from the engine.
type EngineTorrent struct {
	// PiecesWanted counts pieces (packages) asked for.
	PiecesWanted int `json:"pieces_wanted"`
	// PiecesDone counts pieces verified and stored.
	PiecesDone int `json:"pieces_done"`
	// Peers is the number of connected peers in this swarm.
	Peers int `json:"peers"`
	// Machines is the number of distinct peer IP addresses in this swarm.
	Machines int `json:"machines"`
}

// TorrentStatus describes one torrent (swarm) on the status pages.
type TorrentStatus struct {
	// Name is the torrent's name (origin/suite/component/binary-arch).
	Name string `json:"name"`
	// InfoHash is the hex infohash.
	InfoHash string `json:"infohash"`
	// Index is the Packages file it was made from.
	Index string `json:"index"`
	// Packages is the number of files (.debs) it lists.
	Packages int `json:"packages"`
	// Bytes is their total size.
	Bytes int64 `json:"bytes"`
	EngineTorrent
	// Added is when it was made.
	Added time.Time `json:"added"`
}

// Status is the proxy's state, served as /status.json.
type Status struct {
	// Time is when the snapshot was taken (UTC).
	Time time.Time `json:"time"`
	// Uptime is the time since the Server was made, in seconds.
	Uptime float64 `json:"uptime_seconds"`
	// Mirrors maps each mirror name to its base URLs.
	Mirrors map[string][]string `json:"mirrors"`
	// MirrorStates has one entry per mirror base URL (and any more the
	// engine reports), sorted by name then URL.
	MirrorStates []MirrorState `json:"mirror_states"`
	// Torrents are the swarms, one per Packages file, sorted by name.
	Torrents []TorrentStatus `json:"torrents"`
	// Requests counts every request answered (the status pages too).
	Requests int64 `json:"requests"`
	// Errors counts answers with a status of 400 or more.
	Errors int64 `json:"errors"`
	// RequestsByCode counts requests by HTTP status ("200": n).
	RequestsByCode map[string]int64 `json:"requests_by_code"`
	// BytesServed counts body bytes answered to APT (not the status
	// pages), since start.
	BytesServed int64 `json:"bytes_served"`
	// BytesToday counts the same since local midnight.
	BytesToday int64 `json:"bytes_today"`
	// IndexBytes counts the index files' part of BytesServed.
	IndexBytes int64 `json:"index_bytes"`
	// BytesFromMirrors counts bytes received from mirrors (index files and
	// packages).
	BytesFromMirrors int64 `json:"bytes_from_mirrors"`
	// DebsBySource counts .debs answered by the request's source label.
	DebsBySource map[string]int64 `json:"debs_by_source"`
	// DebBytesBySource counts .deb bytes answered by where they came from:
	// "peers", "mirror", "cache".
	DebBytesBySource map[string]int64 `json:"deb_bytes_by_source"`
	// RateServed, RatePeers and RateMirror are bytes per second over the
	// last RateWindow: answered to APT, .deb bytes from peers, from mirrors.
	RateServed float64 `json:"rate_served"`
	RatePeers  float64 `json:"rate_peers"`
	RateMirror float64 `json:"rate_mirror"`
	// Samples are the last SampleCount intervals of SampleInterval, oldest
	// first, the last one still running.
	Samples []Sample `json:"samples"`
	// Engine holds the peer side's figures (nil without a Client).
	Engine *EngineStatus `json:"engine,omitempty"`
	// CacheBytes and CachePieces are the verified packages stored.
	CacheBytes  int64 `json:"cache_bytes"`
	CachePieces int   `json:"cache_pieces"`
	// CacheCap is the byte cap on the package store (0: none or unknown).
	CacheCap int64 `json:"cache_cap"`
	// Evictions counts packages evicted from the store to stay under it.
	Evictions int64 `json:"evictions"`
	// Recent are the last requests to mirrors, newest first.
	Recent []RequestLog `json:"recent"`
}

// RateWindow is the span the Status rates are averaged over: the last
// complete samples.
const RateWindow = 6 * SampleInterval

// Status returns a snapshot of the proxy's state.
func (s *Server) Status() Status {
	snap := s.stats.snapshot()
	st := Status{Time: time.Now().UTC(), Uptime: time.Since(s.started).Seconds(), Mirrors: map[string][]string{}, DebsBySource: map[string]int64{},
		Requests: s.stats.requests.Load(), Errors: s.stats.errors.Load(), BytesServed: s.stats.bytesServed.Load(),
		BytesToday: snap.todayBytes, IndexBytes: snap.indexBytes, RequestsByCode: snap.codes, DebBytesBySource: snap.debBytes,
		Samples: snap.samples, Recent: snap.recent}
	st.RateServed, st.RatePeers, st.RateMirror = rates(snap.samples)
	var eng EngineStatus
	if s.cfg.Engine != nil {
		eng = s.cfg.Engine()
		st.Engine = &eng
	}
	st.MirrorStates = s.mirrorStates(eng.Mirrors)
	for _, m := range s.cfg.Mirrors.List() {
		for _, u := range m.URLs {
			st.Mirrors[m.Name] = append(st.Mirrors[m.Name], u.String())
		}
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
	st.CacheCap, st.Evictions = s.stats.cacheStats()
	return st
}

// DebBytes counts n bytes of a served .deb by where they came from:
// BytesFromPeers, BytesFromMirror or BytesFromCache. A .deb that came
// partly from peers and partly from the mirror is counted with two calls.
// Call it once per .deb answered to a GET (not for HEAD), from any
// goroutine.
func (s *Server) DebBytes(source string, n int64) { s.stats.debBytes(source, n) }

// SetCacheStats gives the Server a function reporting the package store's
// byte cap (0: none) and evictions so far, for the status pages. Call it
// once after New, before serving; f is called on every Status and must be
// safe for concurrent use.
func (s *Server) SetCacheStats(f func() (capBytes, evictions int64)) { s.stats.setCacheStats(f) }

// rates averages the complete samples of the last RateWindow.
func rates(samples []Sample) (served, peers, mirror float64) {
	n := int(RateWindow / SampleInterval)
	if len(samples) < n+1 {
		return 0, 0, 0
	}
	for _, s := range samples[len(samples)-1-n : len(samples)-1] {
		served += float64(s.Served)
		peers += float64(s.Peers)
		mirror += float64(s.Mirror)
	}
	secs := RateWindow.Seconds()
	return served / secs, peers / secs, mirror / secs
}

// mirrorStates lists every configured base URL with its recorded state,
// then applies the engine's states (same Name and URL: replaced).
func (s *Server) mirrorStates(fromEngine []MirrorState) []MirrorState {
	var out []MirrorState
	idx := map[string]int{}
	for _, m := range s.cfg.Mirrors.List() {
		for _, u := range m.URLs {
			ms := s.mirrorState.get(m.Name)
			ms.URL = u.String()
			idx[ms.Name+" "+ms.URL] = len(out)
			out = append(out, ms)
		}
	}
	for _, e := range fromEngine {
		if i, ok := idx[e.Name+" "+e.URL]; ok {
			out[i] = e
			continue
		}
		idx[e.Name+" "+e.URL] = len(out)
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].URL < out[j].URL
	})
	return out
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
	case "/favicon.ico":
		return pipeline.Bytes(http.StatusOK, "image/x-icon", favicon())
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

// favicon returns a 16×16 ICO (one embedded PNG): a teal disc.
func favicon() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			dx, dy := float64(x)-7.5, float64(y)-7.5
			if dx*dx+dy*dy <= 56 {
				img.Set(x, y, color.NRGBA{0x0f, 0x76, 0x6e, 0xff})
			}
			if dx*dx+dy*dy <= 9 {
				img.Set(x, y, color.NRGBA{0xff, 0xff, 0xff, 0xff})
			}
		}
	}
	var p bytes.Buffer
	png.Encode(&p, img) // cannot fail on a bytes.Buffer
	var b bytes.Buffer
	// ICONDIR (reserved, type 1 = icon, 1 image), then one ICONDIRENTRY.
	binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	b.Write([]byte{16, 16, 0, 0})
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})
	binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(p.Len()), 6 + 16})
	b.Write(p.Bytes())
	return b.Bytes()
}

// promLabel escapes a label value for the Prometheus text format:
// backslash, double quote and newline.
func promLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// metrics renders the Prometheus text exposition format (version 0.0.4).
func (s *Server) metrics() []byte {
	st := s.Status()
	var b strings.Builder
	head := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric := func(name, typ, help string, v any) {
		head(name, typ, help)
		fmt.Fprintf(&b, "%s %v\n", name, v)
	}
	var eng EngineStatus
	if st.Engine != nil {
		eng = *st.Engine
	}

	head("debtorrent_deb_bytes_total", "counter", "Bytes of .deb packages served to APT, by where they came from (peers, mirror, cache).")
	debBytes := map[string]int64{BytesFromPeers: 0, BytesFromMirror: 0, BytesFromCache: 0}
	for k, v := range st.DebBytesBySource {
		debBytes[k] = v
	}
	for _, k := range sortedKeys(debBytes) {
		fmt.Fprintf(&b, "debtorrent_deb_bytes_total{source=\"%s\"} %d\n", promLabel(k), debBytes[k])
	}
	metric("debtorrent_index_bytes_total", "counter", "Bytes of index files (Release, Packages, ...) served to APT.", st.IndexBytes)
	head("debtorrent_requests_total", "counter", "Requests answered, by HTTP status code.")
	for _, k := range sortedKeys(st.RequestsByCode) {
		fmt.Fprintf(&b, "debtorrent_requests_total{code=\"%s\"} %d\n", promLabel(k), st.RequestsByCode[k])
	}
	head("debtorrent_mirror_up", "gauge", "1 if the last request to the mirror worked, 0 if it failed (absent: not used yet).")
	for _, m := range st.MirrorStates {
		up := -1
		switch m.State {
		case MirrorUp:
			up = 1
		case MirrorDown:
			up = 0
		}
		if up >= 0 {
			fmt.Fprintf(&b, "debtorrent_mirror_up{mirror=\"%s\",url=\"%s\"} %d\n", promLabel(m.Name), promLabel(m.URL), up)
		}
	}
	metric("debtorrent_peers", "gauge", "Connected peers.", eng.Peers)
	metric("debtorrent_cache_bytes", "gauge", "Bytes of verified packages stored.", st.CacheBytes)
	metric("debtorrent_cache_cap_bytes", "gauge", "Cap on the package store in bytes (0: none).", st.CacheCap)
	metric("debtorrent_cache_evictions_total", "counter", "Packages evicted from the store to stay under its cap.", st.Evictions)
	metric("debtorrent_verification_failures_total", "counter", "Pieces that failed their hash check.", eng.VerificationFailures)
	metric("debtorrent_banned_peers_total", "counter", "Peers banned for bad data or misbehaviour.", eng.BannedPeers)
	metric("debtorrent_peer_download_bytes_total", "counter", "Payload bytes received from peers.", eng.BytesFromPeers)
	metric("debtorrent_peer_upload_bytes_total", "counter", "Payload bytes sent to peers.", eng.BytesToPeers)

	// The first names, kept for existing dashboards.
	metric("debtorrent_proxy_requests_total", "counter", "Requests answered.", st.Requests)
	metric("debtorrent_proxy_errors_total", "counter", "Requests answered with a status of 400 or more.", st.Errors)
	metric("debtorrent_proxy_served_bytes_total", "counter", "Body bytes sent to APT.", st.BytesServed)
	metric("debtorrent_proxy_mirror_bytes_total", "counter", "Bytes received from mirrors.", st.BytesFromMirrors)
	metric("debtorrent_proxy_torrents", "gauge", "Debian torrents made from Packages files.", len(st.Torrents))
	metric("debtorrent_proxy_cache_pieces", "gauge", "Verified packages stored.", st.CachePieces)
	head("debtorrent_proxy_debs_total", "counter", "Packages served, by source.")
	for _, k := range sortedKeys(st.DebsBySource) {
		fmt.Fprintf(&b, "debtorrent_proxy_debs_total{source=\"%s\"} %d\n", promLabel(k), st.DebsBySource[k])
	}
	return []byte(b.String())
}

// statusHTML renders the dashboard: the page carries the current Status as
// JSON (json.Marshal escapes <, > and &, so it is safe in a script) and
// renders it in the browser, then polls /status.json every 2 s.
func (s *Server) statusHTML() []byte {
	js, err := json.Marshal(s.Status())
	if err != nil {
		return []byte("status page error: " + template.HTMLEscapeString(err.Error()))
	}
	var b strings.Builder
	if err := dashboardPage.Execute(&b, map[string]any{"JSON": template.JS(js), "Interval": int(SampleInterval.Seconds())}); err != nil {
		return []byte("status page error: " + template.HTMLEscapeString(err.Error()))
	}
	return []byte(b.String())
}

// dashboardPage is the whole dashboard: no external assets, rendered by
// its inline script from the embedded Status and then /status.json.
var dashboardPage = template.Must(template.New("dashboard").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>debtorrent proxy</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.ico">
<style>
:root{--bg:#f4f6f8;--card:#fff;--ink:#1d2733;--mute:#6b7785;--line:#e3e8ee;--peers:#0f9d8a;--mirror:#e8870e;--served:#3b6fd8;--cache:#5b6b8c;--bad:#d23c3c}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{display:flex;align-items:center;gap:14px;padding:12px 24px;background:#14202e;color:#fff}
header h1{font-size:18px;margin:0;font-weight:600}
header .dot{width:14px;height:14px;border-radius:50%;background:var(--peers);box-shadow:0 0 0 3px #0f9d8a55}
header .meta{margin-left:auto;color:#b8c4d2;font-size:13px;white-space:nowrap}
header a{color:#8fd3ff}
header .live{display:inline-block;width:8px;height:8px;border-radius:50%;background:#3ccf7a;margin-right:6px}
header .live.off{background:var(--bad)}
main{max-width:1280px;margin:0 auto;padding:16px 24px 32px}
.cards{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;min-width:0}
.card h2{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--mute);margin:0 0 6px;font-weight:600}
.big{font-size:26px;font-weight:650;white-space:nowrap}
.sub{color:var(--mute);font-size:12.5px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.bar{height:8px;border-radius:4px;background:var(--line);overflow:hidden;display:flex;margin:8px 0 6px}
.bar span{display:block;height:100%}
.rates div{display:flex;justify-content:space-between;gap:8px;white-space:nowrap}
.rates b{font-weight:600}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.wide{margin-top:12px}
.chartbox{position:relative;height:170px}
.chartbox svg{position:absolute;left:64px;right:0;top:0;width:calc(100% - 64px);height:150px;display:block}
.ylab{position:absolute;left:0;width:58px;white-space:nowrap;text-align:right;font-size:11px;color:var(--mute)}
.xlab{position:absolute;bottom:0;font-size:11px;color:var(--mute);transform:translateX(-50%)}
.legend{float:right;font-size:12px;color:var(--mute);text-transform:none;letter-spacing:0}
.legend span{margin-left:12px}
.cols{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:12px}
table{width:100%;border-collapse:collapse;table-layout:fixed}
th{font-size:12px;color:var(--mute);font-weight:600;text-align:left;border-bottom:1px solid var(--line);padding:4px 6px}
td{padding:4px 6px;border-bottom:1px solid #f0f2f5;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:0}
.empty{color:var(--mute);font-style:italic}
.pill{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;line-height:18px;border:1px solid transparent}
.s-cache{background:#e6eaf3;color:#3c4a66}
.s-peers{background:#d5f3ee;color:#08695c}
.s-mirror{background:#fdebd3;color:#95520a}
.s-mixed{background:linear-gradient(90deg,#d5f3ee 50%,#fdebd3 50%);color:#34425a}
.s-unlisted{background:#fff6c7;color:#7a6300}
.s-index{background:#eef1f4;color:#56606c}
.s-refused{background:#fff;color:var(--bad);border-color:var(--bad)}
.s-self{background:#f4f4f4;color:#999}
.s-error{background:var(--bad);color:#fff}
.s-other{background:#ece6f7;color:#5a3d91}
.st-up{background:#d9f5e3;color:#17743e}
.st-down{background:#fbe0e0;color:#a42626}
.st-unknown{background:#eef1f4;color:#6b7785}
.code-bad{color:var(--bad);font-weight:600}
.clip{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.err{font-size:12.5px}
</style></head>
<body>
<header><span class="dot"></span><h1>debtorrent proxy</h1>
<span class="meta"><span class="live" id="live"></span><span id="updated"></span> · up <span id="uptime"></span> · <a href="/status.json">JSON</a> · <a href="/metrics">metrics</a></span></header>
<main>
<section class="cards">
 <div class="card"><h2>Served today</h2><div class="big" id="today"></div><div class="sub" id="todaysub"></div></div>
 <div class="card"><h2>Served in total</h2><div class="big" id="total"></div><div class="sub" id="totalsub"></div></div>
 <div class="card" id="sharecard"><h2>Packages from peers</h2><div class="big" id="share"></div>
  <div class="bar"><span id="sharepeers" style="background:var(--peers)"></span><span id="sharemirror" style="background:var(--mirror)"></span></div>
  <div class="sub" id="saved"></div><div class="sub" id="savedsub"></div></div>
 <div class="card rates"><h2>Now</h2>
  <div><span><i class="key" style="background:var(--served)"></i>to APT</span><b id="rserved"></b></div>
  <div><span><i class="key" style="background:var(--peers)"></i>from peers</span><b id="rpeers"></b></div>
  <div><span><i class="key" style="background:var(--mirror)"></i>from mirrors</span><b id="rmirror"></b></div>
  <div class="sub" id="peercount"></div></div>
 <div class="card"><h2>Cache</h2><div class="big" id="cache"></div>
  <div class="bar"><span id="cachebar" style="background:var(--cache)"></span></div><div class="sub" id="cachesub"></div></div>
</section>
<section class="card wide"><h2>Throughput, last 15 minutes
 <span class="legend"><span><i class="key" style="background:var(--served)"></i>to APT</span><span><i class="key" style="background:var(--peers)"></i>from peers</span><span><i class="key" style="background:var(--mirror)"></i>from mirrors</span></span></h2>
 <div class="chartbox" id="chartbox"><span class="ylab" style="top:0" id="ymax"></span><span class="ylab" style="top:68px" id="ymid"></span><span class="ylab" style="top:140px">0</span>
 <svg id="chart" viewBox="0 0 900 150" preserveAspectRatio="none" role="img" aria-label="throughput chart">
  <line x1="0" y1="0.5" x2="900" y2="0.5" stroke="#e3e8ee"/><line x1="0" y1="75" x2="900" y2="75" stroke="#e3e8ee"/><line x1="0" y1="149.5" x2="900" y2="149.5" stroke="#c9d1da"/>
  <path id="pserved" fill="#3b6fd833" stroke="#3b6fd8" stroke-width="1.5" vector-effect="non-scaling-stroke"/>
  <path id="ppeers" fill="none" stroke="#0f9d8a" stroke-width="2" vector-effect="non-scaling-stroke"/>
  <path id="pmirror" fill="none" stroke="#e8870e" stroke-width="2" vector-effect="non-scaling-stroke"/>
 </svg>
 <span class="xlab" style="left:calc(64px + 1.5em)">−15 min</span><span class="xlab" style="left:calc(64px + (100% - 64px)/3)">−10 min</span><span class="xlab" style="left:calc(64px + 2*(100% - 64px)/3)">−5 min</span><span class="xlab" style="left:calc(100% - 1.2em)">now</span></div>
</section>
<section class="cols wide">
 <div class="card"><h2>Swarms</h2><table id="swarms"><colgroup><col><col style="width:76px"><col style="width:76px"><col style="width:70px"><col style="width:58px"><col style="width:74px"></colgroup>
  <thead><tr><th>swarm</th><th class="n">packages</th><th class="n">wanted</th><th class="n">done</th><th class="n">peers</th><th class="n">machines</th></tr></thead><tbody></tbody></table></div>
 <div class="card"><h2>Mirrors</h2><table id="mirrors"><colgroup><col style="width:26%"><col><col style="width:74px"></colgroup>
  <thead><tr><th>mirror</th><th>URL · last error</th><th>state</th></tr></thead><tbody></tbody></table></div>
</section>
<section class="card wide"><h2>Recent requests</h2><table id="recent"><colgroup><col style="width:150px"><col style="width:60px"><col><col style="width:56px"><col style="width:90px"><col style="width:92px"><col style="width:70px"></colgroup>
 <thead><tr><th>time</th><th>method</th><th>URL</th><th class="n">status</th><th class="n">size</th><th>source</th><th class="n">seconds</th></tr></thead><tbody></tbody></table></section>
</main>
<script id="initial" type="application/json">{{.JSON}}</script>
<script>
"use strict";
const $ = id => document.getElementById(id);
const SOURCES = ["cache","peers","mirror","mixed","unlisted","index","refused","self","error"];
function human(n) {
  n = Number(n) || 0;
  const u = ["B","kB","MB","GB","TB","PB"];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + " " + u[i];
}
const rate = n => human(n) + "/s";
function dur(s) {
  s = Math.floor(s);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s/60) + " min";
  if (s < 86400) return Math.floor(s/3600) + " h " + Math.floor(s%3600/60) + " min";
  return Math.floor(s/86400) + " d " + Math.floor(s%86400/3600) + " h";
}
function when(iso) {
  const d = new Date(iso);
  if (isNaN(d) || d.getFullYear() < 2000) return "";
  const o = {month:"short", day:"numeric", hour:"2-digit", minute:"2-digit", second:"2-digit", hourCycle:"h23"};
  if (d.getFullYear() !== new Date().getFullYear()) o.year = "numeric";
  return d.toLocaleString(undefined, o);
}
function cell(tr, text, cls, title) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  if (title) td.title = title;
  tr.appendChild(td);
  return td;
}
function pill(td, text, cls) {
  td.textContent = "";
  const s = document.createElement("span");
  s.className = "pill " + cls;
  s.textContent = text;
  td.appendChild(s);
}
function fill(id, rows, cols, build) {
  const tb = $(id).tBodies[0];
  tb.textContent = "";
  if (!rows || rows.length === 0) {
    const tr = tb.insertRow(); const td = cell(tr, "none yet", "empty"); td.colSpan = cols; return;
  }
  for (const r of rows) build(tb.insertRow(), r);
}
function path(samples, key, max, area) {
  const n = samples.length;
  if (n < 2) return "";
  let d = "";
  samples.forEach((s, i) => {
    const x = (i / (n - 1) * 900).toFixed(1);
    const y = (150 - (s[key] / {{.Interval}}) / max * 146).toFixed(1);
    d += (i ? "L" : "M") + x + " " + y;
  });
  return area ? d + "L900 150L0 150Z" : d;
}
function render(st) {
  const debs = st.deb_bytes_by_source || {};
  const peers = debs.peers || 0, mirror = debs.mirror || 0, cache = debs.cache || 0;
  $("today").textContent = human(st.bytes_today);
  $("todaysub").textContent = "since midnight, local time";
  $("total").textContent = human(st.bytes_served);
  $("totalsub").textContent = (st.requests || 0).toLocaleString() + " requests, " + (st.errors || 0).toLocaleString() + " errors";
  const from = peers + mirror;
  const share = from > 0 ? peers / from : 0;
  $("share").textContent = from > 0 ? (share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0) + " %" : "–";
  $("sharepeers").style.width = (share * 100) + "%";
  $("sharemirror").style.width = (from > 0 ? (1 - share) * 100 : 0) + "%";
  $("saved").textContent = human(peers) + " saved: came from peers";
  $("savedsub").textContent = human(mirror) + " mirror · " + human(cache) + " cache";
  $("rserved").textContent = rate(st.rate_served);
  $("rpeers").textContent = rate(st.rate_peers);
  $("rmirror").textContent = rate(st.rate_mirror);
  $("peercount").textContent = st.engine ? st.engine.peers + " peers connected" : "mirror only (no peers)";
  $("cache").textContent = human(st.cache_bytes);
  const cap = st.cache_cap || 0;
  $("cachebar").style.width = (cap > 0 ? Math.min(100, st.cache_bytes / cap * 100) : 0) + "%";
  $("cachesub").textContent = (cap > 0 ? "of " + human(cap) : "no cap") + " · " + (st.cache_pieces || 0) + " packages · " + (st.evictions || 0) + " evicted";
  $("uptime").textContent = dur(st.uptime_seconds || 0);
  $("updated").textContent = "updated " + new Date(st.time).toLocaleTimeString(undefined, {hourCycle: "h23"});

  const samples = st.samples || [];
  let max = 0;
  for (const s of samples) max = Math.max(max, s.served, s.peers, s.mirror);
  max = Math.max(max / {{.Interval}}, 1000) * 1.1;
  $("ymax").textContent = rate(max); $("ymid").textContent = rate(max / 2);
  $("pserved").setAttribute("d", path(samples, "served", max, true));
  $("ppeers").setAttribute("d", path(samples, "peers", max, false));
  $("pmirror").setAttribute("d", path(samples, "mirror", max, false));

  fill("swarms", st.torrents, 6, (tr, t) => {
    cell(tr, t.name, "", t.name + "\n" + t.index + "\n" + t.infohash);
    cell(tr, t.packages, "n"); cell(tr, t.pieces_wanted, "n"); cell(tr, t.pieces_done, "n");
    cell(tr, t.peers, "n"); cell(tr, t.machines, "n");
  });
  fill("mirrors", st.mirror_states, 3, (tr, m) => {
    cell(tr, m.name, "", m.name);
    const td = cell(tr, "", "", m.url + (m.last_error ? "\n" + m.last_error : "") + (when(m.since) ? "\nsince " + when(m.since) : ""));
    const u = document.createElement("div"); u.className = "clip"; u.textContent = m.url; td.appendChild(u);
    if (m.last_error) { const e = document.createElement("div"); e.className = "clip code-bad err"; e.textContent = m.last_error; td.appendChild(e); }
    const state = m.state || "unknown";
    pill(cell(tr, ""), state, state === "up" ? "st-up" : state === "down" ? "st-down" : "st-unknown");
  });
  fill("recent", st.recent, 7, (tr, r) => {
    cell(tr, when(r.time)); cell(tr, r.method);
    cell(tr, r.url, "", r.url);
    cell(tr, r.status, r.status >= 400 ? "n code-bad" : "n");
    cell(tr, human(r.bytes), "n");
    const src = r.source || "";
    pill(cell(tr, ""), src || "?", SOURCES.includes(src) ? "s-" + src : "s-other");
    cell(tr, (r.duration_seconds || 0).toFixed(3), "n");
  });
  const root = document.documentElement;
  root.dataset.fits = String(root.scrollWidth <= window.innerWidth);
  root.dataset.renders = String(Number(root.dataset.renders || 0) + 1);
}
let st0 = null;
try { st0 = JSON.parse($("initial").textContent); } catch (e) {}
if (st0) render(st0);
async function poll() {
  try {
    const r = await fetch("/status.json", {cache: "no-store"});
    if (!r.ok) throw new Error(r.status);
    render(await r.json());
    $("live").className = "live";
    $("live").title = "live";
  } catch (e) {
    $("live").className = "live off";
    $("live").title = "cannot reach the proxy: " + e;
  }
}
setInterval(poll, 2000);
</script>
</body></html>
`))
