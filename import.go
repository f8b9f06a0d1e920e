package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/debtorrent/debtorrent/metainfo"
)

// importChunk is how much of a piece importFiles reads at once.
const importChunk = 1 << 20

// importFiles checks the pieces ts is missing against the files of info found
// under dir (laid out as usual: dir/<name> for a single file, dir/<name>/<path>
// otherwise) and stores those that match. It returns how many it stored.
// Missing or short files and mismatching pieces are skipped.
func importFiles(ctx context.Context, ts TorrentStorage, info *metainfo.Info, dir string) (int, error) {
	files := make([]*os.File, len(info.Files))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	open := func(i int) (*os.File, error) {
		if files[i] != nil {
			return files[i], nil
		}
		p := filepath.Join(dir, filepath.FromSlash(info.Name))
		if !info.SingleFile {
			p = filepath.Join(p, filepath.FromSlash(info.Files[i].Path))
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		files[i] = f
		return f, nil
	}
	buf := make([]byte, importChunk)
	stored := 0
pieces:
	for i := range info.NumPieces() {
		if err := ctx.Err(); err != nil {
			return stored, err
		}
		if ts.PieceComplete(i) {
			continue
		}
		for _, fr := range info.FileRanges(i) {
			f, err := open(fr.File)
			if err != nil {
				continue pieces
			}
			for off := int64(0); off < fr.Length; off += importChunk {
				n := min(importChunk, fr.Length-off)
				if _, err := f.ReadAt(buf[:n], fr.Offset+off); err != nil && !errors.Is(err, io.EOF) {
					continue pieces
				} else if err != nil {
					continue pieces // short file
				}
				if err := ts.WriteBlock(i, fr.PieceOffset+off, buf[:n]); err != nil {
					return stored, fmt.Errorf("debtorrent: import piece %d of %s: %w", i, info.Name, err)
				}
			}
		}
		switch err := ts.FinishPiece(i); {
		case err == nil:
			stored++
		case errors.Is(err, ErrHashMismatch), errors.Is(err, ErrIncomplete):
		default:
			return stored, fmt.Errorf("debtorrent: import piece %d of %s: %w", i, info.Name, err)
		}
	}
	return stored, nil
}
