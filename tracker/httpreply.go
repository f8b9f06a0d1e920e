package tracker

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/debtorrent/debtorrent/bencode"
	"github.com/debtorrent/debtorrent/metainfo"
)

// maxInterval bounds the re-announce interval a tracker may ask for.
const maxInterval = 7 * 24 * time.Hour

// httpAnnounceReply is an HTTP tracker's bencoded announce reply. Peers is
// a string (compact, BEP 23) or a list of dictionaries.
type httpAnnounceReply struct {
	FailureReason *string            `bencode:"failure reason"`
	Warning       string             `bencode:"warning message"`
	Interval      int64              `bencode:"interval"`
	MinInterval   int64              `bencode:"min interval"`
	TrackerID     string             `bencode:"tracker id"`
	Complete      *int64             `bencode:"complete"`
	Incomplete    *int64             `bencode:"incomplete"`
	Peers         bencode.RawMessage `bencode:"peers"`
	Peers6        []byte             `bencode:"peers6"`
}

// dictPeer is one peer of the dictionary model.
type dictPeer struct {
	IP     string `bencode:"ip"`
	PeerID []byte `bencode:"peer id"`
	Port   int64  `bencode:"port"`
}

// httpFailure reads only the failure reason of a reply.
type httpFailure struct {
	FailureReason *string `bencode:"failure reason"`
}

// failureIn returns the failure a reply carries, or nil.
func failureIn(body []byte) *FailureError {
	var f httpFailure
	if bencode.UnmarshalLoose(body, &f) != nil || f.FailureReason == nil {
		return nil
	}
	return &FailureError{Reason: *f.FailureReason}
}

// parseHTTPAnnounce reads an HTTP tracker's announce reply (dict keys may
// be out of order, as some trackers write them). A failure reason
// is returned as a *FailureError.
func parseHTTPAnnounce(body []byte) (*AnnounceResponse, error) {
	var r httpAnnounceReply
	if err := bencode.UnmarshalLoose(body, &r); err != nil {
		return nil, fmt.Errorf("announce reply: %w", err)
	}
	if r.FailureReason != nil {
		return nil, &FailureError{Reason: *r.FailureReason}
	}
	if r.Interval < 0 || r.MinInterval < 0 {
		return nil, fmt.Errorf("announce reply: negative interval %d or min interval %d", r.Interval, r.MinInterval)
	}
	resp := &AnnounceResponse{
		Interval:    min(time.Duration(min(r.Interval, 1<<32))*time.Second, maxInterval),
		MinInterval: min(time.Duration(min(r.MinInterval, 1<<32))*time.Second, maxInterval),
		TrackerID:   r.TrackerID,
		Warning:     r.Warning,
		Seeders:     countOrUnknown(r.Complete),
		Leechers:    countOrUnknown(r.Incomplete),
	}
	peers, err := parsePeersValue(r.Peers)
	if err != nil {
		return nil, fmt.Errorf("announce reply: %w", err)
	}
	peers6, err := parseCompactPeers(r.Peers6, true)
	if err != nil {
		return nil, fmt.Errorf("announce reply: peers6: %w", err)
	}
	if len(peers)+len(peers6) > maxReplyPeers {
		return nil, fmt.Errorf("announce reply: %d peers, more than the limit of %d", len(peers)+len(peers6), maxReplyPeers)
	}
	resp.Peers = append(peers, peers6...)
	return resp, nil
}

// countOrUnknown turns an optional count into an int, -1 when absent.
func countOrUnknown(v *int64) int {
	if v == nil || *v < 0 {
		return -1
	}
	return int(min(*v, 1<<31-1))
}

// parsePeersValue reads the "peers" value: a compact string or a list of
// dictionaries. Dictionary entries whose ip is not an address literal (BEP 3
// also allows DNS names) or whose port is out of range are skipped.
func parsePeersValue(raw bencode.RawMessage) ([]Peer, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if raw[0] != 'l' {
		var compact []byte
		if err := bencode.UnmarshalLoose(raw, &compact); err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		return parseCompactPeers(compact, false)
	}
	var list []dictPeer
	if err := bencode.UnmarshalLoose(raw, &list); err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	if len(list) > maxReplyPeers {
		return nil, fmt.Errorf("peers: %d peers, more than the limit of %d", len(list), maxReplyPeers)
	}
	peers := make([]Peer, 0, len(list))
	for _, d := range list {
		ip, err := netip.ParseAddr(d.IP)
		if err != nil || d.Port <= 0 || d.Port > 65535 {
			continue
		}
		p := Peer{Addr: netip.AddrPortFrom(ip.Unmap(), uint16(d.Port))}
		if len(d.PeerID) > 0 {
			p.ID = d.PeerID
		}
		peers = append(peers, p)
	}
	return peers, nil
}

// httpScrapeReply is an HTTP tracker's bencoded scrape reply.
type httpScrapeReply struct {
	FailureReason *string                    `bencode:"failure reason"`
	Files         map[string]httpScrapeEntry `bencode:"files"`
}

type httpScrapeEntry struct {
	Complete   int64 `bencode:"complete"`
	Downloaded int64 `bencode:"downloaded"`
	Incomplete int64 `bencode:"incomplete"`
}

// errBadScrapeKey reports a files key that is not a 20-byte infohash.
var errBadScrapeKey = errors.New("scrape reply: a files key is not a 20-byte infohash")

// parseHTTPScrape reads an HTTP tracker's scrape reply.
func parseHTTPScrape(body []byte) (map[metainfo.InfoHash]ScrapeStats, error) {
	var r httpScrapeReply
	if err := bencode.UnmarshalLoose(body, &r); err != nil {
		return nil, fmt.Errorf("scrape reply: %w", err)
	}
	if r.FailureReason != nil {
		return nil, &FailureError{Reason: *r.FailureReason}
	}
	if len(r.Files) > maxReplyPeers {
		return nil, fmt.Errorf("scrape reply: %d swarms, more than the limit of %d", len(r.Files), maxReplyPeers)
	}
	out := make(map[metainfo.InfoHash]ScrapeStats, len(r.Files))
	for k, e := range r.Files {
		if len(k) != 20 {
			return nil, errBadScrapeKey
		}
		out[metainfo.InfoHash([]byte(k))] = ScrapeStats{
			Seeders:   clampCount(e.Complete),
			Completed: clampCount(e.Downloaded),
			Leechers:  clampCount(e.Incomplete),
		}
	}
	return out, nil
}

// clampCount keeps a tracker's count within [0, 2^31).
func clampCount(v int64) int {
	return int(max(0, min(v, 1<<31-1)))
}
