package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// runCLI runs the command line and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeContent writes a small folder to share and returns its path.
func writeContent(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "share")
	for path, content := range map[string]string{
		"a.txt":       strings.Repeat("a", 50_000),
		"sub/b.bin":   strings.Repeat("b", 20_000),
		"sub/c/empty": "",
	} {
		full := filepath.Join(root, filepath.FromSlash(path))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	return root
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdoutPart string
		stderrPart string
	}{
		{"no command", nil, 2, "", "Usage: torrent <command>"},
		{"help", []string{"help"}, 0, "create   make a .torrent file", ""},
		{"help create", []string{"help", "create"}, 0, "Usage: torrent create", ""},
		{"-h on a command", []string{"info", "-h"}, 0, "", "Usage: torrent info"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"create", "-bogus", "x"}, 2, "", "flag provided but not defined: -bogus"},
		{"create without a path", []string{"create"}, 2, "", "want exactly one PATH"},
		{"create with two paths", []string{"create", "a", "b"}, 2, "", "got 2 arguments"},
		{"bad piece length", []string{"create", "-piece-length", "lots", "x"}, 2, "", `-piece-length: "lots" is not a size`},
		{"bad tracker", []string{"create", "-tracker", "not a url", "x"}, 2, "", "want an absolute http, https, udp URL"},
		{"bad web seed", []string{"create", "-web-seed", "udp://x:1", "x"}, 2, "", "-web-seed"},
		{"info without a file", []string{"info"}, 2, "", "want exactly one FILE.torrent"},
		{"info of a missing file", []string{"info", "/nonexistent.torrent"}, 1, "", "torrent: open /nonexistent.torrent: no such file"},
		{"info of a non-torrent", []string{"info", "main.go"}, 1, "", "torrent: main.go is not a .torrent file, nor a Packages file: "},
		{"create of a missing path", []string{"create", "-o", "/nonexistent/x.torrent", "/nonexistent/dir"}, 1, "", "torrent: metainfo: create /nonexistent/dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			assert.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Contains(t, stdout, tt.stdoutPart)
			assert.Contains(t, stderr, tt.stderrPart)
			if tt.code == 2 && tt.args != nil && tt.args[0] != "frobnicate" {
				assert.Contains(t, stderr, "torrent help "+tt.args[0], "a usage error says where help is")
			}
		})
	}
}

func TestCreateThenInfo(t *testing.T) {
	root := writeContent(t)
	out := filepath.Join(t.TempDir(), "out.torrent")
	code, stdout, stderr := runCLI(t, "create", "-o", out, "-piece-length", "16K",
		"-tracker", "http://127.0.0.1:1/announce,http://127.0.0.1:2/announce", "-tracker", "udp://127.0.0.1:3",
		"-web-seed", "http://127.0.0.1:4/", root, "-private", "-comment", "flags after the path work too", "-no-date")
	require.Equal(t, 0, code, stderr)

	m, err := metainfo.LoadFile(out)
	require.NoError(t, err)
	assert.Contains(t, stdout, "infohash "+m.Info.InfoHash().String())
	assert.Equal(t, "share", m.Info.Name)
	assert.True(t, m.Info.Private)
	assert.EqualValues(t, 16384, m.Info.PieceLength)
	assert.Equal(t, "http://127.0.0.1:1/announce", m.Announce)
	assert.Equal(t, [][]string{{"http://127.0.0.1:1/announce", "http://127.0.0.1:2/announce"}, {"udp://127.0.0.1:3"}}, m.AnnounceList)
	assert.Equal(t, []string{"http://127.0.0.1:4/"}, m.URLList)
	assert.Equal(t, "flags after the path work too", m.Comment)
	assert.Equal(t, "debtorrent", m.CreatedBy)
	assert.Zero(t, m.CreationDate)
	want, err := metainfo.Create(context.Background(), root, metainfo.CreateOptions{PieceLength: 16384, Private: true})
	require.NoError(t, err)
	assert.Equal(t, want.InfoHash(), m.Info.InfoHash())

	code, stdout, stderr = runCLI(t, "info", "-files", "2", out)
	require.Equal(t, 0, code, stderr)
	for _, part := range []string{
		"name:         share\n",
		"infohash:     " + m.Info.InfoHash().String() + "\n",
		"magnet:       magnet:?xt=urn:btih:" + m.Info.InfoHash().String() + "&dn=share&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce",
		"total size:   68.4 KiB (70000 bytes)\n",
		"files:        3\n",
		"pieces:       5 of 16 KiB, checked with sha1\n",
		"piece sizes:  smallest 4.4 KiB, largest 16 KiB\n",
		"private:      yes\n",
		"trackers:     tier 1: http://127.0.0.1:1/announce, http://127.0.0.1:2/announce\n              tier 2: udp://127.0.0.1:3\n",
		"web seeds:    http://127.0.0.1:4/\n",
		"comment:      flags after the path work too\n",
		"  48.8 KiB  a.txt\n",
		"  19.5 KiB  sub/b.bin\n",
		"  ... and 1 more (-files 0 lists all)\n",
	} {
		assert.Contains(t, stdout, part)
	}
	assert.NotContains(t, stdout, "created on", "no date was written")

	code, _, stderr = runCLI(t, "create", "-o", out, root)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already exists: remove it or choose another name with -o")
}

