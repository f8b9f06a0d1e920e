package debsource

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// PathKind is the broad class of a path under a mirror root.
type PathKind uint8

const (
	// KindUnknown is any path this package does not recognise (installer
	// images, README files, ...): a proxy passes it through uncached or
	// refuses it.
	KindUnknown PathKind = iota
	// KindRelease is dists/<suite>/InRelease, Release or Release.gpg.
	KindRelease
	// KindIndex is an index file under dists/<suite>/ (see IndexKind).
	KindIndex
	// KindPool is a file under pool/ (.deb, .udeb, .dsc, source tarballs...).
	KindPool
)

var pathKindNames = [...]string{"unknown", "release", "index", "pool"}

// String names the kind.
func (k PathKind) String() string {
	if int(k) < len(pathKindNames) {
		return pathKindNames[k]
	}
	return fmt.Sprintf("PathKind(%d)", uint8(k))
}

// IndexKind says which index an index path holds.
type IndexKind uint8

const (
	// IndexOther is an index path of no kind below (e.g. a component-level
	// Release file, i18n/Index).
	IndexOther IndexKind = iota
	// IndexPackages is binary-<arch>/Packages[.ext] (also under
	// debian-installer/ for udebs).
	IndexPackages
	// IndexSources is source/Sources[.ext].
	IndexSources
	// IndexTranslation is i18n/Translation-<lang>[.ext].
	IndexTranslation
	// IndexContents is Contents-[udeb-]<arch>[.ext].
	IndexContents
	// IndexDEP11 is dep11/* (AppStream metadata and icons).
	IndexDEP11
	// IndexByHash is <dir>/by-hash/<algorithm>/<hex>: an index named by its
	// digest, resolved with Release.ByHash.
	IndexByHash
	// IndexPDiff is <index>.diff/Index or one of its patches.
	IndexPDiff
)

var indexKindNames = [...]string{"other", "Packages", "Sources", "Translation", "Contents", "dep11", "by-hash", "pdiff"}

// String names the index kind.
func (k IndexKind) String() string {
	if int(k) < len(indexKindNames) {
		return indexKindNames[k]
	}
	return fmt.Sprintf("IndexKind(%d)", uint8(k))
}

// MirrorPath is what a path under a mirror root names.
type MirrorPath struct {
	// Kind is the broad class.
	Kind PathKind
	// Path is the cleaned, decoded path relative to the mirror root.
	Path string
	// Suite is the directory under dists/ (release and index paths).
	Suite string
	// RelPath is the path relative to dists/<suite>/, the form Release
	// files list (index paths), e.g. "main/binary-amd64/Packages.xz".
	RelPath string
	// Component is e.g. "main" (index paths that have one; pool paths).
	Component string
	// Arch is the architecture of Packages and Contents indexes ("amd64",
	// "all"), "source" for Sources; "" otherwise.
	Arch string
	// Index is the index kind (KindIndex only).
	Index IndexKind
	// Compression is what the file name's extension says.
	Compression Compression
	// HashAlgorithm and Hash are a by-hash path's "SHA256" and hex digest.
	HashAlgorithm, Hash string
	// SourcePackage is a pool path's source package directory, e.g. "hello".
	SourcePackage string
}

// ErrUnsafePath is wrapped by every error ClassifyPath returns for a path
// that tries to leave the mirror root or hide what it names.
var ErrUnsafePath = errors.New("debsource: unsafe mirror path")

// MaxMirrorPath is the longest path ClassifyPath accepts.
const MaxMirrorPath = 4096

// ClassifyPath classifies a path relative to a mirror root, as it appears in
// a request URL (still percent-encoded, e.g. from url.URL.EscapedPath with
// the root's prefix removed). It refuses, with an error wrapping
// ErrUnsafePath: absolute paths, "..", "." and empty components, backslashes,
// NUL, and percent-encoded '.', '/', '\', NUL or '%' (encoded traversal or
// double encoding). Anything else it cannot place is KindUnknown, not an
// error.
func ClassifyPath(escaped string) (MirrorPath, error) {
	p, err := cleanMirrorPath(escaped)
	if err != nil {
		return MirrorPath{}, err
	}
	mp := MirrorPath{Path: p}
	parts := strings.Split(p, "/")
	switch parts[0] {
	case "dists":
		classifyDists(&mp, parts[1:])
	case "pool":
		if len(parts) >= 5 { // pool/<component>/<prefix>/<source>/<file>
			mp.Kind = KindPool
			mp.Component = parts[1]
			if parts[1] == "updates" && len(parts) >= 6 { // the security archive's pool/updates/main/...
				mp.Component = "updates/" + parts[2]
			}
			mp.SourcePackage = parts[len(parts)-2]
			mp.Compression, _ = CompressionByName(parts[len(parts)-1])
		}
	}
	return mp, nil
}

