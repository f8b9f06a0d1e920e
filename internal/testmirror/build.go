// Package testmirror builds small Debian-style archives on disk for tests
// and benchmarks, and serves them on loopback: real .deb files, Packages in
// three compressions, a Release with MD5Sum and SHA256 tables, by-hash copies
// (Acquire-By-Hash: yes), and an HTTP server with a request log, an optional
// rate limit and fault injection.
package testmirror

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// Package describes one binary package of a test archive.
type Package struct {
	// Name and Version of the package; Arch defaults to "amd64".
	Name, Version, Arch string
	// PayloadSize is the size of the pseudo-random file the package holds
	// (the .deb is a little larger).
	PayloadSize int
}

// Spec describes a test archive: one suite, one component, one
// architecture.
type Spec struct {
	// Suite defaults to "bookworm", Component to "main", Arch to "amd64".
	Suite, Component, Arch string
	// Packages lists the packages.
	Packages []Package
	// Date is the Release's Date (default: 2026-01-01).
	Date time.Time
	// PDiffFrom, when set, is the archive this one updates: a pdiff
	// (Packages.diff/Index and one ed-script patch, with by-hash copies) is
	// published from its Packages file to the new one, as Debian does.
	PDiffFrom *Archive
}

// Deb is a built package as its Packages entry lists it.
type Deb struct {
	// Name and Version of the package.
	Name, Version string
	// Filename is the path under the archive root.
	Filename string
	// Size and SHA256 of the .deb.
	Size   int64
	SHA256 [32]byte
}

// Archive is a built test archive.
type Archive struct {
	// Root is the directory holding dists/ and pool/.
	Root string
	// Suite, Component and Arch as built.
	Suite, Component, Arch string
	// Debs lists the packages in Packages order.
	Debs []Deb
	// Packages is the uncompressed Packages file.
	Packages []byte
}

// Build writes the archive described by spec under root.
func Build(root string, spec Spec) (*Archive, error) {
	if spec.Suite == "" {
		spec.Suite = "bookworm"
	}
	if spec.Component == "" {
		spec.Component = "main"
	}
	if spec.Arch == "" {
		spec.Arch = "amd64"
	}
	if spec.Date.IsZero() {
		spec.Date = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	a := &Archive{Root: root, Suite: spec.Suite, Component: spec.Component, Arch: spec.Arch}
	var packages bytes.Buffer
	for _, p := range spec.Packages {
		if p.Arch == "" {
			p.Arch = spec.Arch
		}
		deb, err := buildDeb(p)
		if err != nil {
			return nil, err
		}
		rel := fmt.Sprintf("pool/%s/%s/%s/%s_%s_%s.deb", spec.Component, p.Name[:1], p.Name, p.Name, p.Version, p.Arch)
		if err := writeFile(filepath.Join(root, rel), deb); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(deb)
		md := md5.Sum(deb)
		a.Debs = append(a.Debs, Deb{Name: p.Name, Version: p.Version, Filename: rel, Size: int64(len(deb)), SHA256: sum})
		fmt.Fprintf(&packages, "Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example.invalid>\nInstalled-Size: %d\nFilename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\nSection: misc\nPriority: optional\nDescription: test package %s\n\n",
			p.Name, p.Version, p.Arch, (p.PayloadSize+1023)/1024, rel, len(deb), hex.EncodeToString(md[:]), hex.EncodeToString(sum[:]), p.Name)
	}
	a.Packages = packages.Bytes()
	indexes, err := compressions(packages.Bytes())
	if err != nil {
		return nil, err
	}
	dir := fmt.Sprintf("%s/binary-%s", spec.Component, spec.Arch)
	suiteDir := filepath.Join(root, "dists", spec.Suite)
	var names []string
	files := map[string][]byte{}
	for ext, data := range indexes {
		name := dir + "/Packages" + ext
		names = append(names, name)
		files[name] = data
		sum := sha256.Sum256(data)
		md := md5.Sum(data)
		for _, p := range []string{name, dir + "/by-hash/SHA256/" + hex.EncodeToString(sum[:]), dir + "/by-hash/MD5Sum/" + hex.EncodeToString(md[:])} {
			if err := writeFile(filepath.Join(suiteDir, p), data); err != nil {
				return nil, err
			}
		}
	}
	if spec.PDiffFrom != nil {
		pd, err := buildPDiff(spec.PDiffFrom.Packages, a.Packages, spec.Date)
		if err != nil {
			return nil, err
		}
		for name, data := range pd {
			p := dir + "/Packages.diff/" + name
			if err := writeFile(filepath.Join(suiteDir, p), data); err != nil {
				return nil, err
			}
			sum := sha256.Sum256(data)
			if err := writeFile(filepath.Join(suiteDir, dir, "Packages.diff/by-hash/SHA256", hex.EncodeToString(sum[:])), data); err != nil {
				return nil, err
			}
			if name == "Index" {
				names = append(names, p)
				files[p] = data
			}
		}
	}
	sort.Strings(names)
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: Test\nLabel: Test\nSuite: %s\nCodename: %s\nDate: %s\nArchitectures: %s\nComponents: %s\nAcquire-By-Hash: yes\nDescription: debtorrent test archive\n",
		spec.Suite, spec.Suite, spec.Date.UTC().Format("Mon, 02 Jan 2006 15:04:05 UTC"), spec.Arch, spec.Component)
	rel.WriteString("MD5Sum:\n")
	for _, n := range names {
		md := md5.Sum(files[n])
		fmt.Fprintf(&rel, " %s %16d %s\n", hex.EncodeToString(md[:]), len(files[n]), n)
	}
	rel.WriteString("SHA256:\n")
	for _, n := range names {
		sum := sha256.Sum256(files[n])
		fmt.Fprintf(&rel, " %s %16d %s\n", hex.EncodeToString(sum[:]), len(files[n]), n)
	}
	if err := writeFile(filepath.Join(suiteDir, "Release"), []byte(rel.String())); err != nil {
		return nil, err
	}
	return a, nil
}

// compressions returns the Packages file as published: plain, .gz and .xz.
func compressions(plain []byte) (map[string][]byte, error) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("testmirror: gzip Packages: %w", err)
	}
	var x bytes.Buffer
	xw, err := xz.NewWriter(&x)
	if err != nil {
		return nil, fmt.Errorf("testmirror: xz Packages: %w", err)
	}
	xw.Write(plain)
	if err := xw.Close(); err != nil {
		return nil, fmt.Errorf("testmirror: xz Packages: %w", err)
	}
	return map[string][]byte{"": plain, ".gz": gz.Bytes(), ".xz": x.Bytes()}, nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("testmirror: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("testmirror: %w", err)
	}
	return nil
}

// SimpleSpec returns a spec of n packages named pkg00, pkg01, ... of the
// given payload size.
func SimpleSpec(n, size int) Spec {
	var s Spec
	for i := range n {
		s.Packages = append(s.Packages, Package{Name: fmt.Sprintf("pkg%02d", i), Version: "1.0-1", PayloadSize: size})
	}
	return s
}
