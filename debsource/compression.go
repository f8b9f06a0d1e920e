package debsource

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// Compression names how an index file is compressed.
type Compression uint8

const (
	// Uncompressed is plain text.
	Uncompressed Compression = iota
	// Gzip is ".gz".
	Gzip
	// XZ is ".xz", what Debian publishes Packages in.
	XZ
	// Bzip2 is ".bz2" (Translation files, older mirrors).
	Bzip2
	// LZ4 is ".lz4" (an LZ4 frame).
	LZ4
	// Zstd is ".zst" (Ubuntu publishes some indexes so).
	Zstd
)

var compressionNames = [...]string{Uncompressed: "none", Gzip: "gzip", XZ: "xz", Bzip2: "bzip2", LZ4: "lz4", Zstd: "zstd"}

var compressionExts = [...]string{Uncompressed: "", Gzip: ".gz", XZ: ".xz", Bzip2: ".bz2", LZ4: ".lz4", Zstd: ".zst"}

// String returns the compression's short name.
func (c Compression) String() string {
	if int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// Ext returns the file name extension APT uses for the compression, with its
// dot ("" for Uncompressed).
func (c Compression) Ext() string {
	if int(c) < len(compressionExts) {
		return compressionExts[c]
	}
	return ""
}

// CompressionByName returns the compression a file name's extension names,
// and false when the extension names none (a plain or by-hash file).
func CompressionByName(name string) (Compression, bool) {
	ext := path.Ext(name)
	for c, e := range compressionExts {
		if e != "" && e == ext {
			return Compression(c), true
		}
	}
	return Uncompressed, false
}

// sniff recognises a compression by the magic bytes the stream starts with.
// Plain deb822 text never starts with any of these.
func sniff(head []byte) (Compression, bool) {
	switch {
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return XZ, true
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip, true
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd, true
	case bytes.HasPrefix(head, []byte{0x04, 0x22, 0x4d, 0x18}):
		return LZ4, true
	case len(head) >= 10 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9' &&
		(bytes.Equal(head[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || // block header
			bytes.Equal(head[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})): // empty stream
		return Bzip2, true
	}
	return Uncompressed, false
}

// ErrCompressionMismatch is returned when a file's name promises one
// compression and its first bytes show another (or none).
var ErrCompressionMismatch = errors.New("debsource: file name and content disagree on compression")

// Decompressor is an open decompressing stream. Close releases the
// decoder's resources (zstd holds goroutines); it does not close the
// underlying reader.
type Decompressor struct {
	// Reader yields the decompressed bytes.
	io.Reader
	// Compression is the format being decoded.
	Compression Compression
	close       func()
}

// Close releases the decoder.
func (d *Decompressor) Close() error {
	if d.close != nil {
		d.close()
		d.close = nil
	}
	return nil
}

// Limits of Decompress.
const (
	// DefaultMaxDecompressed is the most bytes Decompress produces before
	// failing with ErrTooLarge: 1 GiB, twenty times Debian bookworm's
	// main/binary-amd64 Packages (47.7 MiB uncompressed, 8.5 MiB as xz),
	// so a real index never comes near it, while a decompression bomb
	// stops there.
	DefaultMaxDecompressed = 1 << 30
	// DefaultMaxXZDict is the largest xz (LZMA2) dictionary Decompress
	// accepts: the decoder allocates what a stream declares (up to 4 GiB).
	// Debian's Packages.xz use 8 MiB (xz -6; -9 uses 64 MiB).
	DefaultMaxXZDict = 64 << 20
)

// DecompressOptions bound a decompression; zero fields take the defaults.
type DecompressOptions struct {
	// MaxBytes is the most decompressed bytes produced (default
	// DefaultMaxDecompressed); past it reads fail with ErrTooLarge.
	MaxBytes int64
	// MaxXZDict is the largest xz dictionary accepted (default
	// DefaultMaxXZDict); a stream declaring more fails with ErrTooLarge
	// before the decoder allocates it.
	MaxXZDict int64
}

// Decompress is DecompressWith with the default limits.
func Decompress(r io.Reader, name string) (*Decompressor, error) {
	return DecompressWith(r, name, DecompressOptions{})
}

// DecompressWith returns a reader of r's decompressed content, streaming:
// memory is the decoder's window (xz: the dictionary the stream declares,
// at most opts.MaxXZDict; zstd: at most 128 MiB), never the whole file, and
// at most opts.MaxBytes come out (ErrTooLarge past it). The format is
// recognised by its magic bytes, which decide: a by-hash path has no
// extension, and a wrong extension must not feed xz data to a text parser.
// name (a file name or path, may be "") is used as a cross-check: when its
// extension names a compression the content does not have, Decompress
// returns ErrCompressionMismatch. Content without a known magic is taken as
// plain text.
func DecompressWith(r io.Reader, name string, opts DecompressOptions) (*Decompressor, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxDecompressed
	}
	if opts.MaxXZDict <= 0 {
		opts.MaxXZDict = DefaultMaxXZDict
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(10)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("debsource: reading %s: %w", displayName(name), err)
	}
	c, _ := sniff(head)
	if want, ok := CompressionByName(name); ok && want != c {
		return nil, fmt.Errorf("%w: %s is named %s but its content is %s", ErrCompressionMismatch, displayName(name), want, c)
	}
	d := &Decompressor{Compression: c}
	switch c {
	case Uncompressed:
		d.Reader = br
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("debsource: gzip %s: %w", displayName(name), err)
		}
		d.Reader = zr
	case XZ:
		// The guard sees every byte before the decoder does and stops a
		// block header declaring too large a dictionary.
		guard := newXZGuard(br, opts.MaxXZDict)
		var cfg xz.ReaderConfig
		cfg.SingleStream = false
		xr, err := cfg.NewReader(guard)
		if err != nil {
			if guard.err != nil {
				err = guard.err
			}
			return nil, fmt.Errorf("debsource: xz %s: %w", displayName(name), err)
		}
		d.Reader = &guardedReader{r: xr, guard: guard}
	case Bzip2:
		d.Reader = bzip2.NewReader(br)
	case LZ4:
		d.Reader = lz4.NewReader(br)
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, fmt.Errorf("debsource: zstd %s: %w", displayName(name), err)
		}
		d.Reader, d.close = zr, zr.Close
	}
	d.Reader = &outputLimit{r: d.Reader, left: opts.MaxBytes, max: opts.MaxBytes, name: displayName(name)}
	return d, nil
}

// guardedReader reports the xz guard's error rather than what the decoder
// made of it.
type guardedReader struct {
	r     io.Reader
	guard *xzGuard
}

func (g *guardedReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && g.guard.err != nil {
		err = g.guard.err
	}
	return n, err
}

// outputLimit fails a decompression that produces more than max bytes.
type outputLimit struct {
	r    io.Reader
	left int64
	max  int64
	name string
}

func (o *outputLimit) Read(p []byte) (int, error) {
	if int64(len(p)) > o.left+1 {
		p = p[:o.left+1]
	}
	n, err := o.r.Read(p)
	if int64(n) > o.left {
		n = int(o.left)
		o.left = 0
		return n, fmt.Errorf("%w: %s decompresses to more than %d bytes", ErrTooLarge, o.name, o.max)
	}
	o.left -= int64(n)
	return n, err
}

func displayName(name string) string {
	if name == "" {
		return "stream"
	}
	return name
}
