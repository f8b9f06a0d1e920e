package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/metainfo"
)

func sampleRecord() *record {
	bf := bitfield.New(13)
	bf.Set(0)
	bf.Set(7)
	bf.Set(12)
	return &record{infoHash: metainfo.InfoHash{1, 2, 3}, name: "ubuntu.iso", verified: bf}
}

func TestRecordRoundTrip(t *testing.T) {
	rec := sampleRecord()
	got, err := unmarshalRecord(rec.marshal())
	require.NoError(t, err)
	assert.Equal(t, rec.infoHash, got.infoHash)
	assert.Equal(t, rec.name, got.name)
	assert.Equal(t, rec.verified.Bytes(), got.verified.Bytes())
	assert.Equal(t, 13, got.verified.Len())
}

func TestRecordRejectsDamage(t *testing.T) {
	good := sampleRecord().marshal()
	tests := map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"bad magic": append([]byte("X"), good[1:]...),
		"bit flip":  func() []byte { b := append([]byte(nil), good...); b[len(b)-5] ^= 1; return b }(),
	}
	for name, data := range tests {
		_, err := unmarshalRecord(data)
		assert.ErrorIs(t, err, errBadRecord, name)
	}
}

func FuzzUnmarshalRecord(f *testing.F) {
	f.Add(sampleRecord().marshal())
	f.Add([]byte(recordMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := unmarshalRecord(data)
		if err != nil {
			return
		}
		again, err := unmarshalRecord(rec.marshal())
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		if again.name != rec.name || again.verified.Count() != rec.verified.Count() {
			t.Fatal("round trip changed the record")
		}
	})
}
