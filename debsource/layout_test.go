package debsource

import (
	"errors"
	"strings"
	"testing"
)

func TestClassifyPath(t *testing.T) {
	const h = "9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5"
	tests := []struct {
		path string
		want MirrorPath
	}{
		{"dists/bookworm/InRelease", MirrorPath{Kind: KindRelease, Suite: "bookworm", RelPath: "InRelease"}},
		{"dists/bookworm/Release", MirrorPath{Kind: KindRelease, Suite: "bookworm", RelPath: "Release"}},
		{"dists/bookworm-security/Release.gpg", MirrorPath{Kind: KindRelease, Suite: "bookworm-security", RelPath: "Release.gpg"}},
		{"dists/bookworm/main/binary-amd64/Packages.xz", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/binary-amd64/Packages.xz", Component: "main", Arch: "amd64", Index: IndexPackages, Compression: XZ}},
		{"dists/bookworm/main/binary-all/Packages", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/binary-all/Packages", Component: "main", Arch: "all", Index: IndexPackages}},
		{"dists/noble/main/binary-amd64/Packages.zst", MirrorPath{Kind: KindIndex, Suite: "noble", RelPath: "main/binary-amd64/Packages.zst", Component: "main", Arch: "amd64", Index: IndexPackages, Compression: Zstd}},
		{"dists/bookworm/main/binary-amd64/Release", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/binary-amd64/Release", Component: "main", Arch: "amd64", Index: IndexOther}},
		{"dists/bookworm/main/binary-amd64/by-hash/SHA256/" + h, MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/binary-amd64/by-hash/SHA256/" + h, Component: "main", Arch: "amd64", Index: IndexByHash, HashAlgorithm: "SHA256", Hash: h}},
		{"dists/bookworm/main/i18n/by-hash/SHA256/" + h, MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/i18n/by-hash/SHA256/" + h, Component: "main", Index: IndexByHash, HashAlgorithm: "SHA256", Hash: h}},
		{"dists/bookworm/main/i18n/Translation-en.bz2", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/i18n/Translation-en.bz2", Component: "main", Index: IndexTranslation, Compression: Bzip2}},
		{"dists/bookworm/main/i18n/Index", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/i18n/Index", Component: "main", Index: IndexOther}},
		{"dists/bookworm/main/Contents-amd64.gz", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/Contents-amd64.gz", Component: "main", Arch: "amd64", Index: IndexContents, Compression: Gzip}},
		{"dists/bookworm/main/Contents-udeb-arm64", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/Contents-udeb-arm64", Component: "main", Arch: "arm64", Index: IndexContents}},
		{"dists/buster/Contents-i386.gz", MirrorPath{Kind: KindIndex, Suite: "buster", RelPath: "Contents-i386.gz", Arch: "i386", Index: IndexContents, Compression: Gzip}},
		{"dists/bookworm/main/dep11/Components-amd64.yml.gz", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/dep11/Components-amd64.yml.gz", Component: "main", Arch: "amd64", Index: IndexDEP11, Compression: Gzip}},
		{"dists/bookworm/main/dep11/icons-64x64.tar.gz", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/dep11/icons-64x64.tar.gz", Component: "main", Index: IndexDEP11, Compression: Gzip}},
		{"dists/bookworm/main/binary-amd64/Packages.diff/Index", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/binary-amd64/Packages.diff/Index", Component: "main", Arch: "amd64", Index: IndexPDiff}},
		{"dists/bookworm/main/binary-amd64/Packages.diff/T-2024-01-01-0800.00-F-2023-12-31-2000.00.gz", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/binary-amd64/Packages.diff/T-2024-01-01-0800.00-F-2023-12-31-2000.00.gz", Component: "main", Arch: "amd64", Index: IndexPDiff, Compression: Gzip}},
		{"dists/bookworm/main/source/Sources.xz", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/source/Sources.xz", Component: "main", Arch: "source", Index: IndexSources, Compression: XZ}},
		{"dists/bookworm/main/debian-installer/binary-amd64/Packages.gz", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/debian-installer/binary-amd64/Packages.gz", Component: "main", Arch: "amd64", Index: IndexPackages, Compression: Gzip}},
		{"pool/main/h/hello/hello_2.10-3_amd64.deb", MirrorPath{Kind: KindPool, Component: "main", SourcePackage: "hello"}},
		{"pool/main/d/debian-installer/di-utils_1.146_amd64.udeb", MirrorPath{Kind: KindPool, Component: "main", SourcePackage: "debian-installer"}},
		{"pool/main/h/hello/hello_2.10-3.dsc", MirrorPath{Kind: KindPool, Component: "main", SourcePackage: "hello"}},
		{"pool/main/h/hello/hello_2.10.orig.tar.gz", MirrorPath{Kind: KindPool, Component: "main", SourcePackage: "hello", Compression: Gzip}},
		{"pool/main/h/hello/hello_2.10-3.debian.tar.xz", MirrorPath{Kind: KindPool, Component: "main", SourcePackage: "hello", Compression: XZ}},
		{"pool/main/libx/libxml%2B%2B2.6/libxml%2B%2B2.6-2v5_2.40.1-1_amd64.deb", MirrorPath{Kind: KindPool, Component: "main", SourcePackage: "libxml++2.6"}},
		{"pool/updates/main/l/linux/linux-image_6.1_amd64.deb", MirrorPath{Kind: KindPool, Component: "updates/main", SourcePackage: "linux"}},
		{"pool/main/hello.deb", MirrorPath{}},
		{"README", MirrorPath{}},
		{"dists/bookworm", MirrorPath{}},
		{"dists/bookworm/main/installer-amd64/current/images/MANIFEST", MirrorPath{Kind: KindIndex, Suite: "bookworm", RelPath: "main/installer-amd64/current/images/MANIFEST", Component: "main"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := ClassifyPath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Path = strings.ReplaceAll(tt.path, "%2B", "+")
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestClassifyPathRejects(t *testing.T) {
	tests := []struct{ path, want string }{
		{"", "empty path"},
		{"/dists/bookworm/InRelease", "absolute"},
		{"dists/../etc/passwd", "\"..\""},
		{"pool/main/../../../etc/passwd", "\"..\""},
		{"dists/./bookworm/InRelease", "\"..\""},
		{"dists//bookworm/InRelease", "\"..\""},
		{"dists/bookworm/", "\"..\""},
		{"dists/%2e%2e/x", "percent-encodes"},
		{"dists/%2E%2E/x", "percent-encodes"},
		{"dists/bookworm%2fInRelease", "percent-encodes"},
		{"dists/bookworm%2FInRelease", "percent-encodes"},
		{"pool%5cmain", "percent-encodes"},
		{"pool/%00", "percent-encodes"},
		{"pool/%252e%252e/x", "percent-encodes"},
		{"pool\\main\\x.deb", "backslash"},
		{"pool/main/x\x00.deb", "backslash or NUL"},
		{"pool/main/%0a/x.deb", "control character"},
		{"pool/%zz", "invalid URL escape"},
		{strings.Repeat("a/", 3000), "longer than"},
	}
	for _, tt := range tests {
		_, err := ClassifyPath(tt.path)
		if !errors.Is(err, ErrUnsafePath) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.40q: error %v, want ErrUnsafePath containing %q", tt.path, err, tt.want)
		}
	}
}

func TestKindNames(t *testing.T) {
	if KindPool.String() != "pool" || IndexByHash.String() != "by-hash" || PathKind(9).String() != "PathKind(9)" || IndexKind(99).String() != "IndexKind(99)" {
		t.Error("kind names")
	}
}
