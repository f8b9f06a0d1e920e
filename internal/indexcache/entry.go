package indexcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// headerSize is the fixed size of the metadata at the head of a cache
// file: JSON padded with spaces, ending in a newline. A fixed size lets the
// body be streamed into the file before its size and hash are known.
const headerSize = 8 << 10

// Meta describes a cached file: what upstream said about it and what it
// holds.
type Meta struct {
	// URL is where it was fetched from.
	URL string `json:"url"`
	// Size and SHA256 of the body.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// LastModified and ETag as upstream sent them ("" when absent).
	LastModified string `json:"last_modified,omitempty"`
	ETag         string `json:"etag,omitempty"`
	// ContentType as upstream sent it.
	ContentType string `json:"content_type,omitempty"`
	// Fetched is when upstream last confirmed the body (200 or 304).
	Fetched time.Time `json:"fetched"`
}

// Sum returns the body's SHA256 as bytes (zero when unparseable).
func (m Meta) Sum() [32]byte {
	var s [32]byte
	b, err := hex.DecodeString(m.SHA256)
	if err == nil && len(b) == 32 {
		copy(s[:], b)
	}
	return s
}

// ModTime returns LastModified parsed (zero when absent or malformed).
func (m Meta) ModTime() time.Time {
	t, err := time.Parse(time.RFC1123, m.LastModified)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Entry is an open cached file. Read its body through Body; Close it when
// done. The file stays readable even if a newer version replaces it.
type Entry struct {
	// Meta describes the body.
	Meta Meta
	// Body reads the body; it supports Seek and ReadAt.
	Body *io.SectionReader
	// Revalidated says upstream confirmed or delivered the body during this
	// Get (false: served from the cache without asking).
	Revalidated bool
	f           *os.File
	release     func() // ends the use counted by the size cap, nil when not counted
}

// Read implements io.Reader over the body.
func (e *Entry) Read(p []byte) (int, error) { return e.Body.Read(p) }

// Seek implements io.Seeker over the body.
func (e *Entry) Seek(off int64, whence int) (int64, error) { return e.Body.Seek(off, whence) }

// Close closes the file. Call it once.
func (e *Entry) Close() error {
	if e.release != nil {
		e.release()
		e.release = nil
	}
	return e.f.Close()
}

// errNoEntry means no (usable) cache file exists.
var errNoEntry = errors.New("indexcache: not cached")

// openEntry opens the cache file at path: the metadata header, then the
// body. A file that does not match its metadata is treated as absent.
func openEntry(path string) (*Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errNoEntry
		}
		return nil, fmt.Errorf("indexcache: %w", err)
	}
	hdr := make([]byte, headerSize)
	var m Meta
	if _, err := io.ReadFull(f, hdr); err != nil || hdr[headerSize-1] != '\n' || json.Unmarshal(hdr, &m) != nil || m.Size < 0 {
		f.Close()
		return nil, errNoEntry
	}
	st, err := f.Stat()
	if err != nil || st.Size() != headerSize+m.Size {
		f.Close()
		return nil, errNoEntry
	}
	return &Entry{Meta: m, Body: io.NewSectionReader(f, headerSize, m.Size), f: f}, nil
}

// writeMetaOnly rewrites a cache file's metadata, keeping its body (after a
// 304): a new file is written and renamed over the old one, so readers
// never see a half-written header.
func writeMetaOnly(dir, path string, e *Entry, m Meta) error {
	hdr, err := encodeHeader(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(hdr); err != nil {
		tmp.Close()
		return fmt.Errorf("indexcache: %w", err)
	}
	if _, err := io.Copy(tmp, io.NewSectionReader(e.Body, 0, e.Meta.Size)); err != nil {
		tmp.Close()
		return fmt.Errorf("indexcache: rewrite %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// encodeHeader returns m as a header of exactly headerSize bytes.
func encodeHeader(m Meta) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("indexcache: %w", err)
	}
	if len(b) > headerSize-1 {
		return nil, fmt.Errorf("indexcache: metadata of %s too large to cache", m.URL)
	}
	hdr := make([]byte, headerSize)
	copy(hdr, b)
	for i := len(b); i < headerSize-1; i++ {
		hdr[i] = ' '
	}
	hdr[headerSize-1] = '\n'
	return hdr, nil
}

// keyPath names a key's cache file: its SHA256, fanned out by two hex
// digits.
func keyPath(dir, key string) string {
	s := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(s[:])
	return filepath.Join(dir, h[:2], h)
}
