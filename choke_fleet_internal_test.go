package debtorrent

import (
	"crypto/sha1"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// TestFleetChoking: every interested debtorrent peer is unchoked (the
// fleet's rule: whoever has a package serves it, so the mirror stays out),
// up to what the upload cap serves; standard peers keep tit-for-tat's five
// slots. Checked both when peers become interested and at a choker round.
func TestFleetChoking(t *testing.T) {
	const n = 12
	data := []byte("fleet")
	sum := sha1.Sum(data)
	info, err := metainfo.NewInfo("f", int64(len(data)), []metainfo.File{{Path: "f", Length: int64(len(data))}}, sum[:], true)
	require.NoError(t, err)
	for _, c := range []struct {
		name       string
		fleet      bool
		uploadRate int64
		want       int
	}{
		{"debtorrent peers", true, 0, n},
		{"debtorrent peers, upload capped at 2 MiB/s", true, 2 << 20, 8},
		{"standard peers", false, 0, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, err := New(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir(), UploadRate: c.uploadRate})
			require.NoError(t, err)
			defer cl.Close()
			ts, err := cl.storage.OpenTorrent(info)
			require.NoError(t, err)
			tr, err := newTorrent(cl, info, ts, TorrentOptions{})
			require.NoError(t, err)
			defer func() {
				tr.cancel()
				tr.wg.Wait()
				ts.Close()
			}()
			var ps []*peer
			for i := range n {
				p := fakePeer(t, tr, fmt.Sprintf("192.0.2.%d:1", i+1), byte(i+1))
				p.fleet = c.fleet
				p.interested = true
				tr.maybeUnchoke(p)
				ps = append(ps, p)
			}
			count := func() int {
				k := 0
				for _, p := range ps {
					if p.unchoked {
						k++
					}
				}
				return k
			}
			assert.Equal(t, c.want, count(), "unchoked as they became interested")
			tr.rechoke(time.Now())
			assert.Equal(t, c.want, count(), "unchoked after a choker round")
		})
	}
}

func TestIsFleetClient(t *testing.T) {
	for v, want := range map[string]bool{"debtorrent 0.2": true, fleetVersion: true, "aria2/1.36.0": false, "": false, "Debtorrent": false} {
		assert.Equal(t, want, isFleetClient(v), v)
	}
}
