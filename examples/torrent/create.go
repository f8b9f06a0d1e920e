package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// runCreate is "torrent create": hash a file or folder and write its
// .torrent file.
func runCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("create",
		"[-o OUT] [-piece-length N] [-tracker URL]... [-web-seed URL]... [-private] [-comment C] [-no-date] PATH",
		"Hash the file or folder PATH and write a .torrent file for it, as mktorrent does: files in\n"+
			"byte-wise order of their paths, empty files and dot files included. Symbolic links and\n"+
			"special files inside a folder are an error.",
		stderr)
	out := flags.String("o", "", "write the torrent to `FILE` (default: NAME.torrent in the current folder); never overwritten")
	pieceLength := flags.String("piece-length", "", "piece `SIZE` in bytes, with an optional K or M suffix: a power of two from 16K to 64M\n(default: picked for about 1500 pieces, 16K to 16M)")
	var trackers, webSeeds stringList
	flags.Var(&trackers, "tracker", "tracker announce `URL`; repeat for backup tiers, separate URLs of one tier with commas")
	flags.Var(&webSeeds, "web-seed", "web seed `URL` (BEP 19 url-list); repeatable")
	private := flags.Bool("private", false, "set the private flag (BEP 27): peers only from the trackers")
	comment := flags.String("comment", "", "a free-text `comment`")
	noDate := flags.Bool("no-date", false, "leave out the creation date, so that the file is reproducible")
	positional, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usageErrorf("want exactly one PATH to share, got %d arguments", len(positional))
	}
	opts := metainfo.CreateOptions{Private: *private}
	if *pieceLength != "" {
		if opts.PieceLength, err = parseSize(*pieceLength); err != nil {
			return usageErrorf("-piece-length: %v", err)
		}
	}
	tiers, err := trackerTiers(trackers)
	if err != nil {
		return err
	}
	for _, u := range webSeeds {
		if err := checkURL(u, "http", "https"); err != nil {
			return usageErrorf("-web-seed: %v", err)
		}
	}

	info, err := metainfo.Create(ctx, positional[0], opts)
	if err != nil {
		return err
	}
	m := &metainfo.MetaInfo{Info: info, URLList: webSeeds, Comment: *comment, CreatedBy: "debtorrent"}
	if !*noDate {
		m.CreationDate = time.Now().Unix()
	}
	if len(tiers) > 0 {
		m.Announce = tiers[0][0]
	}
	if len(tiers) > 1 || len(tiers) == 1 && len(tiers[0]) > 1 {
		m.AnnounceList = tiers // as mktorrent: only when there is more than one tracker
	}
	path := *out
	if path == "" {
		path = info.Name + ".torrent"
	}
	if err := writeNew(path, m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d files, %s in %d pieces of %s\ninfohash %s\n",
		path, len(info.Files), formatSize(info.TotalLength()), info.NumPieces(), formatSize(info.PieceLength), info.InfoHash())
	return nil
}

// trackerTiers turns -tracker values into announce-list tiers: one tier per
// flag, URLs within a tier separated by commas.
func trackerTiers(values []string) ([][]string, error) {
	var tiers [][]string
	for _, v := range values {
		var tier []string
		for _, u := range strings.Split(v, ",") {
			if err := checkURL(u, "http", "https", "udp"); err != nil {
				return nil, usageErrorf("-tracker: %v", err)
			}
			tier = append(tier, u)
		}
		tiers = append(tiers, tier)
	}
	return tiers, nil
}

// checkURL accepts an absolute URL with one of the given schemes.
func checkURL(s string, schemes ...string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	for _, scheme := range schemes {
		if u.Scheme == scheme && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%q: want an absolute %s URL", s, strings.Join(schemes, ", "))
}

// parseSize reads a byte count with an optional K or M suffix (KiB, MiB).
func parseSize(orig string) (int64, error) {
	s, mult := orig, int64(1)
	switch {
	case strings.HasSuffix(s, "K"), strings.HasSuffix(s, "k"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1<<20, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 1<<40/mult {
		return 0, fmt.Errorf("%q is not a size: want a positive number with an optional K or M suffix", orig)
	}
	return n * mult, nil
}

// writeNew writes m to a new file at path, refusing to replace one, and
// removes what it wrote if writing fails.
func writeNew(path string, m *metainfo.MetaInfo) error {
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: remove it or choose another name with -o", path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
