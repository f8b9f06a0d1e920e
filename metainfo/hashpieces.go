package metainfo

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// hashChunkSize is how many bytes HashPieces reads at once (rounded to whole
// pieces): big reads keep the system-call cost small next to hashing.
const hashChunkSize = 4 << 20

// hashMemory bounds the buffers HashPieces holds at once, unless two pieces
// are bigger.
const hashMemory = 128 << 20

// HashPieces reads exactly length bytes from r, cuts them into pieces of
// pieceLength bytes (the last one shorter) and returns the pieces' SHA1
// digests, concatenated: the "pieces" string of a v1 info dictionary.
//
// Reading runs on the calling goroutine; hashing runs on up to GOMAXPROCS
// goroutines, which have all returned when HashPieces does. It stops early
// when ctx is cancelled. A reader that ends before length bytes is an error.
func HashPieces(ctx context.Context, r io.Reader, length, pieceLength int64) ([]byte, error) {
	if pieceLength <= 0 || pieceLength > 1<<30 {
		return nil, fmt.Errorf("metainfo: hash pieces: piece length %d out of range", pieceLength)
	}
	if length < 0 {
		return nil, fmt.Errorf("metainfo: hash pieces: negative length %d", length)
	}
	numPieces := (length + pieceLength - 1) / pieceLength
	if numPieces > MaxPieces {
		return nil, fmt.Errorf("metainfo: hash pieces: %d bytes make %d pieces of %d, more than %d: choose a bigger piece length",
			length, numPieces, pieceLength, MaxPieces)
	}
	sums := make([]byte, numPieces*sha1.Size)
	if numPieces == 0 {
		return sums, nil
	}
	piecesPerChunk := max(1, hashChunkSize/pieceLength)
	chunkSize := piecesPerChunk * pieceLength
	// One buffer per worker plus one being filled, all of them together at
	// most hashMemory (but at least two, for pieces bigger than a quarter of
	// it).
	workers := min(runtime.GOMAXPROCS(0), int((numPieces+piecesPerChunk-1)/piecesPerChunk), 8)
	workers = max(1, min(workers, int(hashMemory/chunkSize)-1))

	type job struct {
		first int64  // index of the chunk's first piece
		data  []byte // whole pieces, the last one possibly short
	}
	jobs := make(chan job)
	free := make(chan []byte, workers+1)
	for range workers + 1 {
		free <- make([]byte, min(chunkSize, length))
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for i := int64(0); int64(len(j.data)) > i*pieceLength; i++ {
					p := j.data[i*pieceLength : min(int64(len(j.data)), (i+1)*pieceLength)]
					sum := sha1.Sum(p)
					copy(sums[(j.first+i)*sha1.Size:], sum[:])
				}
				free <- j.data[:cap(j.data)]
			}
		}()
	}
	err := func() error {
		for off := int64(0); off < length; off += chunkSize {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("metainfo: hash pieces: %w", err)
			}
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return fmt.Errorf("metainfo: hash pieces: %w", ctx.Err())
			}
			buf = buf[:min(chunkSize, length-off)]
			if n, err := io.ReadFull(r, buf); err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					return fmt.Errorf("metainfo: hash pieces: data ended after %d of %d bytes", off+int64(n), length)
				}
				return fmt.Errorf("metainfo: hash pieces: %w", err)
			}
			jobs <- job{first: off / pieceLength, data: buf}
		}
		return nil
	}()
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return sums, nil
}
