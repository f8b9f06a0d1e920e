package metainfo

import (
	"fmt"
	"net/url"
	"strings"
)

// Limits on magnet links, which arrive from untrusted places (web pages,
// command lines, other programs).
const (
	// MaxMagnetLength is the longest magnet URI ParseMagnet accepts, in bytes.
	MaxMagnetLength = 64 << 10
	// MaxMagnetTrackers is the largest number of "tr" parameters ParseMagnet
	// accepts.
	MaxMagnetTrackers = 500
)

// Magnet is a BEP 9 magnet link: enough to find a swarm and fetch the info
// dictionary from its peers.
type Magnet struct {
	// InfoHash names the torrent (the "xt=urn:btih:" parameter).
	InfoHash InfoHash
	// Name is the suggested display name ("dn"), possibly empty.
	Name string
	// Trackers lists the tracker announce URLs ("tr"), in the link's order.
	Trackers []string
}

// ParseMagnet reads a magnet URI such as
//
//	magnet:?xt=urn:btih:<40 hex digits or 32 base32 characters>&dn=<name>&tr=<url>&tr=<url>
//
// The infohash may be hex (either case) or base32. Parameters other than xt,
// dn and tr are ignored, as is an "xt=urn:btmh:" (BitTorrent v2) topic next to
// the v1 one. A link without a v1 infohash, or with two different ones, is an
// error.
func ParseMagnet(s string) (Magnet, error) {
	var m Magnet
	if len(s) > MaxMagnetLength {
		return m, fmt.Errorf("metainfo: magnet link of %d bytes is longer than %d", len(s), MaxMagnetLength)
	}
	rest, ok := strings.CutPrefix(s, "magnet:?")
	if !ok {
		return m, fmt.Errorf("metainfo: %q is not a magnet link: it must start with \"magnet:?\"", abbreviate(s))
	}
	params, err := url.ParseQuery(rest)
	if err != nil {
		return m, fmt.Errorf("metainfo: magnet link: %w", err)
	}
	found, sawV2 := false, false
	for _, xt := range params["xt"] {
		hash, isV1 := strings.CutPrefix(xt, "urn:btih:")
		if !isV1 {
			sawV2 = sawV2 || strings.HasPrefix(xt, "urn:btmh:")
			continue
		}
		h, err := ParseInfoHash(hash)
		if err != nil {
			return m, fmt.Errorf("metainfo: magnet link: %w", err)
		}
		if found && h != m.InfoHash {
			return m, fmt.Errorf("metainfo: magnet link names two different infohashes, %s and %s", m.InfoHash, h)
		}
		m.InfoHash, found = h, true
	}
	if !found {
		if sawV2 {
			return m, fmt.Errorf("metainfo: magnet link has only a BitTorrent v2 infohash (urn:btmh), which is not supported")
		}
		return m, fmt.Errorf("metainfo: magnet link has no \"xt=urn:btih:\" infohash")
	}
	if dn := params["dn"]; len(dn) > 0 {
		m.Name = dn[0]
	}
	if len(params["tr"]) > MaxMagnetTrackers {
		return m, fmt.Errorf("metainfo: magnet link lists %d trackers, more than %d", len(params["tr"]), MaxMagnetTrackers)
	}
	for _, tr := range params["tr"] {
		if tr != "" {
			m.Trackers = append(m.Trackers, tr)
		}
	}
	return m, nil
}

// String returns the canonical magnet URI: the infohash in lower-case hex,
// then the name and the trackers in order, each query-escaped.
func (m Magnet) String() string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:")
	b.WriteString(m.InfoHash.String())
	if m.Name != "" {
		b.WriteString("&dn=")
		b.WriteString(url.QueryEscape(m.Name))
	}
	for _, tr := range m.Trackers {
		b.WriteString("&tr=")
		b.WriteString(url.QueryEscape(tr))
	}
	return b.String()
}

// abbreviate shortens s for an error message.
func abbreviate(s string) string {
	const keep = 64
	if len(s) <= keep {
		return s
	}
	return s[:keep] + "..."
}
