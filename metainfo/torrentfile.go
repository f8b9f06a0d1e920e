package metainfo

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/debtorrent/debtorrent/bencode"
)

// MaxTorrentSize is the largest .torrent file (and info dictionary) Load,
// LoadFile and ParseInfo accept: 64 MiB, several times the Debian torrent of
// a whole archive section (about 9 MB for 63,440 packages).
const MaxTorrentSize = 64 << 20

// MetaInfo is the content of a .torrent file: the info dictionary and what
// surrounds it.
type MetaInfo struct {
	// Info describes the torrent's files and pieces.
	Info *Info
	// Announce is the tracker URL ("announce").
	Announce string
	// AnnounceList holds BEP 12 tiers of tracker URLs ("announce-list"); when
	// present, clients use it instead of Announce.
	AnnounceList [][]string
	// URLList holds BEP 19 web seed URLs ("url-list").
	URLList []string
	// Comment is free text ("comment").
	Comment string
	// CreatedBy names the program that made the file ("created by").
	CreatedBy string
	// CreationDate is the Unix time the file was made ("creation date"), or 0.
	CreationDate int64
}

// metaInfoDict is the bencoded shape of a .torrent file for writing; fields
// are in sorted key order.
type metaInfoDict struct {
	Announce     string             `bencode:"announce,omitempty"`
	AnnounceList [][]string         `bencode:"announce-list,omitempty"`
	Comment      string             `bencode:"comment,omitempty"`
	CreatedBy    string             `bencode:"created by,omitempty"`
	CreationDate int64              `bencode:"creation date,omitempty"`
	Info         bencode.RawMessage `bencode:"info"`
	URLList      []string           `bencode:"url-list,omitempty"`
}

// looseMetaInfoDict is the bencoded shape of a .torrent file for reading:
// each optional value is decoded on its own, so one of the wrong type (as
// some tools write) is dropped instead of failing the whole file.
type looseMetaInfoDict struct {
	Announce     bencode.RawMessage `bencode:"announce"`
	AnnounceList bencode.RawMessage `bencode:"announce-list"`
	Comment      bencode.RawMessage `bencode:"comment"`
	CreatedBy    bencode.RawMessage `bencode:"created by"`
	CreationDate bencode.RawMessage `bencode:"creation date"`
	Info         bencode.RawMessage `bencode:"info"`
	URLList      bencode.RawMessage `bencode:"url-list"`
}

// Load reads a .torrent file of at most MaxTorrentSize bytes. The info
// dictionary's bytes are kept exactly as they are in the file, so InfoHash
// matches what other clients compute even when the file is not canonical
// bencoding (unsorted keys, say). Optional values of the wrong type
// (a numeric comment, a malformed announce-list) are ignored, as other
// clients ignore them; the info dictionary must be valid.
func Load(r io.Reader) (*MetaInfo, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxTorrentSize+1))
	if err != nil {
		return nil, fmt.Errorf("metainfo: read torrent: %w", err)
	}
	return Parse(data)
}

// LoadFile reads the .torrent file at path, as Load does.
func LoadFile(path string) (*MetaInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse reads a .torrent file held in memory, as Load does. It does not keep
// a reference to data.
func Parse(data []byte) (*MetaInfo, error) {
	if len(data) > MaxTorrentSize {
		return nil, fmt.Errorf("metainfo: torrent file is larger than %d bytes", MaxTorrentSize)
	}
	var d looseMetaInfoDict
	if err := unmarshalLenient(data, &d); err != nil {
		return nil, fmt.Errorf("metainfo: not a torrent file: %w", err)
	}
	if d.Info == nil {
		return nil, fmt.Errorf("metainfo: not a torrent file: no \"info\" dictionary")
	}
	info, err := parseInfo(d.Info) // d.Info is the decoder's copy, the Info's to keep
	if err != nil {
		return nil, err
	}
	m := &MetaInfo{Info: info}
	decodeOptional(d.Announce, &m.Announce)
	decodeOptional(d.Comment, &m.Comment)
	decodeOptional(d.CreatedBy, &m.CreatedBy)
	decodeOptional(d.CreationDate, &m.CreationDate)
	var tiers [][]string
	decodeOptional(d.AnnounceList, &tiers)
	m.AnnounceList = cleanTiers(tiers)
	m.URLList = decodeURLList(d.URLList)
	return m, nil
}

// decodeOptional decodes an optional value, leaving v alone when it is
// absent or of the wrong type.
func decodeOptional[T any](raw bencode.RawMessage, v *T) {
	if raw == nil {
		return
	}
	var t T
	if unmarshalLenient(raw, &t) == nil {
		*v = t
	}
}

// decodeURLList reads BEP 19's "url-list", which is either one URL or a list
// of them.
func decodeURLList(raw bencode.RawMessage) []string {
	var one string
	var many []string
	switch {
	case raw == nil:
		return nil
	case unmarshalLenient(raw, &one) == nil:
		if one == "" {
			return nil
		}
		return []string{one}
	case unmarshalLenient(raw, &many) == nil:
		var out []string
		for _, u := range many {
			if u != "" {
				out = append(out, u)
			}
		}
		return out
	}
	return nil
}

// cleanTiers drops empty URLs and empty tiers from an announce-list.
func cleanTiers(tiers [][]string) [][]string {
	var out [][]string
	for _, tier := range tiers {
		var t []string
		for _, u := range tier {
			if u != "" {
				t = append(t, u)
			}
		}
		if len(t) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// Write writes m as a .torrent file: canonical bencoding around the info
// dictionary's exact bytes.
func (m *MetaInfo) Write(w io.Writer) error {
	if m.Info == nil || m.Info.Bytes() == nil {
		return errors.New("metainfo: write torrent: no info dictionary (build the Info with NewInfo, NewPiecePerFileInfo, Create or ParseInfo)")
	}
	data, err := bencode.Marshal(metaInfoDict{
		Announce:     m.Announce,
		AnnounceList: cleanTiers(m.AnnounceList),
		Comment:      m.Comment,
		CreatedBy:    m.CreatedBy,
		CreationDate: m.CreationDate,
		Info:         bencode.RawMessage(m.Info.Bytes()),
		URLList:      m.URLList,
	})
	if err != nil {
		return fmt.Errorf("metainfo: write torrent: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("metainfo: write torrent: %w", err)
	}
	return nil
}

// Trackers returns every tracker URL, from AnnounceList's tiers in order and
// then Announce, without duplicates.
func (m *MetaInfo) Trackers() []string {
	var out []string
	seen := make(map[string]bool)
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for _, tier := range m.AnnounceList {
		for _, u := range tier {
			add(u)
		}
	}
	add(m.Announce)
	return out
}

// Magnet returns a magnet link for the torrent: its infohash, name and
// trackers.
func (m *MetaInfo) Magnet() Magnet {
	mg := Magnet{Trackers: m.Trackers()}
	if m.Info != nil {
		mg.InfoHash = m.Info.InfoHash()
		mg.Name = m.Info.Name
	}
	return mg
}

// unmarshalLenient decodes bencoding that may not be canonical (unsorted
// dictionary keys), as real .torrent files sometimes are.
func unmarshalLenient(data []byte, v any) error {
	return bencode.UnmarshalLoose(data, v)
}
