package testmirror

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// buildPDiff returns the files of a Packages.diff directory updating old
// to new: "Index" and one gzip-compressed ed script named after date. It
// runs diff(1) --ed, as Debian's dak does.
func buildPDiff(old, new []byte, date time.Time) (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "pdiff")
	if err != nil {
		return nil, fmt.Errorf("testmirror: pdiff: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "old"), old, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "new"), new, 0o644); err != nil {
		return nil, err
	}
	out, err := exec.Command("diff", "--ed", filepath.Join(dir, "old"), filepath.Join(dir, "new")).Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: files differ
		return nil, fmt.Errorf("testmirror: diff --ed (install diffutils): %w", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(out)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	name := date.UTC().Format("T-2006-01-02-1504.05")
	hexSum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	index := fmt.Sprintf("SHA256-Current: %s %d\nSHA256-History:\n %s %d %s\nSHA256-Patches:\n %s %d %s\nSHA256-Download:\n %s %d %s.gz\n",
		hexSum(new), len(new), hexSum(old), len(old), name, hexSum(out), len(out), name, hexSum(gz.Bytes()), gz.Len(), name)
	return map[string][]byte{"Index": []byte(index), name + ".gz": gz.Bytes()}, nil
}
