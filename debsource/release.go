package debsource

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/debsource/deb822"
)

// IndexFile is one line of a Release file's hash tables: an index the
// Release vouches for.
type IndexFile struct {
	// Path is relative to the Release file's directory, e.g.
	// "main/binary-amd64/Packages.xz".
	Path string
	// Size is the file's length in bytes.
	Size int64
	// SHA256 is the file's digest, valid when HasSHA256.
	SHA256 [32]byte
	// HasSHA256 says whether the SHA256 table lists the file.
	HasSHA256 bool
	// MD5 is the file's MD5 digest, valid when HasMD5 (kept for display and
	// old mirrors; never trusted alone).
	MD5 [16]byte
	// HasMD5 says whether the MD5Sum table lists the file.
	HasMD5 bool
}

// Release is a parsed Release file (or the signed body of an InRelease).
type Release struct {
	// Origin and Label name the archive ("Debian", "Debian-Security").
	Origin, Label string
	// Suite and Codename name the release ("oldstable", "bookworm").
	Suite, Codename string
	// Version and Description are free text ("12.15").
	Version, Description string
	// Date is when the archive published the file; zero when absent.
	Date time.Time
	// ValidUntil is when the file expires; zero when absent.
	ValidUntil time.Time
	// AcquireByHash says whether the mirror serves indexes under by-hash/.
	AcquireByHash bool
	// Architectures and Components as listed.
	Architectures, Components []string
	// Files lists every index of the MD5Sum and SHA256 tables, sorted by
	// path. (SHA1 and SHA512 tables are not read: SHA256 is what APT and
	// by-hash use.)
	Files []IndexFile

	byPath map[string]int
	byHash map[dirHash]int
}

type dirHash struct {
	dir  string
	hash [32]byte
}

// Limits on what ParseRelease accepts.
const (
	// MaxReleaseBytes is the largest Release file ParseRelease reads, and
	// (with MaxSignatureBytes) the largest InRelease ParseInRelease
	// splits: 8 MiB, fifty times Debian bookworm's (151 KB). Ubuntu's,
	// with every architecture and by-hash, stay under 1 MB.
	MaxReleaseBytes = 8 << 20
	// MaxSignatureBytes is the room an InRelease may take on top of
	// MaxReleaseBytes for its armor and signatures.
	MaxSignatureBytes = 64 << 10
	// MaxReleaseFiles is the most index lines a Release may list.
	MaxReleaseFiles = 200_000
)

// ParseRelease reads a Release file, or the signed body of an InRelease (see
// ParseInRelease for the whole clearsigned file).
func ParseRelease(r io.Reader) (*Release, error) {
	lr := &io.LimitedReader{R: r, N: MaxReleaseBytes + 1}
	dr := deb822.NewReader(lr, deb822.Options{
		Limits: deb822.Limits{MaxStanzaBytes: MaxReleaseBytes, MaxLineBytes: 64 << 10},
	})
	s, err := dr.Next()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("debsource: Release: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("debsource: Release: %w", err)
	}
	rel := &Release{byPath: make(map[string]int), byHash: make(map[dirHash]int)}
	for i := range s.Len() {
		name, value := s.Field(i)
		if err := rel.setField(string(name), value, s.FieldLine(i)); err != nil {
			return nil, fmt.Errorf("debsource: Release: line %d: %w", s.FieldLine(i), err)
		}
	}
	if _, err := dr.Next(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, fmt.Errorf("debsource: Release: a second stanza at line %d; a Release has one", dr.Line())
		}
		return nil, fmt.Errorf("debsource: Release: %w", err)
	}
	if lr.N == 0 {
		return nil, fmt.Errorf("debsource: Release: larger than %d bytes", MaxReleaseBytes)
	}
	sort.Slice(rel.Files, func(i, j int) bool { return rel.Files[i].Path < rel.Files[j].Path })
	for i, f := range rel.Files {
		rel.byPath[f.Path] = i
		if f.HasSHA256 {
			k := dirHash{dir: dirOf(f.Path), hash: f.SHA256}
			if _, seen := rel.byHash[k]; !seen { // the same content: any name is right, keep the first
				rel.byHash[k] = i
			}
		}
	}
	return rel, nil
}

