package debtorrent

import (
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// Writing blocks to the store (a pwrite and the piece hash's update) is the
// largest cost of a download, so the loop hands it to a few writer
// goroutines. All blocks of one piece go to the same writer, in the order
// they were received, and the piece's verification starts only once that
// writer has written its last block.
const (
	numWriters     = 4
	writerQueueLen = 64
)

// writeJob is one block to store.
type writeJob struct {
	r    piecepicker.Request
	data []byte
	buf  *peerwire.Block // released once written (nil: nothing to release)
	last bool            // the piece's last block: verify it once written
}

// startWriters runs the writer goroutines.
func (t *Torrent) startWriters() {
	t.writers = make([]chan writeJob, numWriters)
	for k := range t.writers {
		ch := make(chan writeJob, writerQueueLen)
		t.writers[k] = ch
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.writeLoop(ch)
		}()
	}
}

// writeLoop stores the blocks of its share of the pieces.
func (t *Torrent) writeLoop(jobs <-chan writeJob) {
	for {
		select {
		case <-t.ctx.Done():
			return
		case j := <-jobs:
			err := t.st.WriteBlock(j.r.Piece, j.r.Begin, j.data)
			j.buf.Release()
			if err != nil && t.ctx.Err() == nil {
				// Verification will find the piece incomplete and fetch it again.
				t.log.Error("debtorrent: cannot store block", "block", j.r, "err", err)
			}
			if j.last {
				t.startVerify(j.r.Piece)
			}
		}
	}
}

// write queues a block for its piece's writer; the loop waits when the
// writer is behind, which slows reading from peers as the disk requires.
func (t *Torrent) write(j writeJob) {
	select {
	case t.writers[j.r.Piece%len(t.writers)] <- j:
	case <-t.ctx.Done():
		j.buf.Release()
	}
}
