package main

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
)

// memStorage keeps pieces in memory: with -mem, the benchmark measures the
// engine alone, without the disk store's per-piece fsyncs.
type memStorage struct{}

func (memStorage) OpenTorrent(info *metainfo.Info) (debtorrent.TorrentStorage, error) {
	return &memTorrent{info: info, data: make(map[int][]byte), done: make(map[int]bool)}, nil
}

func (memStorage) Close() error { return nil }

type memTorrent struct {
	info *metainfo.Info
	mu   sync.Mutex
	data map[int][]byte
	done map[int]bool
}

func (t *memTorrent) WriteBlock(i int, off int64, b []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done[i] {
		return nil
	}
	d := t.data[i]
	if d == nil {
		d = make([]byte, t.info.Pieces[i].Length)
		t.data[i] = d
	}
	if off < 0 || off+int64(len(b)) > int64(len(d)) {
		return errors.New("block outside piece")
	}
	copy(d[off:], b)
	return nil
}

func (t *memTorrent) FinishPiece(i int) error {
	t.mu.Lock()
	d := t.data[i]
	t.mu.Unlock()
	if d == nil {
		return debtorrent.ErrIncomplete
	}
	sum := sha1.Sum(d)
	if !bytes.Equal(sum[:], t.info.Pieces[i].Hash) {
		t.mu.Lock()
		delete(t.data, i)
		t.mu.Unlock()
		return fmt.Errorf("%w: piece %d", debtorrent.ErrHashMismatch, i)
	}
	t.mu.Lock()
	t.done[i] = true
	t.mu.Unlock()
	return nil
}

func (t *memTorrent) PieceComplete(i int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done[i]
}

func (t *memTorrent) OpenPiece(i int) (debtorrent.PieceReader, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done[i] {
		return nil, debtorrent.ErrNotComplete
	}
	return memReader{bytes.NewReader(t.data[i])}, nil
}

func (t *memTorrent) Close() error { return nil }

type memReader struct{ *bytes.Reader }

func (memReader) Close() error { return nil }

var _ io.ReaderAt = memReader{}
