package peerwire

import (
	"testing"
)

func TestDontHave(t *testing.T) {
	m := DontHaveMessage(7, 0x01020304)
	if m.ID != Extended || m.ExtendedID != 7 || string(m.Payload) != "\x01\x02\x03\x04" {
		t.Fatalf("message %+v", m)
	}
	for _, tc := range []struct {
		name    string
		payload string
		n       int
		want    int
		ok      bool
	}{
		{"first", "\x00\x00\x00\x00", 1, 0, true},
		{"last", "\x00\x00\x01\x00", 257, 256, true},
		{"past the end", "\x00\x00\x01\x00", 256, 0, false},
		{"huge index", "\xff\xff\xff\xff", 1 << 20, 0, false},
		{"short", "\x00\x00\x01", 10, 0, false},
		{"long", "\x00\x00\x00\x01\x00", 10, 0, false},
		{"empty", "", 10, 0, false},
		{"no pieces", "\x00\x00\x00\x00", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDontHave([]byte(tc.payload), tc.n)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseDontHave(%q, %d) = %d, %v", tc.payload, tc.n, got, err)
			}
		})
	}
}

// FuzzDontHave feeds arbitrary payloads to ParseDontHave: it never panics,
// and what it accepts is an index in range that encodes back to the payload.
func FuzzDontHave(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1}, 10)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, 1<<20)
	f.Add([]byte{}, 0)
	f.Add([]byte{1, 2, 3, 4, 5}, -1)
	f.Fuzz(func(t *testing.T, payload []byte, n int) {
		i, err := ParseDontHave(payload, n)
		if err != nil {
			return
		}
		if i < 0 || i >= n {
			t.Fatalf("accepted piece %d of %d", i, n)
		}
		if got := DontHaveMessage(1, uint32(i)).Payload; string(got) != string(payload) {
			t.Fatalf("round trip %x -> %d -> %x", payload, i, got)
		}
	})
}
