package aptsources

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Read reads the APT sources of the system whose root directory is root
// ("/" for this machine; a testdata directory in tests):
// root/etc/apt/sources.list, then root/etc/apt/sources.list.d/*.list and
// *.sources in name order, as APT does. Missing files are not errors; files
// with other extensions are ignored (APT ignores them too). File names in
// the result are relative to root.
func Read(root string) ([]Source, error) {
	var out []Source
	main := filepath.Join(root, "etc/apt/sources.list")
	got, err := readFile(main, "etc/apt/sources.list", ParseOneLine)
	if err != nil {
		return nil, err
	}
	out = append(out, got...)
	dir := filepath.Join(root, "etc/apt/sources.list.d")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("aptsources: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		rel := "etc/apt/sources.list.d/" + n
		var parse parser
		switch {
		case strings.HasSuffix(n, ".list"):
			parse = ParseOneLine
		case strings.HasSuffix(n, ".sources"):
			parse = ParseDeb822
		default:
			continue
		}
		got, err := readFile(filepath.Join(dir, n), rel, parse)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// parser is ParseOneLine or ParseDeb822.
type parser func(r io.Reader, name string) ([]Source, error)

// readFile parses one file; a missing file yields nothing.
func readFile(path, name string, parse parser) ([]Source, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("aptsources: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("aptsources: %s is %d bytes, more than the %d a sources file may have", name, st.Size(), MaxFileBytes)
	}
	return parse(f, name)
}
