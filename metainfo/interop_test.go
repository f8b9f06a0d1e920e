package metainfo

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run real BitTorrent tools on temporary content and check that
// they and debtorrent agree on infohashes. Each skips when its tool is not
// installed.

// needTool skips the test unless the named program is installed.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: apt-get install %s", name, pkg)
	}
	return path
}

// run runs a program, failing the test with its output if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
	return string(out)
}

var transmissionHashLine = regexp.MustCompile(`(?m)^\s*Hash: ([0-9a-f]{40})$`)

// transmissionShowHash returns the infohash transmission-show prints for a
// .torrent file.
func transmissionShowHash(t *testing.T, torrent string) string {
	t.Helper()
	out := run(t, "transmission-show", torrent)
	m := transmissionHashLine.FindStringSubmatch(out)
	require.NotNil(t, m, "no Hash line in transmission-show's output:\n%s", out)
	return m[1]
}

// writeTestTree writes a folder with the awkward cases: nested folders,
// empty files, dot files, names that sort differently byte-wise and
// folder-wise, and files bigger and smaller than a piece.
func writeTestTree(t *testing.T, dir string, withAwkward bool) {
	files := map[string]string{
		"big.bin":         string(randomBytes(7, 300_001)),
		"docs/readme.txt": "read me\n",
		"docs/more/x.dat": string(randomBytes(8, 40_000)),
		"small":           "s",
	}
	if withAwkward {
		files["docs-old"] = "sorts before docs/ byte-wise"
		files[".dotfile"] = "hidden"
		files["empty"] = ""
		files["Upper"] = "upper case"
	}
	writeTree(t, dir, files)
}

func TestMktorrentLive(t *testing.T) {
	needTool(t, "mktorrent", "mktorrent")
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	writeTestTree(t, content, true)
	tests := []struct {
		name    string
		target  string
		private bool
	}{
		{"folder", content, false},
		{"private folder", content, true},
		{"single file", filepath.Join(content, "big.bin"), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, tt.name+".torrent")
			args := []string{"-d", "-l", "15", "-t", "1", "-a", "http://127.0.0.1:1/announce", "-o", out}
			if tt.private {
				args = append(args, "-p")
			}
			run(t, "mktorrent", append(args, tt.target)...)
			theirs, err := LoadFile(out)
			require.NoError(t, err)
			ours, err := Create(context.Background(), tt.target, CreateOptions{PieceLength: 32768, Private: tt.private})
			require.NoError(t, err)
			assert.Equal(t, theirs.Info.InfoHash(), ours.InfoHash(), "case %d: Create makes mktorrent's info dictionary", i)
			if _, err := exec.LookPath("transmission-show"); err == nil {
				assert.Equal(t, transmissionShowHash(t, out), theirs.Info.InfoHash().String())
			}
		})
	}
}

func TestTransmissionCreateLive(t *testing.T) {
	needTool(t, "transmission-create", "transmission-cli")
	needTool(t, "transmission-show", "transmission-cli")
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	writeTestTree(t, content, true)
	for _, target := range []string{content, filepath.Join(content, "big.bin")} {
		out := filepath.Join(dir, filepath.Base(target)+".torrent")
		run(t, "transmission-create", "-p", "-s", "16", "-t", "http://127.0.0.1:1/announce", "-o", out, target)
		m, err := LoadFile(out)
		require.NoError(t, err)
		assert.Equal(t, transmissionShowHash(t, out), m.Info.InfoHash().String(), target)
		assert.True(t, m.Info.Private)
		assert.EqualValues(t, 16384, m.Info.PieceLength)
	}
}

// TestTransmissionShowReadsOurFiles writes .torrent files with Create and
// Write and checks that transmission-show reads them with the same
// infohash and piece count.
func TestTransmissionShowReadsOurFiles(t *testing.T) {
	needTool(t, "transmission-show", "transmission-cli")
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	writeTestTree(t, content, false)
	for _, target := range []string{content, filepath.Join(content, "big.bin")} {
		info, err := Create(context.Background(), target, CreateOptions{Private: true})
		require.NoError(t, err)
		m := &MetaInfo{
			Info: info, Announce: "http://127.0.0.1:1/announce",
			AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}, {"udp://127.0.0.1:2"}},
			URLList:      []string{"http://127.0.0.1:3/"}, Comment: "made by a test", CreatedBy: "debtorrent", CreationDate: 1700000000,
		}
		var buf bytes.Buffer
		require.NoError(t, m.Write(&buf))
		out := filepath.Join(dir, info.Name+".torrent")
		require.NoError(t, os.WriteFile(out, buf.Bytes(), 0o644))
		show := run(t, "transmission-show", out)
		assert.Contains(t, show, "Hash: "+info.InfoHash().String())
		assert.Regexp(t, `Piece Count: `+strconv.Itoa(info.NumPieces())+`\n`, show)
		assert.Contains(t, show, "Private torrent")
		assert.Contains(t, show, "made by a test")
	}
}

// TestLibtorrentAgrees checks infohashes against libtorrent (through
// Debian's Python binding), which, like debtorrent, hashes the info
// dictionary's bytes as they are, sorted or not.
func TestLibtorrentAgrees(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import libtorrent").Run(); err != nil {
		t.Skip("libtorrent's Python binding not installed: apt-get install python3-libtorrent")
	}
	for _, fx := range fixtures {
		path := filepath.Join("testdata", fx.file)
		out := run(t, python, "-c", "import sys, libtorrent; print(libtorrent.torrent_info(sys.argv[1]).info_hash())", path)
		assert.Equal(t, fx.infoHash, strings.TrimSpace(out), fx.file)
	}
}