func (rel *Release) setField(name string, value []byte, line int) error {
	var err error
	switch strings.ToLower(name) {
	case "origin":
		rel.Origin = string(value)
	case "label":
		rel.Label = string(value)
	case "suite":
		rel.Suite = string(value)
	case "codename":
		rel.Codename = string(value)
	case "version":
		rel.Version = string(value)
	case "description":
		rel.Description = string(value)
	case "date":
		rel.Date, err = ParseReleaseTime(string(value))
	case "valid-until":
		rel.ValidUntil, err = ParseReleaseTime(string(value))
	case "acquire-by-hash":
		rel.AcquireByHash = strings.EqualFold(string(value), "yes")
	case "architectures":
		rel.Architectures = strings.Fields(string(value))
	case "components":
		rel.Components = strings.Fields(string(value))
	case "md5sum":
		err = rel.addTable(value, 16, func(f *IndexFile, sum []byte) { copy(f.MD5[:], sum); f.HasMD5 = true })
	case "sha256":
		err = rel.addTable(value, 32, func(f *IndexFile, sum []byte) { copy(f.SHA256[:], sum); f.HasSHA256 = true })
	}
	if err != nil {
		return fmt.Errorf("field %s: %w", name, err)
	}
	return nil
}

// addTable parses the lines "<hex> <size> <path>" of one hash table.
func (rel *Release) addTable(value []byte, sumLen int, set func(*IndexFile, []byte)) error {
	if rel.byPath == nil {
		rel.byPath = make(map[string]int)
	}
	seen := make(map[string]bool)
	var sum [32]byte
	for lineNo, line := range bytes.Split(value, []byte("\n")) {
		fields := bytes.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return fmt.Errorf("table line %d: want \"<hash> <size> <path>\", got %q", lineNo, clipBytes(line))
		}
		if len(fields[0]) != 2*sumLen {
			return fmt.Errorf("table line %d: hash %q is not %d hex digits", lineNo, clipBytes(fields[0]), 2*sumLen)
		}
		if _, err := hex.Decode(sum[:sumLen], fields[0]); err != nil {
			return fmt.Errorf("table line %d: hash %q: %w", lineNo, clipBytes(fields[0]), err)
		}
		size, err := strconv.ParseInt(string(fields[1]), 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("table line %d: size %q is not a byte count", lineNo, clipBytes(fields[1]))
		}
		p := string(fields[2])
		if err := validIndexPath(p); err != nil {
			return fmt.Errorf("table line %d: %w", lineNo, err)
		}
		if seen[p] {
			return fmt.Errorf("table line %d: %s listed twice", lineNo, p)
		}
		seen[p] = true
		i, ok := rel.byPath[p]
		if !ok {
			if len(rel.Files) >= MaxReleaseFiles {
				return fmt.Errorf("more than %d index files", MaxReleaseFiles)
			}
			i = len(rel.Files)
			rel.Files = append(rel.Files, IndexFile{Path: p, Size: size})
			rel.byPath[p] = i
		} else if rel.Files[i].Size != size {
			return fmt.Errorf("table line %d: %s has size %d here and %d in another table", lineNo, p, size, rel.Files[i].Size)
		}
		set(&rel.Files[i], sum[:sumLen])
	}
	return nil
}

// validIndexPath accepts the relative paths a Release may list.
func validIndexPath(p string) error {
	if strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("path %q is absolute or holds a backslash or NUL", p)
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("path %q has an empty, \".\" or \"..\" component", p)
		}
	}
	return nil
}

// File returns the entry for an index path relative to the Release's
// directory, e.g. "main/binary-amd64/Packages".
func (rel *Release) File(path string) (IndexFile, bool) {
	i, ok := rel.byPath[path]
	if !ok {
		return IndexFile{}, false
	}
	return rel.Files[i], true
}

// ByHash resolves a by-hash path relative to the Release's directory, such as
// "main/binary-amd64/by-hash/SHA256/<hex>", to the index it names
// ("main/binary-amd64/Packages.xz"). Only SHA256 names are resolved: APT
// prefers the strongest hash, and MD5 names are not worth trusting.
func (rel *Release) ByHash(path string) (IndexFile, bool) {
	var dir, rest string
	if i := strings.LastIndex(path, "/by-hash/"); i >= 0 {
		dir, rest = path[:i], path[i+len("/by-hash/"):]
	} else if r, ok := strings.CutPrefix(path, "by-hash/"); ok {
		rest = r
	} else {
		return IndexFile{}, false
	}
	hexSum, ok := strings.CutPrefix(rest, "SHA256/")
	if !ok || len(hexSum) != 64 {
		return IndexFile{}, false
	}
	var k dirHash
	if _, err := hex.Decode(k.hash[:], []byte(hexSum)); err != nil {
		return IndexFile{}, false
	}
	k.dir = dir
	i, ok := rel.byHash[k]
	if !ok {
		return IndexFile{}, false
	}
	return rel.Files[i], true
}

// Expired reports whether now is past ValidUntil (never, without one).
func (rel *Release) Expired(now time.Time) bool {
	return !rel.ValidUntil.IsZero() && now.After(rel.ValidUntil)
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func clipBytes(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
