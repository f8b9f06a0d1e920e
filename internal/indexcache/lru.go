package indexcache

import (
	"container/list"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// diskFile is a cache file found at Open.
type diskFile struct {
	path  string
	size  int64
	mtime time.Time
}

// lruItem is one cache file in the size index.
type lruItem struct {
	path string
	size int64
	open int  // Entries handed out and not yet closed
	gone bool // removed from the index (evicted, replaced, deleted)
	elem *list.Element
}

// sizeIndex tracks the cache files, most recently used first, to keep
// their total under a cap. Recency survives a restart only as file
// modification times (when each was fetched). Safe for concurrent use.
type sizeIndex struct {
	mu     sync.Mutex
	max    int64 // 0: no cap
	total  int64
	order  *list.List // of *lruItem, front: most recently used
	byPath map[string]*lruItem
	log    *slog.Logger
}

func newSizeIndex(max int64, files []diskFile, log *slog.Logger) *sizeIndex {
	x := &sizeIndex{max: max, order: list.New(), byPath: make(map[string]*lruItem), log: log}
	slices.SortFunc(files, func(a, b diskFile) int { return b.mtime.Compare(a.mtime) })
	for _, f := range files {
		it := &lruItem{path: f.path, size: f.size}
		it.elem = x.order.PushBack(it)
		x.byPath[f.path] = it
		x.total += f.size
	}
	return x
}

// stored records that path now holds size bytes (a new or replaced file)
// and evicts old files past the cap.
func (x *sizeIndex) stored(path string, size int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if it, ok := x.byPath[path]; ok {
		x.total += size - it.size
		it.size = size
		x.order.MoveToFront(it.elem)
	} else {
		it := &lruItem{path: path, size: size}
		it.elem = x.order.PushFront(it)
		x.byPath[path] = it
		x.total += size
	}
	x.evictLocked()
}

// opened marks path as in use and recently used; the returned function
// ends the use (call it once).
func (x *sizeIndex) opened(path string, size int64) func() {
	x.mu.Lock()
	defer x.mu.Unlock()
	it, ok := x.byPath[path]
	if !ok { // written by an earlier process after the scan: count it now
		it = &lruItem{path: path, size: size}
		it.elem = x.order.PushFront(it)
		x.byPath[path] = it
		x.total += size
	}
	it.open++
	x.order.MoveToFront(it.elem)
	return func() {
		x.mu.Lock()
		defer x.mu.Unlock()
		it.open--
		if !it.gone {
			x.evictLocked()
		}
	}
}

// removed forgets path (deleted by the cache).
func (x *sizeIndex) removed(path string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropLocked(path)
}

func (x *sizeIndex) dropLocked(path string) {
	it, ok := x.byPath[path]
	if !ok {
		return
	}
	it.gone = true
	x.order.Remove(it.elem)
	delete(x.byPath, path)
	x.total -= it.size
}

// evictLocked deletes least recently used files that are not open until the
// total is under the cap.
func (x *sizeIndex) evictLocked() {
	if x.max <= 0 || x.total <= x.max {
		return
	}
	before := x.total
	n := 0
	for e := x.order.Back(); e != nil && x.total > x.max; {
		it := e.Value.(*lruItem)
		e = e.Prev()
		if it.open > 0 {
			continue
		}
		if err := os.Remove(it.path); err != nil && !os.IsNotExist(err) {
			x.log.Warn("indexcache: evict", "path", it.path, "err", err)
			continue
		}
		x.dropLocked(it.path)
		n++
	}
	x.log.Info("indexcache: evicted least recently used files to stay under MaxBytes",
		"files", n, "bytes_freed", before-x.total, "total_bytes", x.total, "max_bytes", x.max, "cap_still_exceeded", x.total > x.max)
}

// usage returns the bytes and files indexed.
func (x *sizeIndex) usage() (int64, int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.total, len(x.byPath)
}
