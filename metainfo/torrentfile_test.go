package metainfo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture describes a .torrent file in testdata/, made by a real tool from
// the content writeFixtureContent makes, and the infohash the tool's
// companion (transmission-show, or libtorrent for unsorted-keys.torrent)
// printed for it.
type fixture struct {
	file         string
	infoHash     string
	name         string
	single       bool
	private      bool
	pieceLength  int64
	numPieces    int
	paths        []string
	announce     string
	announceList [][]string
	urlList      []string
	comment      string
	createdBy    string
}

var fixtures = []fixture{
	{
		file: "mktorrent-single.torrent", infoHash: "9326064ee9443080476d6727a1fddc11fa9c1728",
		name: "hello.txt", single: true, pieceLength: 32768, numPieces: 3, paths: []string{"hello.txt"},
		announce: "http://127.0.0.1:6969/announce", urlList: []string{"http://127.0.0.1:8080/files/"},
		comment: "a fixture", createdBy: "mktorrent 1.1",
	},
	{
		file: "mktorrent-multi.torrent", infoHash: "742ef35bd23198a5e0bab31d1894e44109c6cd51",
		name: "share", private: true, pieceLength: 32768, numPieces: 3,
		paths:    []string{".hidden", "A-upper", "a-c", "a/b", "empty", "z/y/deep"},
		announce: "http://t1.example/announce",
		announceList: [][]string{
			{"http://t1.example/announce", "http://t1b.example/announce"},
			{"udp://t2.example:6969"},
		},
		urlList: []string{"http://w1.example/", "http://w2.example/"}, createdBy: "mktorrent 1.1",
	},
	{
		file: "transmission-single.torrent", infoHash: "0ea58f8a4040b8011eb37ac70c443b4da967a1f1",
		name: "hello.txt", single: true, pieceLength: 16384, numPieces: 6, paths: []string{"hello.txt"},
		announce: "http://127.0.0.1:6969/announce",
		comment:  "a fixture", createdBy: "Transmission/3.00 (bb6b5a062e)",
	},
	{
		file: "transmission-multi.torrent", infoHash: "38f12d5314b90547723d52725a380db2308bfd53",
		name: "share", private: true, pieceLength: 32768, numPieces: 3,
		paths:    []string{"a-c", "A-upper", "a/b", "z/y/deep"}, // transmission skips dot files and empty files
		announce: "http://t1.example/announce",
		announceList: [][]string{
			{"http://t1.example/announce"},
			{"udp://t2.example:6969"},
		},
		createdBy: "Transmission/3.00 (bb6b5a062e)",
	},
	{
		// Keys out of order in both dictionaries, an unknown key in the info
		// dictionary, a numeric comment and a textual creation date. The
		// infohash is libtorrent's, over the bytes as they are;
		// transmission-show and aria2c sort the keys first and print
		// bc3c719ef521d25397ee75a7b7e3a5ba6dbac5be.
		file: "unsorted-keys.torrent", infoHash: "451bb89199c515409b779856a648bbdf769d44c1",
		name: "hello.txt", single: true, pieceLength: 32768, numPieces: 3, paths: []string{"hello.txt"},
		announce: "http://127.0.0.1:6969/announce", urlList: []string{"http://127.0.0.1:8080/one/"},
	},
}

func TestLoadFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			m, err := LoadFile(filepath.Join("testdata", fx.file))
			require.NoError(t, err)
			info := m.Info
			assert.Equal(t, fx.infoHash, info.InfoHash().String())
			assert.Equal(t, fx.name, info.Name)
			assert.Equal(t, fx.single, info.SingleFile)
			assert.Equal(t, fx.private, info.Private)
			assert.Equal(t, FixedPieces, info.Layout)
			assert.Equal(t, fx.pieceLength, info.PieceLength)
			assert.Equal(t, fx.numPieces, info.NumPieces())
			var paths []string
			for _, f := range info.Files {
				paths = append(paths, f.Path)
			}
			assert.Equal(t, fx.paths, paths)
			assert.Equal(t, fx.announce, m.Announce)
			assert.Equal(t, fx.announceList, m.AnnounceList)
			assert.Equal(t, fx.urlList, m.URLList)
			assert.Equal(t, fx.comment, m.Comment)
			assert.Equal(t, fx.createdBy, m.CreatedBy)

			var buf bytes.Buffer
			require.NoError(t, m.Write(&buf))
			again, err := Load(&buf)
			require.NoError(t, err)
			assert.Equal(t, m, again, "Write then Load gives the same MetaInfo")
		})
	}
}

