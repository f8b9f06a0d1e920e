package aptproxy

import (
	"context"
	"encoding/hex"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/debtorrent/debtorrent/metainfo"
)

// Torrent is a Debian torrent the proxy made from a Packages file that
// passed through it.
type Torrent struct {
	// Info is the torrent.
	Info *metainfo.Info
	// Name says where its Packages file came from.
	Name debsource.TorrentName
	// Mirror is the name of the mirror it came from.
	Mirror string
	// ArchiveKey is the mirror and archive root it belongs to; RootURLs
	// are the root's URLs on the mirror's bases (for web fetches).
	ArchiveKey string
	RootURLs   []string
	// Dist is the suite's directory under dists/ ("bookworm").
	Dist string
	// Index is the Packages path it was made from (relative to the suite).
	Index string
	// ModTime is the Packages file's Last-Modified, given to its .debs.
	ModTime time.Time
	// Added is when the proxy made it.
	Added time.Time
}

// archives remembers, per archive, the latest Release of each suite and
// the torrents made from Packages files, and finds pool files in them.
type archives struct {
	mu       sync.Mutex
	releases map[string]*debsource.Release // archive key + "dists/" + suite
	torrents map[string]*Torrent           // archive key + suite + index directory
	built    map[string]bool               // Packages SHA256s already turned into torrents
	building int                           // torrents being built, and joins waiting to fetch a Packages file
	changed  chan struct{}                 // closed and replaced when a build ends
	hurry    chan struct{}                 // closed and replaced when a pool file was not found: pending joins go now
}

func newArchives() *archives {
	return &archives{releases: map[string]*debsource.Release{}, torrents: map[string]*Torrent{},
		built: map[string]bool{}, changed: make(chan struct{}), hurry: make(chan struct{})}
}

// pendingJoin counts a join that waits before fetching a Packages file as
// a build (pool requests wait for it) and returns the channel that tells it
// to go at once; done ends it.
func (a *archives) pendingJoin() (hurry <-chan struct{}, done func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.building++
	return a.hurry, func() {
		a.mu.Lock()
		a.building--
		close(a.changed)
		a.changed = make(chan struct{})
		a.mu.Unlock()
	}
}

func (a *archives) setRelease(archiveKey, suite string, rel *debsource.Release) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releases[archiveKey+"dists/"+suite] = rel
}

func (a *archives) release(archiveKey, suite string) *debsource.Release {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.releases[archiveKey+"dists/"+suite]
}

// vouched returns the Release entry that names an index path (resolving
// by-hash names), if the suite's Release is known and lists it with a
// SHA256.
func (a *archives) vouched(t Target) (debsource.IndexFile, bool) {
	rel := a.release(t.ArchiveKey(), t.Path.Suite)
	if rel == nil {
		return debsource.IndexFile{}, false
	}
	var f debsource.IndexFile
	var ok bool
	if t.Path.Index == debsource.IndexByHash {
		f, ok = rel.ByHash(t.Path.RelPath)
	} else {
		f, ok = rel.File(t.Path.RelPath)
	}
	return f, ok && f.HasSHA256
}

// claim marks a Packages file (by SHA256) as being built; false if it was
// already.
func (a *archives) claim(sum [32]byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := hex.EncodeToString(sum[:])
	if a.built[k] {
		return false
	}
	a.built[k] = true
	a.building++
	return true
}

// isBuilt reports whether a Packages file (by SHA256) was claimed.
func (a *archives) isBuilt(sum [32]byte) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.built[hex.EncodeToString(sum[:])]
}

// sameIndex returns the torrent made before from the same index as t, if
// any.
func (a *archives) sameIndex(t *Torrent) *Torrent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.torrents[t.ArchiveKey+t.Dist+"/"+indexDir(t.Index)]
}

// buildDone ends a build started by claim, adding its torrent (nil when
// the build failed) in place of the one made from an older Packages file of
// the same index. It returns the torrent replaced, if any.
func (a *archives) buildDone(t *Torrent) (replaced *Torrent) {
	a.mu.Lock()
	if t != nil {
		k := t.ArchiveKey + t.Dist + "/" + indexDir(t.Index)
		replaced = a.torrents[k]
		a.torrents[k] = t
	}
	a.building--
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
	return replaced
}

// hasIndex reports whether the index in dir ("main/binary-amd64") of a
// suite has a torrent.
func (a *archives) hasIndex(archiveKey, suite, dir string) bool {
	return a.indexPath(archiveKey, suite, dir) != ""
}

// indexPath returns the Packages path the index's torrent was made from
// ("main/binary-amd64/Packages.xz"), or "" when it has none.
func (a *archives) indexPath(archiveKey, suite, dir string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.torrents[archiveKey+suite+"/"+dir]; t != nil {
		return t.Index
	}
	return ""
}

// indexDir returns the directory of an index path ("main/binary-amd64").
func indexDir(rel string) string {
	if i := strings.Index(rel, "/by-hash/"); i >= 0 {
		return rel[:i]
	}
	return path.Dir(rel)
}

// find returns the torrent and file index listing a pool path of an
// archive. While torrents are being built it waits for them (until ctx
// ends or maxWait passes), since APT may ask for a package right after the
// Packages file that lists it.
func (a *archives) find(ctx context.Context, archiveKey, poolPath string, maxWait time.Duration) (*Torrent, int, bool) {
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		a.mu.Lock()
		for _, t := range a.torrents {
			if t.ArchiveKey != archiveKey {
				continue
			}
			if i, ok := t.Info.FileByPath(poolPath); ok {
				a.mu.Unlock()
				return t, i, true
			}
		}
		building, changed := a.building, a.changed
		if building > 0 {
			// APT asks for packages: it is not going to fetch the Packages
			// files the pending joins wait for.
			close(a.hurry)
			a.hurry = make(chan struct{})
		}
		a.mu.Unlock()
		if building == 0 {
			return nil, 0, false
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, 0, false
		case <-ctx.Done():
			return nil, 0, false
		}
	}
}

// list returns the torrents.
func (a *archives) list() []*Torrent {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*Torrent, 0, len(a.torrents))
	for _, t := range a.torrents {
		out = append(out, t)
	}
	return out
}
