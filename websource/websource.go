// Package websource fetches byte ranges of files from sources that are not
// peers: HTTP mirrors of the Debian archive, and the BEP 19 "url-list" web
// seeds of standard torrents.
//
// The engine asks a WebSource for the bytes of one file range and hands it an
// io.Writer, usually one that writes into the piece's temporary file in the
// store and hashes as it goes. Bytes are always written in order, starting at
// the requested offset, so the writer never has to buffer or reorder, and a
// partial result is a usable prefix: the count returned tells the caller where
// to resume.
//
// HTTPSource is the implementation over HTTP: one shared connection pool,
// Range requests for parts of files and plain GETs for whole files (so that
// caches in front of a mirror are hit just as APT would hit them), retries with
// bounded exponential backoff and Retry-After, failover across several
// mirrors, a cap on concurrent requests per host, and avoidance of a mirror
// that served a file whose hash turned out wrong.
package websource

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrNotFound is wrapped by the error of a fetch when no source has the file:
// every mirror answered 404 Not Found or 410 Gone. Test with errors.Is.
var ErrNotFound = errors.New("websource: file not found")

// ErrInvalidRequest is wrapped by the error of a fetch whose Request is
// impossible (negative offset or length, range past the file's end).
var ErrInvalidRequest = errors.New("websource: invalid request")

// Request names a run of bytes of one file.
type Request struct {
	// Path is the file's slash-separated path relative to the source's root,
	// not escaped: "pool/main/h/hello/hello_2.10-3_amd64.deb". The source
	// escapes it as URLs require.
	Path string
	// Offset is the first byte wanted.
	Offset int64
	// Length is the number of bytes wanted, from Offset.
	Length int64
	// FileSize is the size of the whole file, or -1 when it is not known. When
	// the request covers the whole file an HTTP source sends a plain GET
	// without a Range header, as APT would, so that caches serve it.
	FileSize int64
}

// String describes the request for errors and logs.
func (r Request) String() string {
	return fmt.Sprintf("%s [%d, %d)", r.Path, r.Offset, r.Offset+r.Length)
}

// Validate reports whether the request is possible.
func (r Request) Validate() error {
	switch {
	case r.Offset < 0 || r.Length < 0:
		return fmt.Errorf("%w: %s: negative offset or length", ErrInvalidRequest, r)
	case r.FileSize >= 0 && r.Offset+r.Length > r.FileSize:
		return fmt.Errorf("%w: %s: past the end of a file of %d bytes", ErrInvalidRequest, r, r.FileSize)
	case r.Offset+r.Length < r.Offset:
		return fmt.Errorf("%w: %s: range overflows", ErrInvalidRequest, r)
	}
	return nil
}

// Result says what a fetch delivered.
type Result struct {
	// Written is the number of bytes written to the writer, a prefix of the
	// requested range, starting at Request.Offset. It equals Request.Length
	// exactly when the error is nil.
	Written int64
	// Sources names the sources (mirror base URLs) that delivered any of those
	// bytes, in order, without repeats. If the data then fails its hash check,
	// report each of them with BadHash.
	Sources []string
}

// WebSource fetches byte ranges of files from somewhere that is not a peer.
// Implementations are safe for concurrent use.
type WebSource interface {
	// Fetch writes the bytes of req to w, in order, and returns how many it
	// wrote and who served them. It retries and fails over internally; an
	// error means the remaining bytes could not be had (ErrNotFound when no
	// source has the file) or that w failed, or that ctx ended. Fetch never
	// returns before the last write to w has returned.
	Fetch(ctx context.Context, req Request, w io.Writer) (Result, error)
	// BadHash tells the source that data it served for path from source (a
	// name taken from Result.Sources) failed verification, so that source is
	// avoided for that file from now on.
	BadHash(path, source string)
}
