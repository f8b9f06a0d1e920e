package tracker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/debtorrent/debtorrent/metainfo"
)

// The UDP tracker protocol's wire format (BEP 15), used by both sides.

const (
	udpProtocolID = 0x41727101980 // magic of a connect request

	actionConnect  = 0
	actionAnnounce = 1
	actionScrape   = 2
	actionError    = 3

	// maxUDPPacket bounds a datagram either side reads.
	maxUDPPacket = 16 << 10
	// maxUDPScrapeHashes is how many infohashes one UDP scrape may carry.
	maxUDPScrapeHashes = 74
	// maxUDPErrorText bounds the error message kept from a tracker.
	maxUDPErrorText = 1024

	udpConnectLen     = 16
	udpAnnounceReqLen = 98
	udpHeaderLen      = 16 // connection id, action, transaction id
)

// udpConnectRequest builds a connect request.
func udpConnectRequest(tx uint32) []byte {
	b := make([]byte, 0, udpConnectLen)
	b = binary.BigEndian.AppendUint64(b, udpProtocolID)
	b = binary.BigEndian.AppendUint32(b, actionConnect)
	return binary.BigEndian.AppendUint32(b, tx)
}

// udpAnnounceRequest builds an announce request.
func udpAnnounceRequest(connID uint64, tx uint32, r *AnnounceRequest) []byte {
	b := make([]byte, 0, udpAnnounceReqLen)
	b = binary.BigEndian.AppendUint64(b, connID)
	b = binary.BigEndian.AppendUint32(b, actionAnnounce)
	b = binary.BigEndian.AppendUint32(b, tx)
	b = append(b, r.InfoHash[:]...)
	b = append(b, r.PeerID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Downloaded))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Left))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Uploaded))
	b = binary.BigEndian.AppendUint32(b, uint32(r.Event))
	var ip [4]byte // BEP 15 has room for an IPv4 address only
	if r.IP.Is4() {
		ip = r.IP.As4()
	}
	b = append(b, ip[:]...)
	b = binary.BigEndian.AppendUint32(b, r.Key)
	numWant := int32(-1) // the tracker's default
	switch {
	case r.NumWant == NoPeersWanted:
		numWant = 0
	case r.NumWant > 0:
		numWant = int32(min(r.NumWant, 1<<20))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(numWant))
	return binary.BigEndian.AppendUint16(b, r.Port)
}

// udpScrapeRequest builds a scrape request for at most maxUDPScrapeHashes
// infohashes.
func udpScrapeRequest(connID uint64, tx uint32, hashes []metainfo.InfoHash) []byte {
	b := make([]byte, 0, udpHeaderLen+20*len(hashes))
	b = binary.BigEndian.AppendUint64(b, connID)
	b = binary.BigEndian.AppendUint32(b, actionScrape)
	b = binary.BigEndian.AppendUint32(b, tx)
	for _, h := range hashes {
		b = append(b, h[:]...)
	}
	return b
}

// udpReply is a reply's header; body is what follows it.
type udpReply struct {
	action uint32
	tx     uint32
	body   []byte
}

// parseUDPReply splits a reply into its action, transaction id and body.
func parseUDPReply(b []byte) (udpReply, error) {
	if len(b) < 8 {
		return udpReply{}, fmt.Errorf("udp reply: %d bytes, shorter than its 8-byte header", len(b))
	}
	return udpReply{
		action: binary.BigEndian.Uint32(b),
		tx:     binary.BigEndian.Uint32(b[4:]),
		body:   b[8:],
	}, nil
}

// udpErrorText turns an error reply's body into a FailureError.
func udpErrorText(body []byte) error {
	if len(body) > maxUDPErrorText {
		body = body[:maxUDPErrorText]
	}
	msg := strings.ToValidUTF8(string(body), string(utf8.RuneError))
	return &FailureError{Reason: msg}
}

// parseUDPConnect reads a connect reply's body: the connection id.
func parseUDPConnect(body []byte) (uint64, error) {
	if len(body) < 8 {
		return 0, fmt.Errorf("udp connect reply: body of %d bytes, want 8", len(body))
	}
	return binary.BigEndian.Uint64(body), nil
}

// parseUDPAnnounce reads an announce reply's body; ipv6 says whether the
// peers are 18-byte IPv6 entries (the reply came over IPv6).
func parseUDPAnnounce(body []byte, ipv6 bool) (*AnnounceResponse, error) {
	if len(body) < 12 {
		return nil, fmt.Errorf("udp announce reply: body of %d bytes, shorter than 12", len(body))
	}
	interval := binary.BigEndian.Uint32(body)
	resp := &AnnounceResponse{
		Interval: time.Duration(interval) * time.Second,
		Leechers: int(binary.BigEndian.Uint32(body[4:]) & 0x7fffffff),
		Seeders:  int(binary.BigEndian.Uint32(body[8:]) & 0x7fffffff),
	}
	peers, err := parseCompactPeers(body[12:], ipv6)
	if err != nil {
		return nil, fmt.Errorf("udp announce reply: %w", err)
	}
	resp.Peers = peers
	return resp, nil
}

