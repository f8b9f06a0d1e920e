package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

// VerifyStats says what a Verify pass found.
type VerifyStats struct {
	// Checked counts pieces re-hashed.
	Checked int
	// Removed counts pieces found bad (wrong hash, wrong size, unreadable)
	// and removed or unmarked.
	Removed int
}

// Verify re-hashes every stored piece: the content-addressed area, and the
// verified pieces of every open standard torrent. Bad content-addressed files
// are deleted; bad pieces of standard torrents are unmarked in their record
// (their files are left alone). It reads everything, so it is only for when
// asked; opening the store never does it.
func (s *Store) Verify(ctx context.Context) (VerifyStats, error) {
	var st VerifyStats
	s.mu.RLock()
	es := make([]*entry, 0, s.count)
	s.cas.Range(func(_, v any) bool {
		es = append(es, v.(*entry))
		return true
	})
	ts := make([]*Torrent, 0, len(s.torrents))
	for _, t := range s.torrents {
		if t != nil && t.fixed != nil {
			ts = append(ts, t)
		}
	}
	s.mu.RUnlock()
	for _, e := range es {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		st.Checked++
		ok, err := s.checkCAS(e.sum)
		if err != nil {
			return st, err
		}
		if !ok && s.forget(e) {
			st.Removed++
		}
	}
	for _, t := range ts {
		tst, err := t.fixed.verify(ctx)
		st.Checked += tst.Checked
		st.Removed += tst.Removed
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// checkCAS re-hashes one content-addressed file. A missing or unreadable
// file counts as bad; only errors that say nothing of the file are returned.
func (s *Store) checkCAS(sum Sum) (bool, error) {
	f, err := os.Open(s.casPath(sum))
	if err != nil {
		return false, nil
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, nil
	}
	return bytes.Equal(h.Sum(nil), sum[:]), nil
}

// verify re-hashes the torrent's verified pieces and unmarks bad ones.
func (fl *fixedLayout) verify(ctx context.Context) (VerifyStats, error) {
	var st VerifyStats
	var bad []int
	for i := range fl.snapshot().Ones() {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		st.Checked++
		if !fl.pieceGood(i) {
			bad = append(bad, i)
		}
	}
	st.Removed = len(bad)
	if err := fl.unverify(bad); err != nil {
		return st, fmt.Errorf("store: verify %s: %w", fl.info.Name, err)
	}
	return st, nil
}

func (fl *fixedLayout) pieceGood(i int) bool {
	r, err := fl.open(i)
	if err != nil {
		return false
	}
	defer r.Close()
	h := newPieceHash(fl.info.HashType())
	if n, err := io.Copy(h, r); err != nil || n != fl.info.Pieces[i].Length {
		return false
	}
	return bytes.Equal(h.Sum(nil), fl.info.Pieces[i].Hash)
}
