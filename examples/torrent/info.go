package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// runInfo is "torrent info": describe a .torrent file, or the torrent a
// Debian Packages file makes.
func runInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("info", "[-files N] FILE.torrent|Packages[.gz|.xz|.bz2|.lz4|.zst]",
		"Print what a .torrent file describes: name, size, files, pieces, trackers, the infohash\n"+
			"and a magnet link. Given a Debian Packages file (any compression), print the torrent\n"+
			"debtorrent makes of it: pieces, sizes, skipped entries and the infohash.",
		stderr)
	maxFiles := flags.Int("files", 20, "list at most `N` files (0: all of them)")
	positional, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usageErrorf("want exactly one FILE.torrent or Packages file, got %d arguments", len(positional))
	}
	if *maxFiles < 0 {
		return usageErrorf("-files: want 0 or more, got %d", *maxFiles)
	}
	isTorrent, err := looksLikeTorrent(positional[0])
	if err != nil {
		return err
	}
	if !isTorrent {
		if err := infoPackages(stdout, positional[0]); err != nil {
			return fmt.Errorf("%s is not a .torrent file, nor a Packages file: %w", positional[0], err)
		}
		return nil
	}
	m, err := metainfo.LoadFile(positional[0])
	if err != nil {
		return err
	}
	return printInfo(stdout, m, *maxFiles)
}

// printInfo writes the description of m, listing at most maxFiles files (0:
// all).
func printInfo(w io.Writer, m *metainfo.MetaInfo, maxFiles int) error {
	info := m.Info
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	line := func(key, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t%s\n", key, fmt.Sprintf(format, args...))
	}
	line("name", "%s", info.Name)
	line("infohash", "%s", info.InfoHash())
	line("magnet", "%s", m.Magnet())
	line("total size", "%s (%d bytes)", formatSize(info.TotalLength()), info.TotalLength())
	line("files", "%d", len(info.Files))
	smallest, largest := pieceExtremes(info)
	if info.Layout == metainfo.PiecePerFile {
		line("pieces", "%d, one per file, checked with %s", info.NumPieces(), info.HashType())
	} else {
		line("pieces", "%d of %s, checked with %s", info.NumPieces(), formatSize(info.PieceLength), info.HashType())
	}
	if info.NumPieces() > 0 {
		line("piece sizes", "smallest %s, largest %s", formatSize(smallest), formatSize(largest))
	}
	line("private", "%s", yesNo(info.Private))
	for i, tier := range trackerTiersOf(m) {
		key := ""
		if i == 0 {
			key = "trackers"
		}
		fmt.Fprintf(tw, "%s\ttier %d: %s\n", colon(key), i+1, strings.Join(tier, ", "))
	}
	for i, u := range m.URLList {
		key := ""
		if i == 0 {
			key = "web seeds"
		}
		fmt.Fprintf(tw, "%s\t%s\n", colon(key), u)
	}
	if m.Comment != "" {
		line("comment", "%s", m.Comment)
	}
	if m.CreatedBy != "" {
		line("created by", "%s", m.CreatedBy)
	}
	if m.CreationDate != 0 {
		line("created on", "%s", time.Unix(m.CreationDate, 0).UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printFiles(w, info, maxFiles)
}

// printFiles lists the files with their sizes, at most maxFiles of them (0:
// all), then how many were left out.
func printFiles(w io.Writer, info *metainfo.Info, maxFiles int) error {
	fmt.Fprintln(w, "\nfiles:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	shown := info.Files
	if maxFiles > 0 && len(shown) > maxFiles {
		shown = shown[:maxFiles]
	}
	for _, f := range shown {
		fmt.Fprintf(tw, "  %s\t  %s\n", formatSize(f.Length), f.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if left := len(info.Files) - len(shown); left > 0 {
		_, err := fmt.Fprintf(w, "  ... and %d more (-files 0 lists all)\n", left)
		return err
	}
	return nil
}

// trackerTiersOf returns the tracker tiers clients use: AnnounceList, or
// Announce alone when there is no list.
func trackerTiersOf(m *metainfo.MetaInfo) [][]string {
	if len(m.AnnounceList) > 0 {
		return m.AnnounceList
	}
	if m.Announce != "" {
		return [][]string{{m.Announce}}
	}
	return nil
}

// pieceExtremes returns the smallest and largest piece lengths.
func pieceExtremes(info *metainfo.Info) (smallest, largest int64) {
	for i, p := range info.Pieces {
		if i == 0 || p.Length < smallest {
			smallest = p.Length
		}
		largest = max(largest, p.Length)
	}
	return smallest, largest
}

// colon returns key followed by a colon, or "" for an empty key.
func colon(key string) string {
	if key == "" {
		return ""
	}
	return key + ":"
}

// yesNo spells a flag.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatSize writes a byte count in binary units: "512 B", "32 KiB",
// "1.5 GiB".
func formatSize(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[u:u+1] + "iB"
}

// looksLikeTorrent reports whether the file at path starts as a bencoded
// dictionary does, as every .torrent file must. Packages files, compressed or
// not, never start with 'd'.
func looksLikeTorrent(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var first [1]byte
	if _, err := io.ReadFull(f, first[:]); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return first[0] == 'd', nil
}
