package debsource

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrChecksum is wrapped by every error that reports content whose size or
// SHA256 differs from what a Release file lists.
var ErrChecksum = errors.New("debsource: checksum mismatch")

// VerifyingReader passes a stream through while hashing it, and at the end of
// the stream checks its size and SHA256 against expected values: instead of
// io.EOF it then returns an error wrapping ErrChecksum when they differ. A
// stream longer than expected fails as soon as it passes the expected size.
//
// Wrap the decompressed stream of an index with it and parse from it: the
// content is checked in the same pass, and a parser that reads to the end sees
// the mismatch as its read error.
type VerifyingReader struct {
	r      io.Reader
	name   string
	want   IndexFile
	h      hash.Hash
	n      int64
	result error // set once the stream ended
}

// NewVerifyingReader returns a reader of r that checks r's content against
// want's Size and SHA256 (want.HasSHA256 must be true). name labels errors.
func NewVerifyingReader(r io.Reader, name string, want IndexFile) *VerifyingReader {
	return &VerifyingReader{r: r, name: name, want: want, h: sha256.New()}
}

// Read implements io.Reader.
func (v *VerifyingReader) Read(p []byte) (int, error) {
	if v.result != nil {
		return 0, v.result
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.want.Size {
		v.result = fmt.Errorf("%w: %s is longer than the %d bytes the Release lists", ErrChecksum, v.name, v.want.Size)
		return n, v.result
	}
	if errors.Is(err, io.EOF) {
		v.result = v.check()
		return n, v.result
	}
	return n, err
}

func (v *VerifyingReader) check() error {
	if !v.want.HasSHA256 {
		return fmt.Errorf("%w: the Release lists no SHA256 for %s", ErrChecksum, v.name)
	}
	if v.n != v.want.Size {
		return fmt.Errorf("%w: %s has %d bytes, the Release lists %d", ErrChecksum, v.name, v.n, v.want.Size)
	}
	var got [sha256.Size]byte
	v.h.Sum(got[:0])
	if !bytes.Equal(got[:], v.want.SHA256[:]) {
		return fmt.Errorf("%w: %s has SHA256 %s, the Release lists %s", ErrChecksum, v.name, hex.EncodeToString(got[:]), hex.EncodeToString(v.want.SHA256[:]))
	}
	return io.EOF
}

// Verified reports whether the whole stream was read and matched.
func (v *VerifyingReader) Verified() bool { return errors.Is(v.result, io.EOF) }

// BytesRead returns how many bytes have passed so far.
func (v *VerifyingReader) BytesRead() int64 { return v.n }
