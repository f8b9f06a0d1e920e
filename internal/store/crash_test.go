package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crashEnv names the directory a TestCrashHelper child writes into; its
// presence is what makes the helper run.
const (
	crashEnv     = "DEBTORRENT_STORE_CRASH_DIR"
	crashSeedEnv = "DEBTORRENT_STORE_CRASH_SEED"
	// crashRunSeedEnv replays TestCrashRecovery's kill points.
	crashRunSeedEnv = "DEBTORRENT_STORE_CRASH_RUN_SEED"
)

// crashFixtures are the torrents the crash child writes, the same in parent
// and child: a Debian torrent under a size cap (so eviction runs too) and a
// standard torrent whose pieces span files.
func crashFixtures(t testing.TB) (debFixture, fixedFixture) {
	r := rand.New(rand.NewPCG(7, 7))
	var contents [][]byte
	for i := range 40 {
		contents = append(contents, randomBytes(20_000+r.IntN(200_000), uint64(1000+i)))
	}
	return newDebFixture(t, "crash", "amd64", contents),
		newFixedFixture(t, "crash-std", 65536, []int{700_000, 3, 1_000_000, 90_000, 1_200_000}, 2000)
}

const crashMaxBytes = 2 << 20

// TestCrashHelper is the child of TestCrashRecovery: it writes pieces into
// the store forever (one in four corrupt, in random block order), printing a
// line after each, until it is killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCrashRecovery")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	r := rand.New(rand.NewPCG(seed, 1))
	deb, fixed := crashFixtures(t)
	s, err := Open(dir, Options{MaxBytes: crashMaxBytes})
	require.NoError(t, err)
	td, err := s.OpenTorrent(deb.info)
	require.NoError(t, err)
	tf, err := s.OpenTorrent(fixed.info)
	require.NoError(t, err)
	fmt.Println("ready")
	for n := 0; ; n++ {
		tor, i, data := td, r.IntN(len(deb.data)), []byte(nil)
		if r.IntN(2) == 0 && !tf.Completed().All() {
			tor, i = tf, r.IntN(len(fixed.info.Pieces))
			data = bytes.Clone(fixed.piece(i))
		} else {
			data = bytes.Clone(deb.data[i])
		}
		if tor.PieceComplete(i) {
			continue
		}
		if r.IntN(4) == 0 {
			data[r.IntN(len(data))] ^= 0x55
		}
		const block = 16384
		offs := make([]int, 0, len(data)/block+1)
		for off := 0; off < len(data); off += block {
			offs = append(offs, off)
		}
		if r.IntN(2) == 0 {
			r.Shuffle(len(offs), func(a, b int) { offs[a], offs[b] = offs[b], offs[a] })
		}
		for _, off := range offs {
			require.NoError(t, tor.WriteBlock(i, int64(off), data[off:min(off+block, len(data))]))
		}
		err := tor.FinishPiece(i)
		if err != nil && !errorsIsHashMismatch(err) {
			t.Fatalf("finish piece %d: %v", i, err)
		}
		fmt.Println("piece", n)
	}
}

// TestCrashRecovery kills a writing child with SIGKILL at random moments and
// checks, after each, that everything the store claims verifies and nothing
// wrong reads as complete.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-runs the test binary; skipped with -short")
	}
	deb, fixed := crashFixtures(t)
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashRunSeedEnv); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, crashRunSeedEnv)
	}
	t.Logf("kill points from seed %d (rerun with %s=%d)", seed, crashRunSeedEnv, seed)
	r := rand.New(rand.NewPCG(seed, 2))
	const iterations = 8
	for it := range iterations {
		killAfter := 1 + r.IntN(25)
		crashOnce(t, dir, it, killAfter)
		checkAfterCrash(t, dir, deb, fixed)
	}
}

// crashOnce runs the child until it has finished killAfter pieces, then
// kills it at once with SIGKILL.
func crashOnce(t *testing.T, dir string, seed, killAfter int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashSeedEnv+"="+strconv.Itoa(seed))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(out)
	done := 0
	deadline := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for lines.Scan() {
		if bytes.HasPrefix(lines.Bytes(), []byte("piece")) {
			done++
			if done >= killAfter {
				break
			}
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_, _ = io.Copy(io.Discard, out)
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "child must die by the signal; stderr: %s", stderr.String())
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled(), "child exited on its own (%v) after %d pieces; stderr: %s", err, done, stderr.String())
}

// checkAfterCrash reopens the store as a restarted process would.
func checkAfterCrash(t *testing.T, dir string, deb debFixture, fixed fixedFixture) {
	t.Helper()
	s, err := Open(dir, Options{MaxBytes: crashMaxBytes})
	require.NoError(t, err)
	defer s.Close()
	assert.Empty(t, dirEntries(t, s.tmpDir()))
	// Every content-addressed file holds the bytes its name says.
	for _, p := range casFiles(t, dir) {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		require.Equal(t, filepath.Base(p), hex.EncodeToString(sum[:]), "%s holds other bytes than its name says", p)
	}
	td, err := s.OpenTorrent(deb.info)
	require.NoError(t, err)
	lengths := map[string]int64{}
	for _, pc := range deb.info.Pieces {
		lengths[hex.EncodeToString(pc.Hash)] = pc.Length
	}
	resumable := 0
	for _, name := range dirEntries(t, s.partialDir()) {
		length, ok := lengths[name]
		require.True(t, ok, "partial/%s is no piece the child wrote", name)
		sum, _ := parseSum(name)
		require.False(t, s.Has(sum), "partial/%s of a stored piece survived Open", name)
		if s.PartialLength(sum, length) > 0 {
			resumable++
		}
	}
	for i := range deb.info.Pieces {
		if td.PieceComplete(i) {
			require.Equal(t, deb.data[i], readPiece(t, td, i), "debian piece %d", i)
		}
	}
	tf, err := s.OpenTorrent(fixed.info)
	require.NoError(t, err)
	for i := range fixed.info.Pieces {
		if tf.PieceComplete(i) {
			require.True(t, bytes.Equal(fixed.piece(i), readPiece(t, tf, i)), "standard piece %d claimed complete but wrong", i)
		}
	}
	assert.Empty(t, dirEntries(t, tf.fixed.partialDir()))
	t.Logf("after crash: %d/%d debian, %d/%d standard pieces verified, %d debian pieces resumable", td.Completed().Count(), len(deb.info.Pieces), tf.Completed().Count(), len(fixed.info.Pieces), resumable)
	require.NoError(t, td.Close())
	require.NoError(t, tf.Close())
}

func errorsIsHashMismatch(err error) bool { return errors.Is(err, ErrHashMismatch) }
