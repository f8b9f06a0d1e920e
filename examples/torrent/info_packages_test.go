package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestInfoDispatchesPackagesFiles checks that "info" tells a Packages file
// from a .torrent file by content, whatever its compression, and describes
// the torrent it makes.
func TestInfoDispatchesPackagesFiles(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"../../debsource/testdata/Packages.excerpt", []string{"one per package, checked with sha256", "skipped"}},
		{"../../debsource/testdata/Packages.excerpt.bz2", []string{"(bzip2)", "one per package"}},
		{"../../metainfo/testdata/mktorrent-multi.torrent", []string{"infohash:", "742ef35bd23198a5e0bab31d1894e44109c6cd51"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), []string{"info", tt.path}, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
