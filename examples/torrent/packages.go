package main

// "torrent info" on a Debian Packages file: the torrent debtorrent would make
// of it (one piece per package). This file stands alone in package main: it
// uses none of the other files' helpers.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/debtorrent/debtorrent/debsource"
)

// infoPackages reads the Packages file at path (plain, .gz, .xz, .bz2, .lz4
// or .zst, recognised by content) and prints the torrent it makes: name,
// infohash, piece count, total size, smallest/median/largest piece and the
// entries skipped, by reason. When the file sits in a mirror-like tree
// (SUITE/COMPONENT/binary-ARCH/Packages*) with SUITE/InRelease or
// SUITE/Release next to it, the name comes from that Release, and the
// uncompressed content is checked against its SHA256 while it is parsed.
func infoPackages(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := debsource.Decompress(f, path)
	if err != nil {
		return err
	}
	defer d.Close()

	name, relPath := packagesNameFromPath(path)
	var (
		input    io.Reader = d
		verifier *debsource.VerifyingReader
		checked  = "no InRelease or Release next to it: content not checked"
	)
	if rel, relFile := packagesRelease(path); rel != nil {
		name.Origin = rel.Origin
		if rel.Codename != "" {
			name.Suite = rel.Codename
		}
		if want, ok := rel.File(relPath); ok && want.HasSHA256 {
			verifier = debsource.NewVerifyingReader(d, relPath, want)
			input = verifier
			checked = fmt.Sprintf("SHA256 of the uncompressed %s matches %s", relPath, relFile)
		} else {
			checked = fmt.Sprintf("%s lists no SHA256 for %s: content not checked", relFile, relPath)
		}
	}
	res, err := debsource.BuildInfo(input, name)
	if err != nil {
		return err
	}
	if verifier != nil && !verifier.Verified() {
		return fmt.Errorf("%s: not read to its end, so not verified", path)
	}
	return printPackagesTorrent(w, path, d.Compression, res, checked)
}

// printPackagesTorrent writes the description of a Packages torrent.
func printPackagesTorrent(w io.Writer, path string, c debsource.Compression, res *debsource.TorrentResult, checked string) error {
	info := res.Info
	sizes := make([]int64, len(info.Pieces))
	for i, p := range info.Pieces {
		sizes[i] = p.Length
	}
	slices.Sort(sizes)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	line := func(key, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", key, fmt.Sprintf(format, args...))
	}
	line("packages file", "%s (%s)", path, c)
	line("name", "%s", info.Name)
	line("infohash", "%s", info.InfoHash())
	line("pieces", "%d, one per package, checked with %s", info.NumPieces(), info.HashType())
	line("total size", "%s (%d bytes)", formatSize(info.TotalLength()), info.TotalLength())
	line("piece sizes", "smallest %s, median %s, largest %s",
		formatSize(sizes[0]), formatSize(sizes[len(sizes)/2]), formatSize(sizes[len(sizes)-1]))
	line("entries", "%d read, %d skipped", res.Entries, res.SkippedTotal())
	for _, r := range debsource.SkipReasons() {
		if n := res.Skipped[r]; n > 0 {
			line("  skipped", "%d: %s (first at line %d)", n, r, res.FirstSkipped[r])
		}
	}
	line("checked", "%s", checked)
	return tw.Flush()
}

// packagesNameFromPath guesses suite, component and architecture from a path
// shaped like .../SUITE/COMPONENT/binary-ARCH/Packages.xz, and returns the
// path relative to SUITE of the uncompressed index ("main/binary-amd64/Packages").
func packagesNameFromPath(path string) (debsource.TorrentName, string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	archDir := filepath.Dir(abs)
	arch, ok := strings.CutPrefix(filepath.Base(archDir), "binary-")
	if !ok {
		return debsource.TorrentName{Suite: "unknown"}, ""
	}
	compDir := filepath.Dir(archDir)
	suiteDir := filepath.Dir(compDir)
	component := filepath.Base(compDir)
	return debsource.TorrentName{Suite: filepath.Base(suiteDir), Component: component, Arch: arch},
		component + "/binary-" + arch + "/Packages"
}

// packagesRelease finds and parses SUITE/InRelease (or SUITE/Release) for a
// path shaped like .../SUITE/COMPONENT/binary-ARCH/Packages.xz. The signature
// is not checked: APT's keyrings are not this tool's business.
func packagesRelease(path string) (*debsource.Release, string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, ""
	}
	suiteDir := filepath.Dir(filepath.Dir(filepath.Dir(abs)))
	if raw, err := os.ReadFile(filepath.Join(suiteDir, "InRelease")); err == nil {
		if rel, _, err := debsource.ParseInRelease(context.Background(), raw, nil); err == nil {
			return rel, filepath.Join(suiteDir, "InRelease")
		}
	}
	if raw, err := os.ReadFile(filepath.Join(suiteDir, "Release")); err == nil {
		if rel, err := debsource.ParseRelease(bytes.NewReader(raw)); err == nil {
			return rel, filepath.Join(suiteDir, "Release")
		}
	}
	return nil, ""
}
