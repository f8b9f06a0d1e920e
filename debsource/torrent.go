package debsource

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/debtorrent/debtorrent/metainfo"
)

// SkipReason says why a Packages entry was left out of a torrent.
type SkipReason uint8

const (
	// SkipNoSHA256 is an entry without a SHA256 field.
	SkipNoSHA256 SkipReason = iota
	// SkipBadSHA256 is an entry whose SHA256 is not 64 hex digits.
	SkipBadSHA256
	// SkipBadSize is an entry with no Size, or a size <= 0 or beyond MaxPackageSize.
	SkipBadSize
	// SkipBadFilename is an entry whose Filename is missing or not a safe
	// relative path (metainfo.ValidatePath).
	SkipBadFilename
	// SkipDuplicateFilename is an entry whose Filename an earlier entry
	// already has: the first one wins.
	SkipDuplicateFilename
	// NumSkipReasons is the number of reasons, the size of
	// TorrentResult.Skipped.
	NumSkipReasons
)

var skipReasonNames = [NumSkipReasons]string{
	SkipNoSHA256:          "no SHA256",
	SkipBadSHA256:         "malformed SHA256",
	SkipBadSize:           "impossible Size",
	SkipBadFilename:       "invalid Filename",
	SkipDuplicateFilename: "repeated Filename",
}

// String describes the reason.
func (r SkipReason) String() string {
	if r < NumSkipReasons {
		return skipReasonNames[r]
	}
	return fmt.Sprintf("SkipReason(%d)", uint8(r))
}

// MaxPackageSize is the largest .deb a torrent accepts (64 GiB; the largest
// in Debian 12 is 1.5 GB). Larger sizes are typos or attacks.
const MaxPackageSize = 64 << 30

// TorrentName is the readable name of a Debian torrent: where its Packages
// file comes from, which the file itself does not say.
type TorrentName struct {
	// Origin is the Release's Origin, e.g. "Debian".
	Origin string
	// Suite is the codename or suite, e.g. "bookworm".
	Suite string
	// Component is e.g. "main".
	Component string
	// Arch is the architecture, e.g. "amd64".
	Arch string
}

// String returns "Origin/Suite/Component/binary-Arch", e.g.
// "Debian/bookworm/main/binary-amd64"; empty parts are left out.
func (n TorrentName) String() string {
	parts := make([]string, 0, 4)
	for _, p := range []string{n.Origin, n.Suite, n.Component} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if n.Arch != "" {
		parts = append(parts, "binary-"+n.Arch)
	}
	return strings.Join(parts, "/")
}

// TorrentResult is what BuildInfo made of a Packages file.
type TorrentResult struct {
	// Info is the torrent: one piece per kept entry, in file order.
	Info *metainfo.Info
	// Entries counts the stanzas read.
	Entries int
	// Skipped counts the entries left out, by reason.
	Skipped [NumSkipReasons]int
	// FirstSkipped holds, per reason, the line of the first entry skipped
	// for it (0 when none), to find it in the file.
	FirstSkipped [NumSkipReasons]int
}

// SkippedTotal returns how many entries were left out.
func (r *TorrentResult) SkippedTotal() int {
	n := 0
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

// SkipReasons lists every reason, in a stable order, for reporting Skipped.
func SkipReasons() []SkipReason {
	out := make([]SkipReason, NumSkipReasons)
	for i := range out {
		out[i] = SkipReason(i)
	}
	return out
}

// MaxTorrentPackages is the most packages BuildInfo puts in one torrent:
// 262,144, four times Debian bookworm's main/binary-amd64 (63,440), and a
// quarter of metainfo.MaxFiles, so that a hostile Packages of tiny stanzas
// costs at most some tens of MB (about 200 bytes per package) before it
// is refused.
const MaxTorrentPackages = 1 << 18

// BuildInfo reads an uncompressed Packages file and builds its torrent: one
// piece per package in file order, of the package's Size, checked by its
// SHA256, at its Filename. The same Packages file always gives the same
// infohash. Entries that cannot be a piece are skipped and counted in the
// result, never fatal; a syntax error in the file is.
func BuildInfo(r io.Reader, name TorrentName) (*TorrentResult, error) {
	res := &TorrentResult{}
	files, hashes, err := collectPieces(NewPackagesReader(r), res, MaxTorrentPackages)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("debsource: Packages holds no usable entry: nothing to make a torrent of")
	}
	info, err := metainfo.NewPiecePerFileInfo(name.String(), files, hashes)
	if err != nil {
		return nil, fmt.Errorf("debsource: building torrent %s: %w", name, err)
	}
	res.Info = info
	return res, nil
}

// collectPieces reads every entry, keeping the usable ones as files and one
// flat run of SHA256 digests. The only allocation per kept entry is its path.
func collectPieces(pr *PackagesReader, res *TorrentResult, maxFiles int) ([]metainfo.File, []byte, error) {
	var (
		files  []metainfo.File
		hashes []byte
		seen   = make(map[string]struct{})
	)
	skip := func(why SkipReason, line int) {
		if res.Skipped[why] == 0 {
			res.FirstSkipped[why] = line
		}
		res.Skipped[why]++
	}
	for {
		rec, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return files, hashes, nil
		}
		if err != nil {
			return nil, nil, err
		}
		res.Entries++
		switch {
		case rec.BadSHA256:
			skip(SkipBadSHA256, rec.Line)
			continue
		case !rec.HasSHA256:
			skip(SkipNoSHA256, rec.Line)
			continue
		case !rec.SizeOK || rec.Size <= 0 || rec.Size > MaxPackageSize:
			skip(SkipBadSize, rec.Line)
			continue
		}
		if _, dup := seen[string(rec.Filename)]; dup { // no allocation: the compiler converts in place
			skip(SkipDuplicateFilename, rec.Line)
			continue
		}
		path := string(rec.Filename)
		if err := metainfo.ValidatePath(path); err != nil {
			skip(SkipBadFilename, rec.Line)
			continue
		}
		if len(files) >= maxFiles {
			return nil, nil, fmt.Errorf("debsource: Packages lists more than %d usable packages, more than a torrent of this program may hold", maxFiles)
		}
		seen[path] = struct{}{}
		files = append(files, metainfo.File{Path: path, Length: rec.Size})
		hashes = append(hashes, rec.SHA256[:]...)
	}
}
