package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ImportStats says what an Import did.
type ImportStats struct {
	// Files counts .deb files looked at.
	Files int
	// Linked counts files added by hard link (same filesystem).
	Linked int
	// Copied counts files added by copying.
	Copied int
	// Present counts files the store already held.
	Present int
	// Bytes counts the bytes of the files added.
	Bytes int64
	// Sums lists the SHA256 of every file looked at, added or present.
	Sums []Sum
}

// Import adds the .deb files directly in dir (not its subdirectories; APT's
// /var/cache/apt/archives keeps unfinished downloads in partial/) to the
// content-addressed area. Each file is hard-linked into the store's
// temporary area when both are on one filesystem, else copied, then hashed
// there (so the hash is of the very bytes that get stored) and renamed to
// its digest. The first file that cannot be read ends the import with an
// error; the files added before it stay.
func (s *Store) Import(ctx context.Context, dir string) (ImportStats, error) {
	var st ImportStats
	des, err := os.ReadDir(dir)
	if err != nil {
		return st, fmt.Errorf("store: import %s: %w", dir, err)
	}
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), ".deb") {
			continue
		}
		st.Files++
		if err := s.importFile(ctx, filepath.Join(dir, de.Name()), &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (s *Store) importFile(ctx context.Context, src string, st *ImportStats) error {
	tmp, linked, err := s.stage(ctx, src)
	if err != nil {
		return fmt.Errorf("store: import %s: %w", src, err)
	}
	sum, size, err := hashFile(ctx, tmp)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: import %s: %w", src, err)
	}
	st.Sums = append(st.Sums, sum)
	if s.Has(sum) {
		os.Remove(tmp)
		st.Present++
		return nil
	}
	if err := s.commitCAS(tmp, sum, size); err != nil {
		return fmt.Errorf("store: import %s: %w", src, err)
	}
	if linked {
		st.Linked++
	} else {
		st.Copied++
	}
	st.Bytes += size
	return nil
}

// stage puts a durable copy of src in the temporary area: a hard link when
// possible, else a copy, fsynced either way.
func (s *Store) stage(ctx context.Context, src string) (string, bool, error) {
	f, err := os.CreateTemp(s.tmpDir(), "import-*")
	if err != nil {
		return "", false, err
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	if err := os.Link(src, tmp); err == nil {
		if err := s.syncPath(tmp); err != nil {
			os.Remove(tmp)
			return "", false, err
		}
		return tmp, true, nil
	}
	if err := s.copyFile(ctx, src, tmp); err != nil {
		os.Remove(tmp)
		return "", false, err
	}
	return tmp, false, nil
}

func (s *Store) copyFile(ctx context.Context, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, ctxReader{ctx, in}); err != nil {
		out.Close()
		return err
	}
	if err := s.fs.Sync(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func hashFile(ctx context.Context, path string) (Sum, int64, error) {
	var sum Sum
	f, err := os.Open(path)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return sum, 0, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
