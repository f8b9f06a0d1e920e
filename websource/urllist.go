package websource

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/debtorrent/debtorrent/metainfo"
)

// NewURLList returns a source over the BEP 19 web seeds ("url-list") of a
// standard torrent. Per BEP 19, for a single-file torrent a URL that does not
// end in "/" is the file itself, and one that does is a directory holding a
// file named after the torrent; for a multi-file torrent every URL is a
// directory under which the torrent's name and then each file's path follow
// (a missing trailing "/" is added). Use the Requests that PieceRequests
// builds with it.
func NewURLList(urls []string, info *metainfo.Info, opts Options) (*HTTPSource, error) {
	ms := make([]*mirror, 0, len(urls))
	for _, u := range urls {
		single := info.SingleFile && !strings.HasSuffix(u, "/")
		m, err := newMirror(u, single)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return newSource(ms, opts)
}

// FilePath returns the path under a source's root of file i of info: for a
// PiecePerFile (Debian) torrent the file's own path, which is relative to the
// mirror's root; for a standard torrent the BEP 19 path, the torrent's name
// followed, for a multi-file torrent, by "/" and the file's path.
func FilePath(info *metainfo.Info, i int) string {
	f := info.Files[i]
	switch {
	case info.Layout == metainfo.PiecePerFile:
		return f.Path
	case info.SingleFile:
		return info.Name
	default:
		return info.Name + "/" + f.Path
	}
}

// PieceRequests turns piece p of info into the requests that fetch it, in
// piece order: one per file the piece covers (metainfo.Info.FileRanges). It
// returns nil for an index out of range.
func PieceRequests(info *metainfo.Info, p int) []Request {
	ranges := info.FileRanges(p)
	if ranges == nil {
		return nil
	}
	reqs := make([]Request, 0, len(ranges))
	for _, r := range ranges {
		reqs = append(reqs, Request{
			Path:     FilePath(info, r.File),
			Offset:   r.Offset,
			Length:   r.Length,
			FileSize: info.Files[r.File].Length,
		})
	}
	return reqs
}

// FetchPiece fetches the whole of piece p of info from src and writes it to w
// in order. On error the Result still says how many bytes of the piece were
// written, so the caller may resume from there.
func FetchPiece(ctx context.Context, src WebSource, info *metainfo.Info, p int, w io.Writer) (Result, error) {
	reqs := PieceRequests(info, p)
	if reqs == nil {
		return Result{}, fmt.Errorf("%w: piece %d of %d", ErrInvalidRequest, p, info.NumPieces())
	}
	var total Result
	for _, req := range reqs {
		res, err := src.Fetch(ctx, req, w)
		total.Written += res.Written
		for _, s := range res.Sources {
			if !slices.Contains(total.Sources, s) {
				total.Sources = append(total.Sources, s)
			}
		}
		if err != nil {
			return total, fmt.Errorf("websource: piece %d: %w", p, err)
		}
	}
	return total, nil
}
