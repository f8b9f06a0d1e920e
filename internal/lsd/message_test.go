package lsd

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/debtorrent/debtorrent/metainfo"
)

// ihN returns a distinct infohash for n.
func ihN(n int) metainfo.InfoHash {
	var ih metainfo.InfoHash
	copy(ih[:], fmt.Sprintf("torrent-%012d", n))
	return ih
}

func ihs(n int) []metainfo.InfoHash {
	out := make([]metainfo.InfoHash, n)
	for i := range out {
		out[i] = ihN(i)
	}
	return out
}

// parseAll parses every datagram and merges their infohashes.
func parseAll(t *testing.T, datagrams [][]byte) Message {
	t.Helper()
	var all Message
	for i, d := range datagrams {
		if len(d) > MaxDatagram {
			t.Fatalf("datagram %d is %d bytes, above %d", i, len(d), MaxDatagram)
		}
		m, err := Parse(d)
		if err != nil {
			t.Fatalf("Parse(datagram %d %q): %v", i, d, err)
		}
		if i > 0 && (m.Host != all.Host || m.Port != all.Port || m.Cookie != all.Cookie) {
			t.Fatalf("datagram %d has headers %+v, the first %+v", i, m, all)
		}
		all.Host, all.Port, all.Cookie = m.Host, m.Port, m.Cookie
		all.InfoHashes = append(all.InfoHashes, m.InfoHashes...)
	}
	return all
}

func TestEncodeParseRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		m         Message
		datagrams int
	}{
		{"one torrent", Message{Host: DefaultGroup4.String(), Port: 6881, InfoHashes: ihs(1), Cookie: "abc"}, 1},
		{"no cookie", Message{Host: DefaultGroup4.String(), Port: 1, InfoHashes: ihs(2)}, 1},
		{"ipv6 host", Message{Host: DefaultGroup6.String(), Port: 65535, InfoHashes: ihs(3), Cookie: strings.Repeat("c", MaxCookie)}, 1},
		{"a full datagram", Message{Host: DefaultGroup4.String(), Port: 6881, InfoHashes: ihs(25), Cookie: "abc"}, 1},
		{"one more than fits", Message{Host: DefaultGroup4.String(), Port: 6881, InfoHashes: ihs(26), Cookie: "abc"}, 2},
		{"many torrents", Message{Host: DefaultGroup4.String(), Port: 6881, InfoHashes: ihs(101), Cookie: "abc"}, 5},
		{"short headers", Message{Host: "h", Port: 1, InfoHashes: ihs(MaxInfoHashes + 1)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Encode(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if len(d) != tt.datagrams {
				t.Errorf("%d datagrams, want %d", len(d), tt.datagrams)
			}
			if got := parseAll(t, d); !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("got %+v, want %+v", got, tt.m)
			}
		})
	}
}

func TestEncodeWireForm(t *testing.T) {
	ih, _ := metainfo.ParseInfoHash("0123456789abcdef0123456789abcdef01234567")
	d, err := Encode(Message{Host: "239.192.152.143:6771", Port: 6881, InfoHashes: []metainfo.InfoHash{ih}, Cookie: "xyz"})
	if err != nil {
		t.Fatal(err)
	}
	want := "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n" +
		"Infohash: 0123456789abcdef0123456789abcdef01234567\r\ncookie: xyz\r\n\r\n\r\n"
	if len(d) != 1 || string(d[0]) != want {
		t.Fatalf("got %q, want %q", d, want)
	}
}

