package peerwire

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
)

func TestExtensionRegistry(t *testing.T) {
	r, err := NewExtensionRegistry(ExtensionPEX, ExtensionMetadata, "debian_sha256")
	if err != nil {
		t.Fatal(err)
	}
	for want, name := range []string{"", ExtensionPEX, ExtensionMetadata, "debian_sha256"} {
		if want == 0 {
			if n, ok := r.Name(0); ok {
				t.Errorf("ID 0 named %q; it is the handshake", n)
			}
			continue
		}
		if id, ok := r.ID(name); !ok || int(id) != want {
			t.Errorf("ID(%q) = %d, %v; want %d", name, id, ok, want)
		}
		if n, ok := r.Name(uint8(want)); !ok || n != name {
			t.Errorf("Name(%d) = %q, %v; want %q", want, n, ok, name)
		}
	}
	if _, ok := r.Name(4); ok {
		t.Error("unregistered ID 4 has a name")
	}
	if m := r.M(); len(m) != 3 || m[ExtensionMetadata] != 2 {
		t.Errorf("M() = %v", m)
	}
	for _, bad := range [][]string{{"a", "a"}, {""}, make([]string, 256)} {
		if bad[0] == "" && len(bad) == 256 {
			for i := range bad {
				bad[i] = string(rune('a'+i%26)) + string(rune('0'+i/26))
			}
		}
		if _, err := NewExtensionRegistry(bad...); err == nil {
			t.Errorf("NewExtensionRegistry(%d names, %q...) succeeded", len(bad), bad[0])
		}
	}
}

func TestExtendedHandshakeRoundTrip(t *testing.T) {
	reg, _ := NewExtensionRegistry(ExtensionPEX, ExtensionMetadata)
	tests := []ExtendedHandshake{
		{M: reg.M(), V: "debtorrent 0.1", P: 6881, Reqq: 250, YourIP: netip.MustParseAddr("192.0.2.7"), MetadataSize: 31337},
		{M: map[string]int{}, YourIP: netip.MustParseAddr("2001:db8::1")},
		{M: map[string]int{ExtensionPEX: 0}}, // disabling an extension
	}
	for _, h := range tests {
		m, err := h.Message()
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != Extended || m.ExtendedID != HandshakeExtendedID {
			t.Fatalf("message %s", m.String())
		}
		wire, _ := m.AppendTo(nil)
		got, err := NewReader(bytes.NewReader(wire), "", testLimits, nil).ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseExtendedHandshake(got.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if back.V != h.V || back.P != h.P || back.Reqq != h.Reqq || back.YourIP != h.YourIP ||
			back.MetadataSize != h.MetadataSize || len(back.M) != len(h.M) {
			t.Fatalf("round trip: %+v, want %+v", back, h)
		}
		for n, id := range h.M {
			if back.M[n] != id {
				t.Fatalf("m[%q] = %d, want %d", n, back.M[n], id)
			}
		}
	}
}

func TestParseExtendedHandshakeIsLenient(t *testing.T) {
	// As a real client might send it: unknown keys, an odd "m" entry, an
	// out-of-range port, an address of the wrong length.
	payload := "d1:ei0e" +
		"1:md11:lt_donthavei7e6:ut_pexi1e8:ut_bogus3:abc7:ut_hugei300e11:ut_metadatai3ee" +
		"13:metadata_sizei5000e1:pi70000e4:reqqi-5e" +
		"1:v12:aria2/1.36.0" + "6:yourip3:abc" + "e"
	h, err := ParseExtendedHandshake([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Names(); !slices.Equal(got, []string{"lt_donthave", ExtensionMetadata, ExtensionPEX}) {
		t.Errorf("Names() = %v", got)
	}
	if id, ok := h.ID(ExtensionMetadata); !ok || id != 3 {
		t.Errorf("ID(ut_metadata) = %d, %v", id, ok)
	}
	if _, ok := h.ID("ut_bogus"); ok {
		t.Error("a non-integer ID was kept")
	}
	if _, ok := h.ID("ut_huge"); ok {
		t.Error("an ID above 255 was kept")
	}
	if h.P != 0 || h.Reqq != 0 || h.YourIP.IsValid() || h.V != "aria2/1.36.0" || h.MetadataSize != 5000 {
		t.Errorf("got %+v", h)
	}
}

func TestParseExtendedHandshakeRefusesGarbage(t *testing.T) {
	for _, bad := range []string{"", "le", "d1:mi1ee", "d1:md", "i5e"} {
		if _, err := ParseExtendedHandshake([]byte(bad)); err == nil {
			t.Errorf("ParseExtendedHandshake(%q) succeeded", bad)
		}
	}
}
