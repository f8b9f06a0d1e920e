package tracker

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/bencode"
	"github.com/debtorrent/debtorrent/metainfo"
)

const (
	// maxQueryLen bounds an HTTP request's query string.
	maxQueryLen = 8 << 10
	// maxScrapeHashes is how many infohashes one HTTP scrape may name.
	maxScrapeHashes = maxUDPScrapeHashes
)

// ServeHTTP answers announces on any path ending in /announce and scrapes
// on any path ending in /scrape; other paths get 404. Refusals and malformed
// requests get a bencoded failure reason.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/announce"):
		s.serveAnnounce(w, r)
	case strings.HasSuffix(r.URL.Path, "/scrape"):
		s.serveScrape(w, r)
	default:
		http.NotFound(w, r)
	}
}

// announceQuery is an HTTP announce as the server reads it.
type announceQuery struct {
	req      AnnounceRequest
	dict     bool // compact=0: the dictionary model
	noPeerID bool // no_peer_id=1: leave peer ids out of the dictionary model
}

// httpAnnounceOut is the server's bencoded announce reply.
type httpAnnounceOut struct {
	Complete    int    `bencode:"complete"`
	Incomplete  int    `bencode:"incomplete"`
	Interval    int64  `bencode:"interval"`
	MinInterval int64  `bencode:"min interval"`
	Peers       any    `bencode:"peers"`
	Peers6      []byte `bencode:"peers6,omitempty"`
}

// dictPeerOut is one peer of the dictionary model, as the server writes it.
type dictPeerOut struct {
	IP     string `bencode:"ip"`
	PeerID []byte `bencode:"peer id,omitempty"`
	Port   int    `bencode:"port"`
}

func (s *Server) serveAnnounce(w http.ResponseWriter, r *http.Request) {
	q, err := parseAnnounceQuery(r.URL.RawQuery)
	if err != nil {
		s.badRequests.Add(1)
		s.log.Debug("tracker: bad announce", "from", r.RemoteAddr, "err", err)
		writeFailure(w, http.StatusBadRequest, err.Error())
		return
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		writeFailure(w, http.StatusInternalServerError, "cannot read your address")
		return
	}
	peer := s.peerAddr(remote.Addr(), q.req.IP, q.req.Port)
	res, err := s.announce(&q.req, remote.Addr().Unmap(), peer, false, q.dict && !q.noPeerID)
	if err != nil {
		writeFailure(w, http.StatusOK, err.Error())
		return
	}
	out := httpAnnounceOut{
		Complete:    res.seeders,
		Incomplete:  res.leechers,
		Interval:    int64(s.cfg.Interval / time.Second),
		MinInterval: int64(s.cfg.Interval / 2 / time.Second),
	}
	if q.dict {
		list := make([]dictPeerOut, len(res.peers))
		for i, p := range res.peers {
			list[i] = dictPeerOut{IP: p.Addr.Addr().String(), Port: int(p.Addr.Port())}
			if !q.noPeerID {
				list[i].PeerID = p.ID
			}
		}
		out.Peers = list
	} else {
		var v4, v6 []byte
		for _, p := range res.peers {
			if p.Addr.Addr().Is4() {
				v4 = appendCompactPeer(v4, p.Addr)
			} else {
				v6 = appendCompactPeer(v6, p.Addr)
			}
		}
		if v4 == nil {
			v4 = []byte{}
		}
		out.Peers, out.Peers6 = v4, v6
	}
	writeBencode(w, http.StatusOK, out)
}

func (s *Server) serveScrape(w http.ResponseWriter, r *http.Request) {
	hashes, err := parseScrapeQuery(r.URL.RawQuery)
	if err != nil {
		s.badRequests.Add(1)
		writeFailure(w, http.StatusBadRequest, err.Error())
		return
	}
	stats := s.scrape(hashes)
	files := make(map[string]httpScrapeEntry, len(stats))
	for h, st := range stats {
		files[string(h[:])] = httpScrapeEntry{
			Complete:   int64(st.Seeders),
			Downloaded: int64(st.Completed),
			Incomplete: int64(st.Leechers),
		}
	}
	writeBencode(w, http.StatusOK, struct {
		Files map[string]httpScrapeEntry `bencode:"files"`
	}{files})
}

