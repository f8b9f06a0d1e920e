package main

import (
	"io"
	"testing"
)

func TestFleetSpec(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  uint64
		n     int
		total int64
	}{
		{"default", 1, 60, 110_000_000},
		{"small", 7, 10, 10_000_000},
		{"beyond the closure", 3, 130, 50_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fleetSpec(tc.seed, tc.n, tc.total)
			if len(s.Packages) != tc.n {
				t.Fatalf("got %d packages, want %d", len(s.Packages), tc.n)
			}
			var sum int64
			names := map[string]bool{}
			for _, p := range s.Packages {
				if names[p.Name] {
					t.Fatalf("package name %s twice", p.Name)
				}
				names[p.Name] = true
				if p.PayloadSize <= 0 {
					t.Fatalf("package %s has size %d", p.Name, p.PayloadSize)
				}
				sum += int64(p.PayloadSize)
			}
			if sum > tc.total || sum < tc.total-int64(tc.n) {
				t.Fatalf("payloads total %d, want %d (within %d)", sum, tc.total, tc.n)
			}
			again := fleetSpec(tc.seed, tc.n, tc.total)
			for i := range s.Packages {
				if again.Packages[i] != s.Packages[i] {
					t.Fatalf("seed %d gave %v then %v", tc.seed, s.Packages[i], again.Packages[i])
				}
			}
			other := fleetSpec(tc.seed+1, tc.n, tc.total)
			if other.Packages[0] == s.Packages[0] {
				t.Fatalf("seeds %d and %d gave the same first package %v", tc.seed, tc.seed+1, s.Packages[0])
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-dir", "/tmp/x"}, true},
		{[]string{"-query", "http://127.0.0.1:1/stats"}, true},
		{nil, false},
		{[]string{"-dir", "/tmp/x", "-n", "3"}, false},
		{[]string{"-dir", "/tmp/x", "-total", "0"}, false},
		{[]string{"-dir", "/tmp/x", "extra"}, false},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q): err %v, want ok=%v", tc.args, err, tc.ok)
		}
	}
}