// writeFixtureContent writes the content the fixtures were made from into
// dir: hello.txt and the share/ tree.
func writeFixtureContent(t testing.TB, dir string) {
	t.Helper()
	deep := make([]byte, 70000)
	for i := range deep {
		deep[i] = byte(i * 7 % 251)
	}
	writeTree(t, dir, map[string]string{
		"hello.txt":      strings.Repeat("hello, debtorrent\n", 5000),
		"share/a/b":      "hello\n",
		"share/a-c":      "dash\n",
		"share/empty":    "",
		"share/.hidden":  "hidden\n",
		"share/A-upper":  "upper\n",
		"share/z/y/deep": string(deep),
	})
}

// TestCreateMatchesMktorrent rebuilds the mktorrent fixtures from their
// content: Create writes the same info dictionary as mktorrent, byte for
// byte, so the infohashes agree.
func TestCreateMatchesMktorrent(t *testing.T) {
	dir := t.TempDir()
	writeFixtureContent(t, dir)
	tests := []struct {
		path    string
		private bool
		fixture string
	}{
		{"hello.txt", false, "mktorrent-single.torrent"},
		{"share", true, "mktorrent-multi.torrent"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			info, err := Create(context.Background(), filepath.Join(dir, tt.path), CreateOptions{PieceLength: 32768, Private: tt.private})
			require.NoError(t, err)
			want, err := LoadFile(filepath.Join("testdata", tt.fixture))
			require.NoError(t, err)
			assert.Equal(t, want.Info.InfoHash(), info.InfoHash())
			assert.Equal(t, want.Info.Bytes(), info.Bytes())
		})
	}
}

func TestWriteCanonical(t *testing.T) {
	info, err := NewInfo("x", 16384, []File{{Path: "x", Length: 3}}, make([]byte, 20), true)
	require.NoError(t, err)
	m := &MetaInfo{
		Info:         info,
		Announce:     "http://t/a",
		AnnounceList: [][]string{{"http://t/a", ""}, {}, {"udp://u:1"}},
		URLList:      []string{"http://w/"},
		Comment:      "c",
		CreatedBy:    "debtorrent",
		CreationDate: 1700000000,
	}
	var buf bytes.Buffer
	require.NoError(t, m.Write(&buf))
	want := "d8:announce10:http://t/a13:announce-listll10:http://t/ael9:udp://u:1ee7:comment1:c10:created by10:debtorrent" +
		"13:creation datei1700000000e4:info" + string(info.Bytes()) + "8:url-listl9:http://w/ee"
	assert.Equal(t, want, buf.String(), "sorted keys, empty tiers and URLs dropped")

	err = (&MetaInfo{}).Write(&buf)
	assert.ErrorContains(t, err, "no info dictionary")
}

