package aptproxy

import (
	"github.com/debtorrent/debtorrent/internal/store"
	"github.com/debtorrent/debtorrent/metainfo"
)

// StoreOf adapts an internal store to Store (for a proxy without a Client,
// and tests).
func StoreOf(s *store.Store) Store { return storeAdapter{s} }

type storeAdapter struct{ s *store.Store }

func (a storeAdapter) OpenSHA256(sum [32]byte) (Piece, error) {
	r, err := a.s.OpenSum(store.Sum(sum))
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (a storeAdapter) OpenWriter(info *metainfo.Info) (PieceWriter, error) {
	t, err := a.s.OpenTorrent(info)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (a storeAdapter) Usage() (int64, int) { return a.s.Usage() }
