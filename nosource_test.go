package debtorrent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/websource"
)

// With no peer and a mirror that does not have the package (404) or keeps
// failing (500), a wait fails fast with ErrNoSource and the cause, and so
// does another wait within the retry delay.
func TestWaitNoSource(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     func(int64) string
		notFound bool
	}{
		{"404", nil, true},
		{"500", func(int64) string { return "500" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := makeDebs(t, 2, 23)
			served := map[string][]byte{s.order[0]: s.debs[s.order[0]]}
			if tc.fail != nil {
				served = s.debs
			}
			m := newMirror(t, served, tc.fail)
			c, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.Web.NormalDelay = -1 })
			tr, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{WebSource: webSource(t, m)})
			require.NoError(t, err)

			for try := range 2 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				start := time.Now()
				err = tr.WaitPiece(ctx, 1)
				cancel()
				require.ErrorIs(t, err, debtorrent.ErrNoSource, "try %d", try)
				require.False(t, errors.Is(err, context.DeadlineExceeded), "try %d: %v", try, err)
				require.Equal(t, tc.notFound, errors.Is(err, websource.ErrNotFound), "try %d: %v", try, err)
				require.Less(t, time.Since(start), 3*time.Second, "try %d: failing took too long", try)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, tr.WaitFor(ctx, func(ts debtorrent.TorrentStats) bool { return ts.Wanted == 0 }),
				"the failed piece is not wanted any more")
			if tc.fail == nil {
				require.Equal(t, s.debs[s.order[0]], readAll(t, tr, 0), "other pieces still come")
			}
		})
	}
}