func TestParseAccepts(t *testing.T) {
	ih, _ := metainfo.ParseInfoHash("0123456789abcdef0123456789abcdef01234567")
	want := Message{Host: "239.192.152.143:6771", Port: 6881, InfoHashes: []metainfo.InfoHash{ih}}
	tests := []struct {
		name, datagram string
		want           Message
	}{
		{"no trailing blank line", "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: 0123456789abcdef0123456789abcdef01234567\r\n\r\n", want},
		{"header case, spacing, upper-case hex, other headers", "BT-SEARCH * HTTP/1.1\r\nHOST:239.192.152.143:6771\r\nport:\t6881 \r\nX-Other: yes\r\ninfoHASH:   0123456789ABCDEF0123456789ABCDEF01234567\r\n\r\n\r\n\r\n", want},
		{"cookie with another case", "BT-SEARCH * HTTP/1.1\r\nHost: h\r\nPort: 1\r\nInfohash: 0123456789abcdef0123456789abcdef01234567\r\nCookie: k\r\n\r\n",
			Message{Host: "h", Port: 1, InfoHashes: []metainfo.InfoHash{ih}, Cookie: "k"}},
		{"leading zeros in port", "BT-SEARCH * HTTP/1.1\r\nHost: h\r\nPort: 00080\r\nInfohash: 0123456789abcdef0123456789abcdef01234567\r\n\r\n",
			Message{Host: "h", Port: 80, InfoHashes: []metainfo.InfoHash{ih}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.datagram))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	const head = "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\n"
	const port = "Port: 6881\r\n"
	const ih = "Infohash: 0123456789abcdef0123456789abcdef01234567\r\n"
	tooMany := "BT-SEARCH * HTTP/1.1\r\nHost: h\r\nPort: 1\r\n" + strings.Repeat(ih, MaxInfoHashes+1) + "\r\n"
	tests := []struct {
		name, datagram, want string
	}{
		{"empty", "", "BT-SEARCH"},
		{"http request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "BT-SEARCH"},
		{"lower-case request line", "bt-search * HTTP/1.1\r\n" + port + ih + "\r\n", "BT-SEARCH"},
		{"bare LF", "BT-SEARCH * HTTP/1.1\nHost: h\nPort: 1\n" + ih + "\n", "BT-SEARCH"},
		{"no end of headers", head + port + ih, "truncated"},
		{"no colon", head + "Port 6881\r\n" + ih + "\r\n", "no colon"},
		{"no host", "BT-SEARCH * HTTP/1.1\r\n" + port + ih + "\r\n", "without a Host"},
		{"no port", head + ih + "\r\n", "without a Port"},
		{"no infohash", head + port + "\r\n", "without an Infohash"},
		{"two ports", head + port + port + ih + "\r\n", "twice"},
		{"two hosts", head + "Host: x\r\n" + port + ih + "\r\n", "twice"},
		{"two cookies", head + port + ih + "cookie: a\r\ncookie: b\r\n\r\n", "twice"},
		{"port 0", head + "Port: 0\r\n" + ih + "\r\n", "out of range"},
		{"port 65536", head + "Port: 65536\r\n" + ih + "\r\n", "out of range"},
		{"port 6 digits", head + "Port: 000001\r\n" + ih + "\r\n", "1..65535"},
		{"negative port", head + "Port: -1\r\n" + ih + "\r\n", "1..65535"},
		{"port with sign", head + "Port: +80\r\n" + ih + "\r\n", "1..65535"},
		{"empty port", head + "Port:\r\n" + ih + "\r\n", "1..65535"},
		{"short infohash", head + port + "Infohash: 0123456789abcdef0123456789abcdef0123456\r\n\r\n", "got 39"},
		{"long infohash", head + port + "Infohash: 0123456789abcdef0123456789abcdef012345678\r\n\r\n", "got 41"},
		{"base32 infohash", head + port + "Infohash: AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH\r\n\r\n", "got 32"},
		{"non-hex infohash", head + port + "Infohash: 0123456789abcdef0123456789abcdef0123456g\r\n\r\n", "hex"},
		{"too many infohashes", tooMany, "more than 32"},
		{"empty host", "BT-SEARCH * HTTP/1.1\r\nHost: \r\n" + port + ih + "\r\n", "Host"},
		{"host with space", "BT-SEARCH * HTTP/1.1\r\nHost: a b\r\n" + port + ih + "\r\n", "Host"},
		{"long cookie", head + port + ih + "cookie: " + strings.Repeat("c", MaxCookie+1) + "\r\n\r\n", "cookie"},
		{"binary cookie", head + port + ih + "cookie: \x00\xff\r\n\r\n", "cookie"},
		{"body", head + port + ih + "\r\nhello", "after the headers"},
		{"oversize", head + port + ih + "X: " + strings.Repeat("x", MaxParseDatagram) + "\r\n\r\n", "at most 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.datagram))
			if err == nil {
				t.Fatalf("Parse(%.100q) succeeded", tt.datagram)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestParseTruncated cuts an announce at every offset: only the prefixes
// that still end with the empty line after the headers are announces.
func TestParseTruncated(t *testing.T) {
	d, err := Encode(Message{Host: DefaultGroup4.String(), Port: 6881, InfoHashes: ihs(3), Cookie: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	b := d[0]
	end := bytes.Index(b, []byte("\r\n\r\n")) + 4
	for i := range len(b) + 1 {
		_, err := Parse(b[:i])
		if ok := err == nil; ok != (i >= end) {
			t.Fatalf("Parse of the first %d of %d bytes: %v", i, len(b), err)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	good := Message{Host: DefaultGroup4.String(), Port: 1, InfoHashes: ihs(1)}
	tests := []struct {
		name string
		edit func(*Message)
		want string
	}{
		{"port 0", func(m *Message) { m.Port = 0 }, "port 0"},
		{"no infohashes", func(m *Message) { m.InfoHashes = nil }, "no infohashes"},
		{"no host", func(m *Message) { m.Host = "" }, "Host"},
		{"host with CRLF", func(m *Message) { m.Host = "a\r\nPort: 2" }, "Host"},
		{"long host", func(m *Message) { m.Host = strings.Repeat("h", maxHost+1) }, "Host"},
		{"cookie with CRLF", func(m *Message) { m.Cookie = "a\r\n" }, "cookie"},
		{"long cookie", func(m *Message) { m.Cookie = strings.Repeat("c", MaxCookie+1) }, "cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			tt.edit(&m)
			if _, err := Encode(m); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Encode: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, keeps its limits, and that
// whatever it accepts encodes to datagrams that parse back to it.
func FuzzParse(f *testing.F) {
	for _, m := range []Message{
		{Host: DefaultGroup4.String(), Port: 6881, InfoHashes: ihs(1), Cookie: "abc"},
		{Host: DefaultGroup6.String(), Port: 1, InfoHashes: ihs(3)},
	} {
		d, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d[0])
	}
	f.Add([]byte("BT-SEARCH * HTTP/1.1\r\nHOST:h\r\nport:\t6881 \r\nX: y\r\ninfoHASH: 0123456789ABCDEF0123456789ABCDEF01234567\r\n\r\n\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		if len(m.InfoHashes) == 0 || len(m.InfoHashes) > MaxInfoHashes || m.Port == 0 || len(m.Cookie) > MaxCookie {
			t.Fatalf("accepted %+v", m)
		}
		d, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a parsed announce %+v: %v", m, err)
		}
		if got := parseAll(t, d); !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: %+v became %+v", m, got)
		}
	})
}
