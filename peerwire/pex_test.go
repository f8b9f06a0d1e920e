package peerwire

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func pexAddr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestPEXRoundTrip(t *testing.T) {
	many := PEX{}
	for i := range MaxPEXAddedPerMessage {
		many.Added = append(many.Added, PEXPeer{Addr: pexAddr(fmt.Sprintf("10.0.%d.%d:6881", i/250, i%250+1)), Flags: PEXFlags(i)})
	}
	for i := range MaxPEXDroppedPerMessage {
		many.Dropped = append(many.Dropped, pexAddr(fmt.Sprintf("[2001:db8::%x]:%d", i+1, 1000+i)))
	}
	tests := []struct {
		name string
		p    PEX
	}{
		{"empty", PEX{}},
		{"ipv4 with flags", PEX{Added: []PEXPeer{{pexAddr("1.2.3.4:6881"), PEXSeed | PEXReachable}, {pexAddr("5.6.7.8:1"), 0}}}},
		{"ipv6", PEX{Added: []PEXPeer{{pexAddr("[2001:db8::1]:51413"), PEXUTP}}, Dropped: []netip.AddrPort{pexAddr("[fe80::1]:2")}}},
		{"mixed", PEX{
			Added:   []PEXPeer{{pexAddr("1.2.3.4:6881"), PEXEncryption}, {pexAddr("[2001:db8::1]:80"), PEXHolepunch}},
			Dropped: []netip.AddrPort{pexAddr("9.9.9.9:9"), pexAddr("[2001:db8::2]:443")},
		}},
		{"the most a message may hold", many},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := MarshalPEX(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePEX(b)
			if err != nil {
				t.Fatalf("ParsePEX(%q): %v", b, err)
			}
			if !reflect.DeepEqual(got, tt.p) {
				t.Fatalf("round trip: got %+v, want %+v", got, tt.p)
			}
		})
	}
}

