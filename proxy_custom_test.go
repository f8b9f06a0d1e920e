package debtorrent_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memStorage is a ContentStorage in memory, written with public types only:
// what an embedder brings when it has its own storage.
type memStorage struct {
	mu        sync.Mutex
	pieces    map[[32]byte][]byte // verified content-addressed pieces
	observers map[int]func([32]byte, bool)
	next      int
}

var _ debtorrent.ContentStorage = (*memStorage)(nil)

func newMemStorage() *memStorage {
	return &memStorage{pieces: map[[32]byte][]byte{}, observers: map[int]func([32]byte, bool){}}
}

func (s *memStorage) OpenTorrent(info *metainfo.Info) (debtorrent.TorrentStorage, error) {
	if info.Layout != metainfo.PiecePerFile {
		return nil, errors.New("memStorage keeps piece-per-file torrents only")
	}
	return &memTorrent{s: s, info: info, partial: map[int][]byte{}}, nil
}

func (s *memStorage) Close() error { return nil }

func (s *memStorage) HasSHA256(sum [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pieces[sum]
	return ok
}

func (s *memStorage) OpenSHA256(sum [32]byte) (debtorrent.PieceReader, error) {
	s.mu.Lock()
	b, ok := s.pieces[sum]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("memStorage: %x: %w", sum, debtorrent.ErrNotComplete)
	}
	return memReader{bytes.NewReader(b)}, nil
}

func (s *memStorage) CreateSHA256(sum [32]byte, size int64) (debtorrent.ContentWriter, error) {
	return &memWriter{s: s, sum: sum, size: size, h: sha256.New()}, nil
}

func (s *memStorage) Observe(fn func([32]byte, bool)) func() {
	s.mu.Lock()
	k := s.next
	s.next++
	s.observers[k] = fn
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.observers, k)
		s.mu.Unlock()
	}
}

// store adds a verified piece and tells the observers, without the lock.
func (s *memStorage) store(sum [32]byte, b []byte) {
	s.mu.Lock()
	_, had := s.pieces[sum]
	s.pieces[sum] = b
	var fns []func([32]byte, bool)
	for _, fn := range s.observers {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	if !had {
		for _, fn := range fns {
			fn(sum, true)
		}
	}
}

type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

type memWriter struct {
	s    *memStorage
	sum  [32]byte
	size int64
	buf  bytes.Buffer
	h    hash.Hash
}

func (w *memWriter) Write(p []byte) (int, error) {
	if int64(w.buf.Len()+len(p)) > w.size {
		return 0, errors.New("memWriter: more bytes than the piece has")
	}
	w.h.Write(p)
	return w.buf.Write(p)
}
func (w *memWriter) Written() int64 { return int64(w.buf.Len()) }
func (w *memWriter) Abort() error   { return nil }
func (w *memWriter) Commit() error {
	if int64(w.buf.Len()) != w.size {
		return debtorrent.ErrIncomplete
	}
	if !bytes.Equal(w.h.Sum(nil), w.sum[:]) {
		return debtorrent.ErrHashMismatch
	}
	w.s.store(w.sum, bytes.Clone(w.buf.Bytes()))
	return nil
}

type memTorrent struct {
	s    *memStorage
	info *metainfo.Info

	mu      sync.Mutex
	partial map[int][]byte
}

func (t *memTorrent) sum(i int) (out [32]byte) { copy(out[:], t.info.Pieces[i].Hash); return }

func (t *memTorrent) WriteBlock(i int, off int64, data []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.partial[i]
	if b == nil {
		b = make([]byte, t.info.Pieces[i].Length)
		t.partial[i] = b
	}
	if off < 0 || off+int64(len(data)) > int64(len(b)) {
		return errors.New("memTorrent: block outside the piece")
	}
	copy(b[off:], data)
	return nil
}

func (t *memTorrent) FinishPiece(i int) error {
	t.mu.Lock()
	b := t.partial[i]
	delete(t.partial, i)
	t.mu.Unlock()
	var h hash.Hash = sha256.New()
	if t.info.HashType() != metainfo.SHA256 {
		h = sha1.New()
	}
	h.Write(b)
	if !bytes.Equal(h.Sum(nil), t.info.Pieces[i].Hash) {
		return debtorrent.ErrHashMismatch
	}
	t.s.store(t.sum(i), b)
	return nil
}

func (t *memTorrent) PieceComplete(i int) bool { return t.s.HasSHA256(t.sum(i)) }
func (t *memTorrent) OpenPiece(i int) (debtorrent.PieceReader, error) {
	return t.s.OpenSHA256(t.sum(i))
}
func (t *memTorrent) Close() error { return nil }

// memSource is a WebSource serving files from memory, counting what it
// serves.
type memSource struct {
	files  map[string][]byte
	served atomic.Int64
}

func (m *memSource) Fetch(ctx context.Context, req websource.Request, w io.Writer) (websource.Result, error) {
	b, ok := m.files[req.Path]
	if !ok {
		return websource.Result{}, fmt.Errorf("memSource: %s: %w", req.Path, websource.ErrNotFound)
	}
	n, err := w.Write(b[req.Offset : req.Offset+req.Length])
	m.served.Add(int64(n))
	return websource.Result{Written: int64(n), Sources: []string{"memory"}}, err
}

func (m *memSource) BadHash(path, source string) {}

// TestProxyWithCustomStorageAndWebSource: an embedder's own Storage and
// WebSource, written with public types only, drive a Proxy, with and without
// a Client: the .debs come from the custom source into the custom storage.
func TestProxyWithCustomStorageAndWebSource(t *testing.T) {
	for _, withClient := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", withClient), func(t *testing.T) {
			arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
			src := &memSource{files: map[string][]byte{}}
			for _, d := range arch.Debs {
				b, err := os.ReadFile(filepath.Join(arch.Root, d.Filename))
				require.NoError(t, err)
				src.files[d.Filename] = b
			}
			st := newMemStorage()
			var roots [][]string
			p := startProxy(t, "http://"+mirror.Addr()+"/", func(c *debtorrent.ProxyConfig) {
				c.WebSource = func(rootURLs []string) (websource.WebSource, error) {
					roots = append(roots, rootURLs)
					return src, nil
				}
				if withClient {
					cl, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", Storage: st})
					require.NoError(t, err)
					t.Cleanup(func() { cl.Close() })
					c.Client = cl
				} else {
					c.Storage = st
				}
			})
			root := newAptRoot(t, "deb [trusted=yes] "+mirror.URL()+" bookworm main", "http://"+p.Addr)
			root.mustRun(t, "update")
			pkgs := debNames(arch)
			root.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
			root.checkDebs(t, arch, pkgs...)
			var total int64
			for _, d := range arch.Debs {
				total += d.Size
				assert.Equal(t, 0, mirror.Count(d.Filename, http.StatusOK), "%s came from the custom source, not the HTTP mirror", d.Filename)
				assert.True(t, st.HasSHA256(d.SHA256), "%s is in the custom storage", d.Filename)
			}
			assert.Equal(t, total, src.served.Load(), "each .deb served once by the custom source")
			require.Len(t, roots, 1, "one web source per archive")
			assert.Equal(t, []string{mirror.URL()}, roots[0])
		})
	}
}
