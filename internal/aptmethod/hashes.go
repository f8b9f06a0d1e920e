package aptmethod

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
)

// APT's hash names, as in "Expected-SHA256" and "SHA256-Hash".
var hashNames = []string{"MD5Sum", "SHA1", "SHA256", "SHA512"}

// canonicalHashName returns APT's spelling of a hash name, matched
// case-insensitively.
func canonicalHashName(name string) (string, bool) {
	for _, n := range hashNames {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// newHash returns a fresh hash for one of hashNames.
func newHash(name string) hash.Hash {
	switch name {
	case "MD5Sum":
		return md5.New()
	case "SHA1":
		return sha1.New()
	case "SHA512":
		return sha512.New()
	default:
		return sha256.New()
	}
}

// hashSet computes several hashes and the size in one pass over the data.
type hashSet struct {
	names  []string
	hashes []hash.Hash
	size   int64
}

// newHashSet returns a hashSet computing SHA256 and MD5Sum, which the
// method always reports. When APT expects a SHA256 that is enough: APT
// compares the hashes both sides name, and SHA1 and SHA512 would cost more
// CPU time than the download itself on a fast link. Without an expected
// SHA256, every hash APT expects is computed.
func newHashSet(expected map[string]string) *hashSet {
	want := map[string]bool{"SHA256": true, "MD5Sum": true}
	if _, ok := expected["SHA256"]; !ok {
		for name := range expected {
			want[name] = true
		}
	}
	h := &hashSet{}
	for _, n := range hashNames {
		if want[n] {
			h.names = append(h.names, n)
			h.hashes = append(h.hashes, newHash(n))
		}
	}
	return h
}

// Write adds p to every hash.
func (h *hashSet) Write(p []byte) (int, error) {
	for _, x := range h.hashes {
		x.Write(p)
	}
	h.size += int64(len(p))
	return len(p), nil
}

// ReadFrom hashes everything r yields.
func (h *hashSet) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	return io.CopyBuffer(writerOnly{h}, r, buf)
}

// writerOnly hides ReadFrom so io.CopyBuffer uses the buffer.
type writerOnly struct{ io.Writer }

// sums returns the hex digests keyed by hash name.
func (h *hashSet) sums() map[string]string {
	out := make(map[string]string, len(h.names))
	for i, n := range h.names {
		out[n] = hex.EncodeToString(h.hashes[i].Sum(nil))
	}
	return out
}

// verify compares the digests computed with what APT expects and returns
// an error naming the first hash that differs. Hashes not computed (see
// newHashSet) are left to APT, which checks every hash it gets back.
func verify(got, expected map[string]string) error {
	names := make([]string, 0, len(expected))
	for n := range expected {
		if _, ok := got[n]; ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if got[n] != expected[n] {
			return fmt.Errorf("%s mismatch: got %s, want %s", n, got[n], expected[n])
		}
	}
	return nil
}

// addHashFields appends "<Name>-Hash" fields for the digests and the size.
func addHashFields(m *Message, sums map[string]string, size int64) {
	m.Add("Checksum-FileSize-Hash", fmt.Sprint(size))
	for _, n := range hashNames {
		if v, ok := sums[n]; ok {
			m.Add(n+"-Hash", v)
		}
	}
}
