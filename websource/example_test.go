package websource_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
)

// A Debian mirror is a base URL; requests name paths under it. The first
// mirror is used while it works; here it lacks the file, so the second one
// serves it.
func ExampleNewHTTP() {
	deb := []byte("!<arch>\ndebian-binary ...")
	mux := http.NewServeMux()
	mux.HandleFunc("/debian/pool/main/h/hello/hello_2.10-3_amd64.deb", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(deb))
	})
	good := httptest.NewServer(mux)
	defer good.Close()
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()

	src, err := websource.NewHTTP([]string{empty.URL + "/debian", good.URL + "/debian/"}, websource.Options{})
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	res, err := src.Fetch(context.Background(), websource.Request{
		Path:     "pool/main/h/hello/hello_2.10-3_amd64.deb",
		Offset:   0,
		Length:   int64(len(deb)),
		FileSize: int64(len(deb)),
	}, &buf)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes, %q, from the second mirror: %v\n", res.Written, buf.String()[:7], strings.HasPrefix(res.Sources[0], good.URL))

	_, err = src.Fetch(context.Background(), websource.Request{Path: "pool/missing.deb", Length: 1, FileSize: -1}, &buf)
	fmt.Println(errors.Is(err, websource.ErrNotFound))
	// Output:
	// 25 bytes, "!<arch>", from the second mirror: true
	// true
}

// A standard torrent's BEP 19 web seed: the URL is a directory holding the
// torrent's name, and each piece becomes one request per file it covers.
func ExampleNewURLList() {
	files := map[string]string{"/seed/album/01.flac": "first track ", "/seed/album/02.flac": "second track"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(files[r.URL.Path]))
	}))
	defer srv.Close()

	stream := files["/seed/album/01.flac"] + files["/seed/album/02.flac"]
	sums, _ := metainfo.HashPieces(context.Background(), strings.NewReader(stream), int64(len(stream)), 16)
	info, err := metainfo.NewInfo("album", 16, []metainfo.File{{Path: "01.flac", Length: 12}, {Path: "02.flac", Length: 12}}, sums, false)
	if err != nil {
		panic(err)
	}
	src, err := websource.NewURLList([]string{srv.URL + "/seed/"}, info, websource.Options{})
	if err != nil {
		panic(err)
	}
	for _, req := range websource.PieceRequests(info, 0) {
		fmt.Println(req)
	}
	var piece bytes.Buffer
	if _, err := websource.FetchPiece(context.Background(), src, info, 0, &piece); err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", piece.String())
	// Output:
	// album/01.flac [0, 12)
	// album/02.flac [0, 4)
	// "first track seco"
}