func cleanMirrorPath(escaped string) (string, error) {
	if len(escaped) > MaxMirrorPath {
		return "", fmt.Errorf("%w: path of %d bytes is longer than %d", ErrUnsafePath, len(escaped), MaxMirrorPath)
	}
	if escaped == "" {
		return "", fmt.Errorf("%w: empty path", ErrUnsafePath)
	}
	if escaped[0] == '/' {
		return "", fmt.Errorf("%w: %q is absolute; pass the path relative to the mirror root", ErrUnsafePath, escaped)
	}
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		if c == '\\' || c == 0 {
			return "", fmt.Errorf("%w: %q holds a backslash or NUL", ErrUnsafePath, escaped)
		}
		if c == '%' && i+2 < len(escaped) {
			switch strings.ToLower(escaped[i+1 : i+3]) {
			case "2e", "2f", "5c", "00", "25":
				return "", fmt.Errorf("%w: %q percent-encodes '.', '/', '\\', NUL or '%%'", ErrUnsafePath, escaped)
			}
		}
	}
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrUnsafePath, escaped, err)
	}
	if !utf8.ValidString(p) {
		return "", fmt.Errorf("%w: %q decodes to invalid UTF-8 (an overlong or broken sequence, such as %%c0%%ae for '.')", ErrUnsafePath, escaped)
	}
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".", "..":
			return "", fmt.Errorf("%w: %q has an empty, \".\" or \"..\" component", ErrUnsafePath, escaped)
		}
	}
	for i := 0; i < len(p); i++ {
		if p[i] < ' ' || p[i] == 0x7f {
			return "", fmt.Errorf("%w: %q holds a control character", ErrUnsafePath, escaped)
		}
	}
	return p, nil
}

// classifyDists places dists/<suite>/<rest...>.
func classifyDists(mp *MirrorPath, parts []string) {
	if len(parts) < 2 {
		return
	}
	mp.Suite = parts[0]
	rest := parts[1:]
	mp.RelPath = strings.Join(rest, "/")
	if len(rest) == 1 {
		switch rest[0] {
		case "InRelease", "Release", "Release.gpg":
			mp.Kind = KindRelease
			return
		}
		if arch, ok := contentsArch(rest[0]); ok { // suite-level Contents (old layout)
			mp.Kind, mp.Index, mp.Arch = KindIndex, IndexContents, arch
			mp.Compression, _ = CompressionByName(rest[0])
		}
		return
	}
	mp.Component = rest[0]
	sub := rest[1:]
	mp.Kind = KindIndex
	mp.Compression, _ = CompressionByName(sub[len(sub)-1])
	// by-hash anywhere below the component: <dir>/by-hash/<alg>/<hex>.
	if n := len(sub); n >= 3 && sub[n-3] == "by-hash" {
		mp.Index, mp.HashAlgorithm, mp.Hash = IndexByHash, sub[n-2], sub[n-1]
		mp.Compression = Uncompressed
		setArchFromDir(mp, sub[0])
		return
	}
	if sub[0] == "debian-installer" && len(sub) > 1 { // udeb indexes: main/debian-installer/binary-amd64/...
		sub = sub[1:]
	}
	switch {
	case len(sub) == 1:
		if arch, ok := contentsArch(sub[0]); ok {
			mp.Index, mp.Arch = IndexContents, arch
		}
	case sub[0] == "dep11":
		mp.Index = IndexDEP11
		if rest, ok := strings.CutPrefix(sub[len(sub)-1], "Components-"); ok && len(sub) == 2 {
			mp.Arch, _, _ = strings.Cut(rest, ".")
		}
	case sub[0] == "i18n":
		if strings.HasPrefix(sub[1], "Translation-") {
			mp.Index = IndexTranslation
		}
	default:
		setArchFromDir(mp, sub[0])
		if len(sub) == 3 && strings.HasSuffix(sub[1], ".diff") {
			mp.Index = IndexPDiff
			return
		}
		if len(sub) != 2 {
			return
		}
		base := strings.TrimSuffix(sub[1], mp.Compression.Ext())
		switch {
		case base == "Packages" && strings.HasPrefix(sub[0], "binary-"):
			mp.Index = IndexPackages
		case base == "Sources" && sub[0] == "source":
			mp.Index = IndexSources
		}
	}
}

// setArchFromDir sets Arch for binary-<arch> and source directories.
func setArchFromDir(mp *MirrorPath, dir string) {
	if arch, ok := strings.CutPrefix(dir, "binary-"); ok {
		mp.Arch = arch
	} else if dir == "source" {
		mp.Arch = "source"
	}
}

// contentsArch recognises Contents-<arch>[.ext] and Contents-udeb-<arch>[.ext].
func contentsArch(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "Contents-")
	if !ok {
		return "", false
	}
	c, _ := CompressionByName(rest)
	rest = strings.TrimSuffix(rest, c.Ext())
	rest = strings.TrimPrefix(rest, "udeb-")
	return rest, rest != ""
}
