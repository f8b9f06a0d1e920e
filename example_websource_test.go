package debtorrent_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
)

// filesSource is a WebSource of our own: it serves files from memory. Any
// place that can produce a byte range in order can be a torrent's web source
// (a mirror, another cache, a local directory).
type filesSource map[string][]byte

func (s filesSource) Fetch(ctx context.Context, req websource.Request, w io.Writer) (websource.Result, error) {
	b, ok := s[req.Path]
	if !ok {
		return websource.Result{}, fmt.Errorf("%s: %w", req.Path, websource.ErrNotFound)
	}
	n, err := w.Write(b[req.Offset : req.Offset+req.Length])
	return websource.Result{Written: int64(n), Sources: []string{"memory"}}, err
}

func (s filesSource) BadHash(path, source string) {}

// A custom WebSource plugged into a Torrent: with no peer that has the
// piece, the torrent fetches it from its web source, verifies it and stores
// it.
func ExampleTorrentOptions_webSource() {
	deb := []byte("a package's bytes\n")
	info, err := metainfo.NewPiecePerFileInfo("example/main/binary-amd64",
		[]metainfo.File{{Path: "pool/main/h/hello/hello_1_amd64.deb", Length: int64(len(deb))}},
		func() []byte { s := sha256.Sum256(deb); return s[:] }())
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "debtorrent-example")
	defer os.RemoveAll(dir)
	c, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	src := filesSource{"pool/main/h/hello/hello_1_amd64.deb": deb}
	t, err := c.AddTorrent(info, debtorrent.TorrentOptions{WebSource: src})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := t.ReadPiece(ctx, 0)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	got, _ := io.ReadAll(r)
	fmt.Printf("%s", got)
	// Output:
	// a package's bytes
}
