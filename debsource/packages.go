package debsource

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/debtorrent/debtorrent/debsource/deb822"
)

// Record is one stanza of a Packages file, as views into the reader's
// storage: valid only until the next call to PackagesReader.Next. Call Entry
// for a copy that lasts.
//
// A stanza with a missing or malformed Size or SHA256 is still returned (with
// the matching flag false): one bad entry must not sink a whole index, and
// the caller decides what to skip.
type Record struct {
	// Line is where the stanza starts in the decompressed file.
	Line int
	// Package, Version, Architecture and Filename are the fields' raw bytes.
	Package, Version, Architecture, Filename []byte
	// Size is the .deb's length in bytes, valid when SizeOK (a Size field
	// holding a decimal number).
	Size   int64
	SizeOK bool
	// SHA256 is the .deb's digest, valid when HasSHA256; BadSHA256 says a
	// SHA256 field was present but not 64 hex digits.
	SHA256    [32]byte
	HasSHA256 bool
	BadSHA256 bool
	// MD5 is the .deb's MD5sum, valid when HasMD5.
	MD5    [16]byte
	HasMD5 bool
}

// Entry is a Packages entry that owns its strings.
type Entry struct {
	// Package, Version, Architecture and Filename are the fields' values
	// ("" when absent).
	Package, Version, Architecture, Filename string
	// Size is -1 when the stanza had no valid Size.
	Size int64
	// SHA256 is valid when HasSHA256.
	SHA256    [32]byte
	HasSHA256 bool
	// MD5 is valid when HasMD5.
	MD5    [16]byte
	HasMD5 bool
}

// Entry copies the record.
func (r *Record) Entry() Entry {
	e := Entry{
		Package: string(r.Package), Version: string(r.Version), Architecture: string(r.Architecture),
		Filename: string(r.Filename), Size: -1,
		SHA256: r.SHA256, HasSHA256: r.HasSHA256, MD5: r.MD5, HasMD5: r.HasMD5,
	}
	if r.SizeOK {
		e.Size = r.Size
	}
	return e
}

// PackagesReader streams the entries of an uncompressed Packages file (wrap
// the input with Decompress first, and with a VerifyingReader to check it
// against a Release in the same pass).
type PackagesReader struct {
	dr  *deb822.Reader
	rec Record
}

// NewPackagesReader returns a reader of the Packages file r, with the
// deb822 reader's default limits.
func NewPackagesReader(r io.Reader) *PackagesReader {
	return &PackagesReader{dr: deb822.NewReader(r, deb822.Options{})}
}

// Next returns the next entry, or io.EOF at the end. The Record is reused:
// it and its slices are valid until the next call.
func (p *PackagesReader) Next() (*Record, error) {
	s, err := p.dr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("debsource: Packages: %w", err)
	}
	rec := &p.rec
	*rec = Record{Line: s.Line()}
	for i := range s.Len() {
		name, value := s.Field(i)
		switch len(name) {
		case 4:
			if equalFold(name, "Size") {
				rec.Size, rec.SizeOK = parseSize(value)
			}
		case 6:
			if equalFold(name, "SHA256") {
				if len(value) == 64 {
					if _, err := hex.Decode(rec.SHA256[:], value); err == nil {
						rec.HasSHA256 = true
					}
				}
				rec.BadSHA256 = !rec.HasSHA256
			} else if equalFold(name, "MD5sum") {
				if len(value) == 32 {
					_, err := hex.Decode(rec.MD5[:], value)
					rec.HasMD5 = err == nil
				}
			}
		case 7:
			if equalFold(name, "Package") {
				rec.Package = value
			} else if equalFold(name, "Version") {
				rec.Version = value
			}
		case 8:
			if equalFold(name, "Filename") {
				rec.Filename = value
			}
		case 12:
			if equalFold(name, "Architecture") {
				rec.Architecture = value
			}
		}
	}
	return rec, nil
}

// parseSize reads a decimal byte count without allocating.
func parseSize(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// equalFold compares an ASCII field name with a lower/upper-case-insensitive
// constant without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != s[i]|0x20 {
			return false
		}
	}
	return true
}
