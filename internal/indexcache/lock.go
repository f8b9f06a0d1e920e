package indexcache

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockName is the lock file in a cache directory: one process owns a
// cache directory at a time.
const lockName = ".lock"

// tmpPrefix starts the names of files being written (downloads, metadata
// rewrites); they are renamed into place when complete.
const tmpPrefix = ".tmp-"

// lockDir takes the directory's lock file, or fails when another process
// holds it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("indexcache: open %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("indexcache: %s is in use by another process (stop it, or give each process its own cache directory): %w", dir, err)
	}
	return f, nil
}

// scanDir removes the temporary files a killed process left (with the lock
// held no live download owns any) and returns the cache files found, for
// the size index.
func scanDir(dir string) ([]diskFile, int, error) {
	var files []diskFile
	removed := 0
	fans, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("indexcache: scan %s: %w", dir, err)
	}
	for _, fan := range fans {
		if !fan.IsDir() || len(fan.Name()) != 2 {
			continue
		}
		sub := filepath.Join(dir, fan.Name())
		ents, err := os.ReadDir(sub)
		if err != nil {
			return nil, 0, fmt.Errorf("indexcache: scan %s: %w", sub, err)
		}
		for _, e := range ents {
			p := filepath.Join(sub, e.Name())
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				if err := os.Remove(p); err == nil {
					removed++
				}
				continue
			}
			if !e.Type().IsRegular() || len(e.Name()) != 64 {
				continue
			}
			st, err := e.Info()
			if err != nil {
				continue
			}
			files = append(files, diskFile{path: p, size: st.Size(), mtime: st.ModTime()})
		}
	}
	return files, removed, nil
}
