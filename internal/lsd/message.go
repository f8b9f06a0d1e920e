package lsd

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/debtorrent/debtorrent/metainfo"
)

// Limits of an announce.
const (
	// MaxDatagram is the largest datagram Encode makes: BEP 14 asks for at
	// most 1400 bytes so that an announce is never fragmented.
	MaxDatagram = 1400
	// MaxParseDatagram is the largest datagram Parse accepts; a little
	// slack over MaxDatagram for other clients' headers.
	MaxParseDatagram = 2048
	// MaxInfoHashes is the most Infohash headers Parse accepts in one
	// announce (and Encode puts in one): a MaxDatagram datagram holds 25
	// with the BEP's Host header, a MaxParseDatagram one up to 38 with
	// minimal headers.
	MaxInfoHashes = 32
	// MaxCookie is the longest cookie accepted, in bytes.
	MaxCookie = 64
	// maxHost is the longest Host header accepted.
	maxHost = 64
)

// requestLine starts every announce.
const requestLine = "BT-SEARCH * HTTP/1.1\r\n"

// Message is one announce: the sender takes part in the swarms of InfoHashes
// and listens for peer connections on Port (at the datagram's source address).
type Message struct {
	// Host is the Host header: the multicast group the announce is sent to,
	// as "239.192.152.143:6771" or "[ff15::efc0:988f]:6771".
	Host string
	// Port is the sender's BitTorrent listening port.
	Port uint16
	// InfoHashes are the torrents announced; at least one.
	InfoHashes []metainfo.InfoHash
	// Cookie is an opaque token by which a sender recognises its own
	// announces; empty when absent.
	Cookie string
}

