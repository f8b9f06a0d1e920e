package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/metainfo"
)

// recordMagic starts every "verified" record file.
const recordMagic = "debtorrent verified v1\n"

// record is the durable list of a standard torrent's verified pieces.
//
// Encoding: magic, the infohash (20 bytes), the name's length (uint16 BE) and
// the name, the piece count (uint32 BE), the bitfield (wire order), and a
// CRC-32C of all that (uint32 BE). The file is only ever replaced whole and
// atomically; the checksum catches a file damaged some other way.
type record struct {
	infoHash metainfo.InfoHash
	name     string
	verified *bitfield.Bitfield
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func (r *record) marshal() []byte {
	var b bytes.Buffer
	b.WriteString(recordMagic)
	b.Write(r.infoHash[:])
	b.Write(binary.BigEndian.AppendUint16(nil, uint16(len(r.name))))
	b.WriteString(r.name)
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(r.verified.Len())))
	b.Write(r.verified.Bytes())
	b.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(b.Bytes(), crcTable)))
	return b.Bytes()
}

var errBadRecord = errors.New("store: damaged verified-pieces record")

func unmarshalRecord(data []byte) (*record, error) {
	if len(data) < len(recordMagic)+20+2+4+4 || string(data[:len(recordMagic)]) != recordMagic {
		return nil, fmt.Errorf("%w: bad header", errBadRecord)
	}
	body, tail := data[:len(data)-4], data[len(data)-4:]
	if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(tail) {
		return nil, fmt.Errorf("%w: checksum mismatch", errBadRecord)
	}
	p := body[len(recordMagic):]
	r := &record{}
	copy(r.infoHash[:], p[:20])
	p = p[20:]
	nl := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	if len(p) < nl+4 {
		return nil, fmt.Errorf("%w: truncated name", errBadRecord)
	}
	r.name = string(p[:nl])
	p = p[nl:]
	n := int(binary.BigEndian.Uint32(p))
	p = p[4:]
	if n > metainfo.MaxPieces {
		return nil, fmt.Errorf("%w: %d pieces", errBadRecord, n)
	}
	bf, err := bitfield.FromBytes(p, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadRecord, err)
	}
	r.verified = bf
	return r, nil
}
