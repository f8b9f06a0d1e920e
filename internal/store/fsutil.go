package store

import (
	"fmt"
	"os"
	"path/filepath"
)

// fileSystem is the seam through which the store makes data durable: every
// fsync and every rename that names a piece or a record goes through it, so
// a test can record their order. The default is osFS; only tests set
// another (Options.fs).
type fileSystem interface {
	// Sync flushes f (a file or a directory) to stable storage.
	Sync(f *os.File) error
	// Rename moves from to to, replacing to.
	Rename(from, to string) error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) Sync(f *os.File) error        { return f.Sync() }
func (osFS) Rename(from, to string) error { return os.Rename(from, to) }

// syncDir fsyncs a directory, making renames and creations in it durable.
func (s *Store) syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := s.fs.Sync(d); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// syncPath fsyncs the file at path.
func (s *Store) syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.fs.Sync(f)
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one, never a mix: write a temporary file beside it,
// fsync it, rename it over path, fsync the directory.
func (s *Store) writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := s.fs.Sync(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := s.fs.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return s.syncDir(dir)
}

// renameDurably moves a fully written and fsynced file to its final name,
// creating the parent directory if needed, and makes the rename durable.
func (s *Store) renameDurably(from, to string) error {
	dir := filepath.Dir(to)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := s.fs.Rename(from, to); err != nil {
		return err
	}
	return s.syncDir(dir)
}
