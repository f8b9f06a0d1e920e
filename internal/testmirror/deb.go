package testmirror

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// buildDeb returns a valid binary package (an ar archive holding
// debian-binary, control.tar.gz and data.tar.gz, as dpkg-deb would write it)
// whose payload is size bytes of pseudo-random data seeded by the package's
// name, so that the same spec always gives the same bytes.
func buildDeb(p Package) ([]byte, error) {
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example.invalid>\nDescription: test package %s\n",
		p.Name, p.Version, p.Arch, p.Name)
	controlTar, err := tarGz(map[string][]byte{"./control": []byte(control)})
	if err != nil {
		return nil, err
	}
	payload := make([]byte, p.PayloadSize)
	seed := uint64(len(p.Name))
	for _, c := range p.Name + p.Version {
		seed = seed*131 + uint64(c)
	}
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), byte(seed >> 32)}))
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	dataTar, err := tarGz(map[string][]byte{"./usr/share/" + p.Name + "/blob": payload})
	if err != nil {
		return nil, err
	}
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		data []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", controlTar}, {"data.tar.gz", dataTar}} {
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		ar.Write(m.data)
		if len(m.data)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	return ar.Bytes(), nil
}

// tarGz writes a gzip-compressed tar of the given files.
func tarGz(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Format: tar.FormatGNU}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("testmirror: tar header: %w", err)
		}
		if _, err := io.Copy(tw, bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("testmirror: tar: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("testmirror: tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("testmirror: gzip: %w", err)
	}
	return buf.Bytes(), nil
}
