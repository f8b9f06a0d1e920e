package debsource

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/debtorrent/debtorrent/metainfo"
)

func addFileSeed(f *testing.F, name string) {
	if b, err := os.ReadFile(name); err == nil {
		f.Add(b)
	}
}

func FuzzInRelease(f *testing.F) {
	addFileSeed(f, "testdata/InRelease.bookworm")
	addFileSeed(f, "testdata/Release.excerpt")
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n- -x: y\nSHA256:\n " + strings.Repeat("ab", 32) + " 1 main/by-hash/x\n-----BEGIN PGP SIGNATURE-----\n\nx\n-----END PGP SIGNATURE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rel, cs, err := ParseInRelease(context.Background(), data, nil)
		if err != nil {
			rel, err = ParseRelease(bytes.NewReader(data))
			if err != nil {
				return
			}
		} else if !bytes.HasPrefix(cs.Signature, []byte(beginSignature)) {
			t.Fatalf("signature block %q", cs.Signature)
		}
		for _, file := range rel.Files {
			if err := validIndexPath(file.Path); err != nil {
				t.Fatalf("accepted path: %v", err)
			}
			got, ok := rel.File(file.Path)
			if !ok || got != file {
				t.Fatalf("File(%q) does not return its entry", file.Path)
			}
			if file.HasSHA256 {
				dir := dirOf(file.Path)
				p := "by-hash/SHA256/" + strings.ToLower(hexString(file.SHA256[:]))
				if dir != "" {
					p = dir + "/" + p
				}
				if got, ok := rel.ByHash(p); !ok || got.SHA256 != file.SHA256 {
					t.Fatalf("ByHash(%q) = %+v, %v", p, got, ok)
				}
			}
		}
	})
}

func FuzzClassifyPath(f *testing.F) {
	for _, s := range []string{
		"dists/bookworm/InRelease", "dists/bookworm/main/binary-amd64/Packages.xz",
		"dists/bookworm/main/binary-amd64/by-hash/SHA256/9e0b", "dists/bookworm/main/i18n/Translation-en.bz2",
		"dists/bookworm/main/binary-amd64/Packages.diff/Index", "pool/main/h/hello/hello_2.10-3_amd64.deb",
		"pool/%2e%2e/x", "dists/../x", "pool/main/libx/libxml%2B%2B2.6/x.deb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		mp, err := ClassifyPath(p)
		if err != nil {
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("error %v does not wrap ErrUnsafePath", err)
			}
			return
		}
		if err := metainfo.ValidatePath(mp.Path); err != nil {
			t.Fatalf("accepted %q, decoded to the unsafe %q: %v", p, mp.Path, err)
		}
		if strings.ContainsAny(mp.Path, "%\x00\\") {
			t.Fatalf("decoded path %q holds %%, NUL or backslash", mp.Path)
		}
		if u, err := url.PathUnescape(p); err != nil || u != mp.Path {
			t.Fatalf("Path %q is not the decoded %q", mp.Path, p)
		}
		if mp.Kind == KindIndex && !strings.HasSuffix(mp.Path, mp.RelPath) {
			t.Fatalf("RelPath %q is not a suffix of %q", mp.RelPath, mp.Path)
		}
	})
}

func FuzzBuildInfo(f *testing.F) {
	addFileSeed(f, "testdata/Packages.excerpt")
	addFileSeed(f, "testdata/Packages.excerpt.bz2")
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decompress(bytes.NewReader(data), "")
		if err != nil {
			return
		}
		defer d.Close()
		res, err := BuildInfo(d, TorrentName{Suite: "fuzz"})
		if err != nil {
			return
		}
		if res.Info.NumPieces()+res.SkippedTotal() != res.Entries {
			t.Fatalf("%d pieces + %d skipped != %d entries", res.Info.NumPieces(), res.SkippedTotal(), res.Entries)
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