func TestCreateDefaults(t *testing.T) {
	root := writeContent(t)
	dir := t.TempDir()
	t.Chdir(dir)
	code, stdout, stderr := runCLI(t, "create", root)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "share.torrent: 3 files, 68.4 KiB in 5 pieces of 16 KiB")
	m, err := metainfo.LoadFile(filepath.Join(dir, "share.torrent"))
	require.NoError(t, err)
	assert.False(t, m.Info.Private)
	assert.Empty(t, m.Announce)
	assert.Nil(t, m.AnnounceList)
	assert.NotZero(t, m.CreationDate)
}

func TestInfoOfDebianTorrent(t *testing.T) {
	files := []metainfo.File{
		{Path: "pool/main/h/hello/hello_2.10-3_amd64.deb", Length: 53000},
		{Path: "pool/main/b/bye/bye_1.0_all.deb", Length: 900},
	}
	info, err := metainfo.NewPiecePerFileInfo("bookworm main amd64", files, make([]byte, 64))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, (&metainfo.MetaInfo{Info: info}).Write(&buf))
	path := filepath.Join(t.TempDir(), "deb.torrent")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))

	code, stdout, stderr := runCLI(t, "info", path)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "pieces:       2, one per file, checked with sha256\n")
	assert.Contains(t, stdout, "piece sizes:  smallest 900 B, largest 51.8 KiB\n")
	assert.Contains(t, stdout, "  51.8 KiB  pool/main/h/hello/hello_2.10-3_amd64.deb\n")
	assert.NotContains(t, stdout, "trackers:")
}

func TestFormatSize(t *testing.T) {
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 16 << 20: "16 MiB", 1<<40 + 1<<39: "1.5 TiB"}
	for n, want := range tests {
		assert.Equal(t, want, formatSize(n), "%d", n)
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{"16384": 16384, "16K": 16384, "16k": 16384, "4M": 4 << 20}
	for s, want := range good {
		got, err := parseSize(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, bad := range []string{"", "K", "-1", "0", "1.5M", "1G", "99999999999999M"} {
		_, err := parseSize(bad)
		assert.Error(t, err, bad)
	}
}

// TestInfoMatchesTransmissionShow checks that "torrent info" prints the
// infohash transmission-show prints, for the fixtures made by mktorrent and
// transmission-create and for a file "torrent create" just wrote.
func TestInfoMatchesTransmissionShow(t *testing.T) {
	if _, err := exec.LookPath("transmission-show"); err != nil {
		t.Skip("transmission-show not installed: apt-get install transmission-cli")
	}
	paths := []string{
		"../../metainfo/testdata/mktorrent-single.torrent",
		"../../metainfo/testdata/mktorrent-multi.torrent",
		"../../metainfo/testdata/transmission-single.torrent",
		"../../metainfo/testdata/transmission-multi.torrent",
	}
	ours := filepath.Join(t.TempDir(), "ours.torrent")
	code, _, stderr := runCLI(t, "create", "-o", ours, "-tracker", "http://127.0.0.1:1/announce", writeContent(t))
	require.Equal(t, 0, code, stderr)
	paths = append(paths, ours)
	hashLine := regexp.MustCompile(`(?m)^\s*Hash: ([0-9a-f]{40})$`)
	for _, path := range paths {
		out, err := exec.Command("transmission-show", path).CombinedOutput()
		require.NoError(t, err, "%s", out)
		m := hashLine.FindSubmatch(out)
		require.NotNil(t, m, "no Hash line in:\n%s", out)
		code, stdout, stderr := runCLI(t, "info", path)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "infohash:     "+string(m[1])+"\n", path)
	}
}
