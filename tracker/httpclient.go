package tracker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/debtorrent/debtorrent/metainfo"
)

// MaxReplySize bounds the HTTP body read from a tracker.
const MaxReplySize = 1 << 20

// httpAnnounce sends one announce to an HTTP(S) tracker.
func httpAnnounce(ctx context.Context, hc *http.Client, u *url.URL, req *AnnounceRequest) (*AnnounceResponse, error) {
	q := encodeAnnounceQuery(req)
	body, err := httpGet(ctx, hc, withQuery(u, q))
	if err != nil {
		return nil, err
	}
	return parseHTTPAnnounce(body)
}

// httpScrape asks an HTTP(S) tracker's scrape URL about some swarms.
func httpScrape(ctx context.Context, hc *http.Client, announce *url.URL, hashes []metainfo.InfoHash) (map[metainfo.InfoHash]ScrapeStats, error) {
	su, err := scrapeURL(announce)
	if err != nil {
		return nil, err
	}
	var q strings.Builder
	for i, h := range hashes {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString("info_hash=")
		q.WriteString(escapeBytes(h[:]))
	}
	body, err := httpGet(ctx, hc, withQuery(su, q.String()))
	if err != nil {
		return nil, err
	}
	return parseHTTPScrape(body)
}

// scrapeURL derives the scrape URL from an announce URL by the convention
// of BEP 48: the last path element "announce..." becomes "scrape...".
func scrapeURL(announce *url.URL) (*url.URL, error) {
	i := strings.LastIndexByte(announce.Path, '/')
	if i < 0 || !strings.HasPrefix(announce.Path[i+1:], "announce") {
		return nil, fmt.Errorf("tracker %s does not support scrape: its path does not end in /announce", announce.Redacted())
	}
	su := *announce
	su.Path = announce.Path[:i+1] + "scrape" + strings.TrimPrefix(announce.Path[i+1:], "announce")
	su.RawPath = ""
	return &su, nil
}

// encodeAnnounceQuery encodes an announce's parameters; binary values are
// percent-encoded byte by byte.
func encodeAnnounceQuery(r *AnnounceRequest) string {
	var b strings.Builder
	b.WriteString("info_hash=")
	b.WriteString(escapeBytes(r.InfoHash[:]))
	b.WriteString("&peer_id=")
	b.WriteString(escapeBytes(r.PeerID[:]))
	b.WriteString("&port=" + strconv.Itoa(int(r.Port)))
	b.WriteString("&uploaded=" + strconv.FormatInt(r.Uploaded, 10))
	b.WriteString("&downloaded=" + strconv.FormatInt(r.Downloaded, 10))
	b.WriteString("&left=" + strconv.FormatInt(r.Left, 10))
	b.WriteString("&compact=1")
	if r.Event != EventNone {
		b.WriteString("&event=" + r.Event.String())
	}
	switch {
	case r.NumWant == NoPeersWanted:
		b.WriteString("&numwant=0")
	case r.NumWant > 0:
		b.WriteString("&numwant=" + strconv.Itoa(r.NumWant))
	}
	if r.Key != 0 {
		b.WriteString("&key=" + strconv.FormatUint(uint64(r.Key), 16))
	}
	if r.IP.IsValid() {
		b.WriteString("&ip=" + url.QueryEscape(r.IP.String()))
	}
	if r.TrackerID != "" {
		b.WriteString("&trackerid=" + escapeBytes([]byte(r.TrackerID)))
	}
	return b.String()
}

// escapeBytes percent-encodes every byte outside RFC 3986's unreserved set,
// so binary infohashes and peer ids survive any tracker's decoder (no '+').
func escapeBytes(b []byte) string {
	const hexDigits = "0123456789ABCDEF"
	var s strings.Builder
	s.Grow(3 * len(b))
	for _, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			s.WriteByte(c)
			continue
		}
		s.WriteByte('%')
		s.WriteByte(hexDigits[c>>4])
		s.WriteByte(hexDigits[c&15])
	}
	return s.String()
}

// withQuery appends q to u's own query (a private tracker's passkey, say).
func withQuery(u *url.URL, q string) string {
	v := *u
	if v.RawQuery == "" {
		v.RawQuery = q
	} else {
		v.RawQuery += "&" + q
	}
	v.Fragment = ""
	return v.String()
}

// httpGet fetches a tracker reply, reading at most MaxReplySize bytes.
func httpGet(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading reply: %w", err)
	}
	if len(body) > MaxReplySize {
		return nil, fmt.Errorf("reply longer than %d bytes", MaxReplySize)
	}
	if resp.StatusCode != http.StatusOK {
		// Some trackers send their bencoded failure with an error status.
		if fe := failureIn(body); fe != nil {
			return nil, fe
		}
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	return body, nil
}