func TestLoadRejects(t *testing.T) {
	goodInfo := "d6:lengthi3e4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "e"
	tests := []struct {
		name, data, errPart string
	}{
		{"empty", "", "not a torrent file"},
		{"not bencode", "<html>", "not a torrent file"},
		{"a list", "le", "not a torrent file"},
		{"no info", "d8:announce1:xe", "no \"info\" dictionary"},
		{"info is a string", "d4:info3:abce", "info dictionary"},
		{"trailing data", "d4:info" + goodInfo + "ex", "not a torrent file"},
		{"duplicate key", "d4:info" + goodInfo + "4:info" + goodInfo + "e", "not a torrent file"},
		{"no pieces", "d4:infod6:lengthi3e4:name1:x12:piece lengthi16384eee", "no \"pieces\""},
		{"v2 only", "d4:infod9:file treede12:meta versioni2e4:name1:x12:piece lengthi16384eee", "v2-only"},
		{"no name", "d4:infod6:lengthi3e12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "no \"name\""},
		{"name with slash", "d4:infod6:lengthi3e4:name3:a/b12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "\"/\""},
		{"name dot-dot", "d4:infod6:lengthi3e4:name2:..12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "not allowed"},
		{"neither length nor files", "d4:infod4:name1:x12:piece lengthi16384e6:pieces0:ee", "neither"},
		{"both length and files", "d4:infod5:filesld6:lengthi3e4:pathl1:aeee6:lengthi3e4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "both"},
		{"empty path list", "d4:infod5:filesld6:lengthi3e4:pathleee4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "empty path list"},
		{"dot-dot component", "d4:infod5:filesld6:lengthi3e4:pathl2:..1:aeee4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "not allowed"},
		{"slash in component", "d4:infod5:filesld6:lengthi3e4:pathl6:../etceee4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "\"/\""},
		{"NUL in component", "d4:infod5:filesld6:lengthi3e4:pathl3:a\x00beee4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "NUL"},
		{"empty component", "d4:infod5:filesld6:lengthi3e4:pathl0:eee4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "empty path component"},
		{"duplicate file", "d4:infod5:filesld6:lengthi3e4:pathl1:aeed6:lengthi3e4:pathl1:aeee4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "listed twice"},
		{"negative length", "d4:infod6:lengthi-3e4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "length -3"},
		{"huge length", "d4:infod6:lengthi9223372036854775807e4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "ee", "has length"},
		{"zero piece length", "d4:infod6:lengthi3e4:name1:x12:piece lengthi0e6:pieces20:" + strings.Repeat("h", 20) + "ee", "piece length 0"},
		{"wrong piece count", "d4:infod6:lengthi3e4:name1:x12:piece lengthi16384e6:pieces40:" + strings.Repeat("h", 40) + "ee", "2 piece hashes"},
		{"ragged pieces", "d4:infod6:lengthi3e4:name1:x12:piece lengthi16384e6:pieces19:" + strings.Repeat("h", 19) + "ee", "not a multiple of 20"},
		{"unknown layout", "d4:infod6:lengthi3e4:name1:x12:piece layout4:zork6:pieces20:" + strings.Repeat("h", 20) + "ee", "unknown piece layout"},
		{"per-file with length", "d4:infod6:lengthi3e4:name1:x12:piece layout15:per-file-sha2566:pieces32:" + strings.Repeat("h", 32) + "ee", "must list its files"},
		{"per-file empty file", "d4:infod5:filesld6:lengthi0e4:pathl1:aeee4:name1:x12:piece layout15:per-file-sha2566:pieces32:" + strings.Repeat("h", 32) + "ee", "empty"},
		{"files not a list", "d4:infod5:files1:x4:name1:x12:piece lengthi16384e6:pieces0:ee", "info dictionary"},
		{"deep nesting", "d4:infod1:x" + strings.Repeat("l", 100000) + strings.Repeat("e", 100000) + "ee", "nesting deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Load(strings.NewReader(tt.data))
			require.Error(t, err, "loaded %+v", m)
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestLoadSizeLimit(t *testing.T) {
	big := make([]byte, MaxTorrentSize+1)
	_, err := Load(bytes.NewReader(big))
	require.ErrorContains(t, err, "larger than")
	_, err = ParseInfo(big)
	require.ErrorContains(t, err, "larger than")

	path := filepath.Join(t.TempDir(), "big.torrent")
	require.NoError(t, os.WriteFile(path, big, 0o644))
	_, err = LoadFile(path)
	require.ErrorContains(t, err, "big.torrent")
	require.ErrorContains(t, err, "larger than")

	_, err = LoadFile(filepath.Join(t.TempDir(), "missing.torrent"))
	require.ErrorContains(t, err, "no such file")
}

func TestURLListForms(t *testing.T) {
	info := "d6:lengthi3e4:name1:x12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "e"
	tests := []struct {
		name, urlList string
		want          []string
	}{
		{"one string", "3:u/1", []string{"u/1"}},
		{"a list", "l3:u/13:u/2e", []string{"u/1", "u/2"}},
		{"empty string", "0:", nil},
		{"empty entries dropped", "l0:3:u/1e", []string{"u/1"}},
		{"wrong type ignored", "i3e", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Load(strings.NewReader("d4:info" + info + "8:url-list" + tt.urlList + "e"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.URLList)
		})
	}
}

func TestMetaInfoMagnet(t *testing.T) {
	m, err := LoadFile("testdata/mktorrent-multi.torrent")
	require.NoError(t, err)
	mg := m.Magnet()
	assert.Equal(t, m.Info.InfoHash(), mg.InfoHash)
	assert.Equal(t, "share", mg.Name)
	assert.Equal(t, []string{"http://t1.example/announce", "http://t1b.example/announce", "udp://t2.example:6969"}, mg.Trackers)
	assert.Equal(t, "magnet:?xt=urn:btih:742ef35bd23198a5e0bab31d1894e44109c6cd51&dn=share"+
		"&tr=http%3A%2F%2Ft1.example%2Fannounce&tr=http%3A%2F%2Ft1b.example%2Fannounce&tr=udp%3A%2F%2Ft2.example%3A6969", mg.String())
}