// parseAnnounceQuery reads an announce's query string. info_hash, peer_id
// and port are required; a missing left counts as a leecher.
func parseAnnounceQuery(raw string) (announceQuery, error) {
	var q announceQuery
	v, err := parseQuery(raw)
	if err != nil {
		return q, err
	}
	r := &q.req
	if err := binaryParam(v, "info_hash", r.InfoHash[:]); err != nil {
		return q, err
	}
	if err := binaryParam(v, "peer_id", r.PeerID[:]); err != nil {
		return q, err
	}
	port, err := strconv.ParseUint(v.Get("port"), 10, 16)
	if err != nil || port == 0 {
		return q, fmt.Errorf("port %q: want a number from 1 to 65535", v.Get("port"))
	}
	r.Port = uint16(port)
	for _, c := range []struct {
		name string
		dst  *int64
		def  int64
	}{{"uploaded", &r.Uploaded, 0}, {"downloaded", &r.Downloaded, 0}, {"left", &r.Left, -1}} {
		*c.dst = c.def
		if !v.Has(c.name) {
			continue
		}
		n, err := strconv.ParseInt(v.Get(c.name), 10, 64)
		if err != nil || n < 0 {
			return q, fmt.Errorf("%s %q: want a non-negative number", c.name, v.Get(c.name))
		}
		*c.dst = n
	}
	if r.Event, err = parseEvent(v.Get("event")); err != nil {
		return q, err
	}
	if v.Has("numwant") {
		n, err := strconv.Atoi(v.Get("numwant"))
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return q, fmt.Errorf("numwant %q: want a number", v.Get("numwant"))
		case n < 0 || errors.Is(err, strconv.ErrRange):
			// The tracker's default.
		case n == 0:
			r.NumWant = NoPeersWanted
		default:
			r.NumWant = n
		}
	}
	if ip, err := netip.ParseAddr(v.Get("ip")); err == nil {
		r.IP = ip // a DNS name is ignored: we do not resolve peers' names
	}
	q.dict = v.Get("compact") == "0"
	q.noPeerID = v.Get("no_peer_id") == "1"
	return q, nil
}

// parseScrapeQuery reads a scrape's infohashes (1 to maxScrapeHashes; a
// full scrape is not offered).
func parseScrapeQuery(raw string) ([]metainfo.InfoHash, error) {
	v, err := parseQuery(raw)
	if err != nil {
		return nil, err
	}
	list := v["info_hash"]
	if len(list) == 0 {
		return nil, errors.New("scrape needs at least one info_hash: full scrapes are not offered")
	}
	if len(list) > maxScrapeHashes {
		return nil, fmt.Errorf("scrape of %d infohashes: at most %d at a time", len(list), maxScrapeHashes)
	}
	hashes := make([]metainfo.InfoHash, len(list))
	for i, h := range list {
		if len(h) != 20 {
			return nil, fmt.Errorf("info_hash of %d bytes, want 20", len(h))
		}
		hashes[i] = metainfo.InfoHash([]byte(h))
	}
	return hashes, nil
}

// parseQuery decodes a bounded query string.
func parseQuery(raw string) (url.Values, error) {
	if len(raw) > maxQueryLen {
		return nil, fmt.Errorf("query of %d bytes, longer than %d", len(raw), maxQueryLen)
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return v, nil
}

// binaryParam reads a parameter that must occur once and decode to exactly
// len(dst) bytes.
func binaryParam(v url.Values, name string, dst []byte) error {
	list := v[name]
	if len(list) != 1 {
		return fmt.Errorf("%s: want exactly one, got %d", name, len(list))
	}
	if len(list[0]) != len(dst) {
		return fmt.Errorf("%s of %d bytes, want %d", name, len(list[0]), len(dst))
	}
	copy(dst, list[0])
	return nil
}

// writeFailure sends a bencoded failure reason.
func writeFailure(w http.ResponseWriter, status int, reason string) {
	writeBencode(w, status, struct {
		FailureReason string `bencode:"failure reason"`
	}{reason})
}

// writeBencode sends v bencoded.
func writeBencode(w http.ResponseWriter, status int, v any) {
	body, err := bencode.Marshal(v)
	if err != nil {
		http.Error(w, "tracker: encoding reply: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