// parseUDPScrape reads a scrape reply's body for the hashes asked.
func parseUDPScrape(body []byte, hashes []metainfo.InfoHash) (map[metainfo.InfoHash]ScrapeStats, error) {
	if len(body) != 12*len(hashes) {
		return nil, fmt.Errorf("udp scrape reply: body of %d bytes for %d infohashes, want %d", len(body), len(hashes), 12*len(hashes))
	}
	out := make(map[metainfo.InfoHash]ScrapeStats, len(hashes))
	for i, h := range hashes {
		e := body[12*i:]
		out[h] = ScrapeStats{
			Seeders:   int(binary.BigEndian.Uint32(e) & 0x7fffffff),
			Completed: int(binary.BigEndian.Uint32(e[4:]) & 0x7fffffff),
			Leechers:  int(binary.BigEndian.Uint32(e[8:]) & 0x7fffffff),
		}
	}
	return out, nil
}

// udpRequest is a request as the server reads it.
type udpRequest struct {
	connID   uint64
	action   uint32
	tx       uint32
	announce AnnounceRequest     // action announce
	hashes   []metainfo.InfoHash // action scrape
}

// errUDPTooShort is returned for datagrams too short to carry a header; the
// server drops them without a reply.
var errUDPTooShort = errors.New("udp request shorter than its 16-byte header")

// parseUDPRequest reads a client's datagram. A connect request's connID is
// the protocol magic.
func parseUDPRequest(b []byte) (udpRequest, error) {
	if len(b) < udpHeaderLen {
		return udpRequest{}, errUDPTooShort
	}
	r := udpRequest{
		connID: binary.BigEndian.Uint64(b),
		action: binary.BigEndian.Uint32(b[8:]),
		tx:     binary.BigEndian.Uint32(b[12:]),
	}
	body := b[udpHeaderLen:]
	switch r.action {
	case actionConnect:
		if r.connID != udpProtocolID {
			return r, fmt.Errorf("udp connect: wrong protocol id %#x", r.connID)
		}
	case actionAnnounce:
		if len(b) < udpAnnounceReqLen {
			return r, fmt.Errorf("udp announce: %d bytes, want at least %d", len(b), udpAnnounceReqLen)
		}
		a := &r.announce
		copy(a.InfoHash[:], body[0:20])
		copy(a.PeerID[:], body[20:40])
		a.Downloaded = clampInt64(binary.BigEndian.Uint64(body[40:]))
		a.Left = clampInt64(binary.BigEndian.Uint64(body[48:]))
		a.Uploaded = clampInt64(binary.BigEndian.Uint64(body[56:]))
		a.Event = Event(binary.BigEndian.Uint32(body[64:]))
		if a.Event > EventStopped {
			return r, fmt.Errorf("udp announce: unknown event %d", a.Event)
		}
		if ip := netip.AddrFrom4([4]byte(body[68:72])); !ip.IsUnspecified() {
			a.IP = ip
		}
		a.Key = binary.BigEndian.Uint32(body[72:])
		switch n := int32(binary.BigEndian.Uint32(body[76:])); {
		case n == 0:
			a.NumWant = NoPeersWanted
		case n > 0:
			a.NumWant = int(n)
		}
		a.Port = binary.BigEndian.Uint16(body[80:])
		// Anything after byte 98 is BEP 41 options, which we do not use.
	case actionScrape:
		if len(body)%20 != 0 || len(body) == 0 {
			return r, fmt.Errorf("udp scrape: %d bytes of infohashes is not a positive multiple of 20", len(body))
		}
		if len(body)/20 > maxUDPScrapeHashes {
			return r, fmt.Errorf("udp scrape: %d infohashes, more than the limit of %d", len(body)/20, maxUDPScrapeHashes)
		}
		for i := 0; i < len(body); i += 20 {
			r.hashes = append(r.hashes, metainfo.InfoHash(body[i:i+20]))
		}
	default:
		return r, fmt.Errorf("udp request: unknown action %d", r.action)
	}
	return r, nil
}

// clampInt64 reads an unsigned counter, keeping huge values positive.
func clampInt64(v uint64) int64 {
	if v > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(v)
}

// appendUDPHeader starts a reply.
func appendUDPHeader(b []byte, action, tx uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, action)
	return binary.BigEndian.AppendUint32(b, tx)
}
