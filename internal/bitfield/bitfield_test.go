package bitfield

import (
	"slices"
	"testing"
)

func TestSetClearCount(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 65536, 65537} {
		b := New(n)
		var want []int
		for i := 0; i < n; i += 3 {
			if !b.Set(i) {
				t.Fatalf("n=%d: Set(%d) reported no change", n, i)
			}
			want = append(want, i)
		}
		if n > 0 && b.Set(0) {
			t.Fatalf("n=%d: second Set(0) reported a change", n)
		}
		if b.Count() != len(want) {
			t.Fatalf("n=%d: Count=%d, want %d", n, b.Count(), len(want))
		}
		if got := slices.Collect(b.Ones()); !slices.Equal(got, want) {
			t.Fatalf("n=%d: Ones differ", n)
		}
		for i := 0; i < n; i++ {
			if b.Has(i) != (i%3 == 0) {
				t.Fatalf("n=%d: Has(%d)=%v", n, i, b.Has(i))
			}
		}
		if b.Has(-1) || b.Has(n) {
			t.Fatalf("n=%d: Has out of range is true", n)
		}
		r, err := FromBytes(b.Bytes(), n)
		if err != nil {
			t.Fatalf("n=%d: round trip: %v", n, err)
		}
		if !slices.Equal(slices.Collect(r.Ones()), want) || r.Count() != len(want) {
			t.Fatalf("n=%d: round trip differs", n)
		}
		for _, i := range want {
			b.Clear(i)
		}
		if !b.None() || b.Count() != 0 {
			t.Fatalf("n=%d: not empty after clearing", n)
		}
		b.SetAll()
		if !b.All() || len(slices.Collect(b.Ones())) != n || b.NextClear(0) != -1 {
			t.Fatalf("n=%d: SetAll incomplete", n)
		}
		if r, err := FromBytes(b.Bytes(), n); err != nil || !r.All() {
			t.Fatalf("n=%d: SetAll bytes carry spare bits or lose bits: %v", n, err)
		}
	}
}

func TestWireOrder(t *testing.T) {
	b := New(10)
	b.Set(0)
	b.Set(9)
	if got := b.Bytes(); !slices.Equal(got, []byte{0x80, 0x40}) {
		t.Fatalf("Bytes = %x, want 8040", got)
	}
}

func TestFromBytesRejects(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		n    int
	}{
		{"too short", []byte{0xff}, 9},
		{"too long", []byte{0xff, 0x00}, 8},
		{"spare bit set", []byte{0xff, 0x01}, 10},
		{"last spare bit", []byte{0x01}, 7},
	}
	for _, tt := range tests {
		if _, err := FromBytes(tt.b, tt.n); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestNextSetNextClear(t *testing.T) {
	b := New(200)
	for _, i := range []int{5, 64, 130, 199} {
		b.Set(i)
	}
	var got []int
	for i := b.NextSet(0); i >= 0; i = b.NextSet(i + 1) {
		got = append(got, i)
	}
	if !slices.Equal(got, []int{5, 64, 130, 199}) {
		t.Fatalf("NextSet walk = %v", got)
	}
	if b.NextClear(5) != 6 || b.NextClear(199) != -1 || b.NextClear(198) != 198 {
		t.Fatalf("NextClear wrong: %d %d %d", b.NextClear(5), b.NextClear(199), b.NextClear(198))
	}
	c := b.Clone()
	c.Clear(5)
	if !b.Has(5) {
		t.Fatal("Clone shares storage")
	}
}

func TestSetOutOfRangePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Set(10) on a 10-bit field did not panic")
		}
	}()
	New(10).Set(10)
}
