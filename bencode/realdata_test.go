package bencode

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// torrentFile is the part of a .torrent these tests look at.
type torrentFile struct {
	Announce  string     `bencode:"announce"`
	Comment   string     `bencode:"comment,omitempty"`
	CreatedBy string     `bencode:"created by,omitempty"`
	Created   int64      `bencode:"creation date,omitempty"`
	Info      RawMessage `bencode:"info"`
}

// The expected infohashes were printed by transmission-show 3.00 when the
// files were made (mktorrent 1.1, transmission-create 3.00).
var realTorrents = []struct {
	file     string
	infohash string
}{
	{"mktorrent-multi.torrent", "eb1a2d44819b0d3bfce600eb56591f9eafe0119d"},
	{"transmission-single.torrent", "052f281aab40a3df10bb69df7effff0550d3102c"},
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	noErr(t, err)
	return data
}

func TestRealTorrents(t *testing.T) {
	for _, tt := range realTorrents {
		t.Run(tt.file, func(t *testing.T) {
			data := readTestdata(t, tt.file)
			var tf torrentFile
			noErr(t, Unmarshal(data, &tf))
			sum := sha1.Sum(tf.Info)
			equal(t, tt.infohash, hex.EncodeToString(sum[:]))
			equal(t, "http://127.0.0.1:6969/announce", tf.Announce)

			// Generic decoding and re-encoding is byte-exact.
			var v any
			noErr(t, Unmarshal(data, &v))
			again, err := Marshal(v)
			noErr(t, err)
			if !bytes.Equal(data, again) {
				t.Errorf("re-encoding differs:\n%q\n%q", data, again)
			}
		})
	}
}

func TestRealUnsortedTorrent(t *testing.T) {
	data := readTestdata(t, "unsorted-keys.torrent")
	var tf torrentFile
	errContains(t, Unmarshal(data, &tf), `at offset 51: dict keys not sorted: "length" after "piece length"`)
	noErr(t, UnmarshalLoose(data, &tf))
	if !bytes.Contains(data, tf.Info) {
		t.Fatal("the RawMessage is not a substring of the file")
	}
	// BEP 3: the infohash is the SHA1 of the info value as it appears in
	// the file. (transmission-show 3.00 prints 5e1e1e21..., the hash of
	// the info dict re-encoded with sorted keys.)
	sum := sha1.Sum(tf.Info)
	equal(t, "93ef6b90e0e62419c64593ecb8a97d25df3e854d", hex.EncodeToString(sum[:]))
}

// debianInfo is the piece-per-file info dict of a Debian torrent.
type debianInfo struct {
	Files []struct {
		Length int64    `bencode:"length"`
		Path   []string `bencode:"path"`
	} `bencode:"files"`
	Name        string `bencode:"name"`
	PieceLayout string `bencode:"piece layout"`
	Pieces      []byte `bencode:"pieces"`
}

func TestRealDebianInfo(t *testing.T) {
	// The first three entries of bookworm main amd64 Packages.
	data := readTestdata(t, "debian-info.bencode")
	var info debianInfo
	noErr(t, Unmarshal(data, &info))
	equal(t, 3, len(info.Files))
	equal(t, int64(1377557908), info.Files[1].Length)
	equal(t, []string{"pool", "main", "0", "0ad-data", "0ad-data_0.0.26-1_all.deb"}, info.Files[1].Path)
	equal(t, 3*32, len(info.Pieces))
	again, err := Marshal(info)
	noErr(t, err)
	if !bytes.Equal(data, again) {
		t.Errorf("re-encoding differs")
	}
}