// visible reports whether s is non-empty printable ASCII without spaces, as
// Host and cookie values must be here.
func visible(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Encode returns the datagrams announcing m: one when its infohashes fit in
// MaxDatagram bytes, several (each with every other header) when not. It
// refuses a message without infohashes, with port 0, or with a Host or cookie
// that is too long or not printable ASCII without spaces.
func Encode(m Message) ([][]byte, error) {
	if m.Port == 0 {
		return nil, errors.New("lsd: encode: port 0: give the port peers should connect to")
	}
	if len(m.InfoHashes) == 0 {
		return nil, errors.New("lsd: encode: no infohashes to announce")
	}
	if len(m.Host) > maxHost || !visible(m.Host) {
		return nil, fmt.Errorf("lsd: encode: Host %.80q: want the group address, at most %d printable characters", m.Host, maxHost)
	}
	if m.Cookie != "" && (len(m.Cookie) > MaxCookie || !visible(m.Cookie)) {
		return nil, fmt.Errorf("lsd: encode: cookie %.80q: want at most %d printable characters without spaces", m.Cookie, MaxCookie)
	}
	head := requestLine + "Host: " + m.Host + "\r\nPort: " + strconv.Itoa(int(m.Port)) + "\r\n"
	tail := "\r\n\r\n"
	if m.Cookie != "" {
		tail = "cookie: " + m.Cookie + "\r\n" + tail
	}
	const line = len("Infohash: \r\n") + 2*len(metainfo.InfoHash{})
	perDatagram := min((MaxDatagram-len(head)-len(tail))/line, MaxInfoHashes)
	var out [][]byte
	for ihs := m.InfoHashes; len(ihs) > 0; {
		n := min(len(ihs), perDatagram)
		b := make([]byte, 0, len(head)+n*line+len(tail))
		b = append(b, head...)
		for _, ih := range ihs[:n] {
			b = append(b, "Infohash: "...)
			b = hex.AppendEncode(b, ih[:])
			b = append(b, "\r\n"...)
		}
		out = append(out, append(b, tail...))
		ihs = ihs[n:]
	}
	return out, nil
}

// Parse decodes one announce datagram. Header names are case-insensitive
// and headers other than Host, Port, Infohash and cookie are ignored; blank
// lines may follow the headers. It fails, saying why, when the datagram is
// larger than MaxParseDatagram, does not start with the BT-SEARCH request
// line, has a header line without a colon or not ended by CRLF, repeats Host,
// Port or cookie, lacks Host, Port or any Infohash, has more than MaxInfoHashes
// infohashes, a port not in 1..65535, an infohash not of exactly 40 hex
// digits, or a Host or cookie that Encode would refuse.
func Parse(b []byte) (Message, error) {
	if len(b) > MaxParseDatagram {
		return Message{}, fmt.Errorf("lsd: announce of %d bytes, at most %d accepted", len(b), MaxParseDatagram)
	}
	rest, ok := bytes.CutPrefix(b, []byte(requestLine))
	if !ok {
		return Message{}, errors.New("lsd: not an announce: it does not start with \"BT-SEARCH * HTTP/1.1\\r\\n\"")
	}
	var m Message
	var seenHost, seenPort, seenCookie bool
	for {
		line, after, found := bytes.Cut(rest, []byte("\r\n"))
		if !found {
			return Message{}, errors.New("lsd: announce truncated: headers are not ended by an empty line")
		}
		rest = after
		if len(line) == 0 {
			break
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			return Message{}, fmt.Errorf("lsd: header line %.80q has no colon", line)
		}
		value = bytes.Trim(value, " \t")
		switch string(bytes.ToLower(name)) {
		case "host":
			if seenHost {
				return Message{}, errors.New("lsd: Host header given twice")
			}
			seenHost = true
			if len(value) > maxHost || !visible(string(value)) {
				return Message{}, fmt.Errorf("lsd: Host %.80q: want at most %d printable characters", value, maxHost)
			}
			m.Host = string(value)
		case "port":
			if seenPort {
				return Message{}, errors.New("lsd: Port header given twice")
			}
			seenPort = true
			port, err := parsePort(value)
			if err != nil {
				return Message{}, err
			}
			m.Port = port
		case "infohash":
			if len(m.InfoHashes) == MaxInfoHashes {
				return Message{}, fmt.Errorf("lsd: more than %d infohashes in one announce", MaxInfoHashes)
			}
			var ih metainfo.InfoHash
			if len(value) != 2*len(ih) {
				return Message{}, fmt.Errorf("lsd: Infohash %.80q: want 40 hex digits, got %d characters", value, len(value))
			}
			if _, err := hex.Decode(ih[:], value); err != nil {
				return Message{}, fmt.Errorf("lsd: Infohash %q: want 40 hex digits: %w", value, err)
			}
			m.InfoHashes = append(m.InfoHashes, ih)
		case "cookie":
			if seenCookie {
				return Message{}, errors.New("lsd: cookie header given twice")
			}
			seenCookie = true
			if len(value) > MaxCookie || !visible(string(value)) {
				return Message{}, fmt.Errorf("lsd: cookie %.80q: want at most %d printable characters without spaces", value, MaxCookie)
			}
			m.Cookie = string(value)
		}
	}
	if len(bytes.Trim(rest, "\r\n")) != 0 {
		return Message{}, fmt.Errorf("lsd: %d bytes after the headers", len(rest))
	}
	if !seenHost {
		return Message{}, errors.New("lsd: announce without a Host header")
	}
	if !seenPort {
		return Message{}, errors.New("lsd: announce without a Port header")
	}
	if len(m.InfoHashes) == 0 {
		return Message{}, errors.New("lsd: announce without an Infohash header")
	}
	return m, nil
}

// parsePort reads a decimal port in 1..65535.
func parsePort(v []byte) (uint16, error) {
	if len(v) == 0 || len(v) > 5 {
		return 0, fmt.Errorf("lsd: Port %.80q: want a decimal number in 1..65535", v)
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("lsd: Port %q: want a decimal number in 1..65535", v)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("lsd: Port %s out of range 1..65535", v)
	}
	return uint16(n), nil
}
