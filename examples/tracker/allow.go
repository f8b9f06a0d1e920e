package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/debtorrent/debtorrent/metainfo"
)

// maxAllowLines bounds an allow-list file.
const maxAllowLines = 1 << 20

// allowList is a set of infohashes.
type allowList map[metainfo.InfoHash]struct{}

func (a allowList) has(h metainfo.InfoHash) bool {
	_, ok := a[h]
	return ok
}

// loadAllowList reads a file of infohashes, one per line in hex (or
// base32); blank lines and lines starting with # are skipped.
func loadAllowList(path string) (allowList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tracker: allow-list: %w", err)
	}
	defer f.Close()
	a := make(allowList)
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if line > maxAllowLines {
			return nil, fmt.Errorf("tracker: allow-list %s: more than %d lines", path, maxAllowLines)
		}
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		h, err := metainfo.ParseInfoHash(s)
		if err != nil {
			return nil, fmt.Errorf("tracker: allow-list %s line %d: %w", path, line, err)
		}
		a[h] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tracker: allow-list %s: %w", path, err)
	}
	return a, nil
}