func TestPEXWireForm(t *testing.T) {
	b, err := MarshalPEX(PEX{
		Added:   []PEXPeer{{pexAddr("1.2.3.4:6881"), PEXSeed | PEXReachable}},
		Dropped: []netip.AddrPort{pexAddr("[::ffff:5.6.7.8]:258")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "d5:added6:\x01\x02\x03\x04\x1a\xe17:added.f1:\x127:dropped6:\x05\x06\x07\x08\x01\x02e"
	if string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
}

func TestParsePEXLenient(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    PEX
	}{
		{"keys out of order, unknown keys", "d7:dropped6:\x05\x06\x07\x08\x00\x015:added6:\x01\x02\x03\x04\x00\x023:fooi1ee",
			PEX{Added: []PEXPeer{{Addr: pexAddr("1.2.3.4:2")}}, Dropped: []netip.AddrPort{pexAddr("5.6.7.8:1")}}},
		{"no flags", "d5:added12:\x01\x02\x03\x04\x00\x02\x01\x02\x03\x05\x00\x03e",
			PEX{Added: []PEXPeer{{Addr: pexAddr("1.2.3.4:2")}, {Addr: pexAddr("1.2.3.5:3")}}}},
		{"short flags", "d5:added12:\x01\x02\x03\x04\x00\x02\x01\x02\x03\x05\x00\x037:added.f1:\x02e",
			PEX{Added: []PEXPeer{{Addr: pexAddr("1.2.3.4:2"), Flags: PEXSeed}, {Addr: pexAddr("1.2.3.5:3")}}}},
		{"surplus flags", "d5:added6:\x01\x02\x03\x04\x00\x027:added.f3:\x02\x03\x04e",
			PEX{Added: []PEXPeer{{Addr: pexAddr("1.2.3.4:2"), Flags: PEXSeed}}}},
		{"mapped ipv6 is ipv4", "d6:added618:" + strings.Repeat("\x00", 10) + "\xff\xff\x01\x02\x03\x04\x00\x02e",
			PEX{Added: []PEXPeer{{Addr: pexAddr("1.2.3.4:2")}}}},
		{"empty dict", "de", PEX{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePEX([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParsePEXRefuses(t *testing.T) {
	tooMany := bytes.Repeat([]byte{1, 2, 3, 4, 0, 1}, MaxPEXPeers+1)
	split := bytes.Repeat([]byte{1, 2, 3, 4, 0, 1}, MaxPEXPeers/2)
	tests := []struct {
		name, payload, want string
	}{
		{"empty", "", "offset"},
		{"not a dict", "le", "list"},
		{"added an integer", "d5:addedi1ee", "added"},
		{"added6 a list", "d6:added6lee", "added6"},
		{"flags an integer", "d5:added6:\x01\x02\x03\x04\x00\x027:added.fi1ee", "added.f"},
		{"added 5 bytes", "d5:added5:\x01\x02\x03\x04\x00e", "multiple of 6"},
		{"added6 17 bytes", "d6:added617:" + strings.Repeat("\x01", 17) + "e", "multiple of 18"},
		{"dropped 7 bytes", "d7:dropped7:" + strings.Repeat("\x01", 7) + "e", "multiple of 6"},
		{"dropped6 6 bytes", "d8:dropped66:" + strings.Repeat("\x01", 6) + "e", "multiple of 18"},
		{"too many added", fmt.Sprintf("d5:added%d:%se", len(tooMany), tooMany), "at most 200"},
		{"too many in all", fmt.Sprintf("d5:added%d:%s7:dropped%d:%s1:xi0ee", len(split), split, len(split)+6, append(split, 1, 2, 3, 4, 5, 6)), "at most 200"},
		{"trailing bytes", "d5:added6:\x01\x02\x03\x04\x00\x02ee", "after"},
		{"duplicate key", "d5:added0:5:added0:e", "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePEX([]byte(tt.payload))
			if err == nil {
				t.Fatalf("ParsePEX(%q) succeeded", tt.payload)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestParsePEXTruncated cuts a valid message at every offset: no prefix is a
// valid message.
func TestParsePEXTruncated(t *testing.T) {
	b, err := MarshalPEX(PEX{
		Added:   []PEXPeer{{pexAddr("1.2.3.4:6881"), PEXSeed}, {pexAddr("[2001:db8::1]:80"), 0}},
		Dropped: []netip.AddrPort{pexAddr("9.9.9.9:9"), pexAddr("[2001:db8::2]:443")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) {
		if _, err := ParsePEX(b[:i]); err == nil {
			t.Fatalf("ParsePEX of the first %d of %d bytes succeeded", i, len(b))
		}
	}
}

func TestMarshalPEXRefuses(t *testing.T) {
	var tooManyAdded, tooManyDropped PEX
	for i := range MaxPEXAddedPerMessage + 1 {
		tooManyAdded.Added = append(tooManyAdded.Added, PEXPeer{Addr: pexAddr(fmt.Sprintf("10.0.0.%d:1", i+1))})
		tooManyDropped.Dropped = append(tooManyDropped.Dropped, pexAddr(fmt.Sprintf("10.0.0.%d:1", i+1)))
	}
	tests := []struct {
		name string
		p    PEX
		want string
	}{
		{"too many added", tooManyAdded, "51 added"},
		{"too many dropped", tooManyDropped, "51 dropped"},
		{"invalid added", PEX{Added: []PEXPeer{{}}}, "invalid"},
		{"invalid dropped", PEX{Dropped: []netip.AddrPort{{}}}, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MarshalPEX(tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("MarshalPEX: error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// FuzzParsePEX checks that ParsePEX never panics, keeps its limit, and that
// whatever it accepts re-encodes to a message that parses to the same value.
func FuzzParsePEX(f *testing.F) {
	seeds := []PEX{
		{},
		{Added: []PEXPeer{{pexAddr("1.2.3.4:6881"), PEXSeed}, {pexAddr("[2001:db8::1]:80"), 3}}},
		{Dropped: []netip.AddrPort{pexAddr("9.9.9.9:9"), pexAddr("[2001:db8::2]:443")}},
	}
	for _, p := range seeds {
		b, err := MarshalPEX(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("d5:added5:\x01\x02\x03\x04\x00e"))
	f.Add([]byte("d7:dropped6:\x05\x06\x07\x08\x00\x015:added6:\x01\x02\x03\x04\x00\x02e"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePEX(data)
		if err != nil {
			return
		}
		if n := len(p.Added) + len(p.Dropped); n > MaxPEXPeers {
			t.Fatalf("accepted %d peers", n)
		}
		if len(p.Added) > MaxPEXAddedPerMessage || len(p.Dropped) > MaxPEXDroppedPerMessage {
			return
		}
		b, err := MarshalPEX(p)
		if err != nil {
			t.Fatalf("MarshalPEX of a parsed message: %v", err)
		}
		again, err := ParsePEX(b)
		if err != nil {
			t.Fatalf("ParsePEX(MarshalPEX(%+v)) = %q: %v", p, b, err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip: %+v became %+v", p, again)
		}
	})
}
