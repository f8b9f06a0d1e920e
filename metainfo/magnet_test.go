package metainfo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An infohash in both the spellings magnet links use.
const (
	testHashHex    = "8a5a45c5f8e5a2d3a57e1b1a7dd7a4bd3c7bd1f2"
	testHashBase32 = "RJNELRPY4WRNHJL6DMNH3V5EXU6HXUPS"
)

func TestParseMagnet(t *testing.T) {
	want, err := ParseInfoHash(testHashHex)
	require.NoError(t, err)
	tests := []struct {
		name string
		link string
		want Magnet
	}{
		{"hex", "magnet:?xt=urn:btih:" + testHashHex, Magnet{InfoHash: want}},
		{"upper-case hex", "magnet:?xt=urn:btih:" + strings.ToUpper(testHashHex), Magnet{InfoHash: want}},
		{"base32", "magnet:?xt=urn:btih:" + testHashBase32, Magnet{InfoHash: want}},
		{"lower-case base32", "magnet:?xt=urn:btih:" + strings.ToLower(testHashBase32), Magnet{InfoHash: want}},
		{
			"name and trackers",
			"magnet:?xt=urn:btih:" + testHashHex + "&dn=debian+12%2Fnetinst&tr=http%3A%2F%2Ft1%2Fannounce&tr=udp://t2:6969",
			Magnet{InfoHash: want, Name: "debian 12/netinst", Trackers: []string{"http://t1/announce", "udp://t2:6969"}},
		},
		{
			"parameters in any order, unknown ones ignored",
			"magnet:?tr=http%3A%2F%2Ft1&x.pe=1.2.3.4:5&dn=x&xt=urn:btih:" + testHashHex + "&tr=",
			Magnet{InfoHash: want, Name: "x", Trackers: []string{"http://t1"}},
		},
		{
			"hybrid v1+v2 link",
			"magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e&xt=urn:btih:" + testHashHex,
			Magnet{InfoHash: want},
		},
		{"same hash twice", "magnet:?xt=urn:btih:" + testHashHex + "&xt=urn:btih:" + testHashBase32, Magnet{InfoHash: want}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMagnet(tt.link)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseMagnetRejects(t *testing.T) {
	tests := []struct {
		name, link, errPart string
	}{
		{"not a magnet", "http://example.com/?xt=urn:btih:" + testHashHex, "must start with"},
		{"no infohash", "magnet:?dn=x", "no \"xt=urn:btih:\""},
		{"v2 only", "magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e", "v2"},
		{"short hash", "magnet:?xt=urn:btih:abcd", "want 40 hex digits or 32 base32"},
		{"bad hex", "magnet:?xt=urn:btih:" + strings.Repeat("g", 40), "not hex"},
		{"bad base32", "magnet:?xt=urn:btih:" + strings.Repeat("1", 32), "not base32"},
		{"two hashes", "magnet:?xt=urn:btih:" + testHashHex + "&xt=urn:btih:" + strings.Repeat("0", 40), "two different infohashes"},
		{"bad escape", "magnet:?xt=urn:btih:" + testHashHex + "&dn=%zz", "magnet link"},
		{"too long", "magnet:?xt=urn:btih:" + testHashHex + "&dn=" + strings.Repeat("a", MaxMagnetLength), "longer than"},
		{"too many trackers", "magnet:?xt=urn:btih:" + testHashHex + strings.Repeat("&tr=u", MaxMagnetTrackers+1), "trackers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMagnet(tt.link)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.errPart)
		})
	}
}

func TestMagnetString(t *testing.T) {
	h, err := ParseInfoHash(testHashBase32)
	require.NoError(t, err)
	m := Magnet{InfoHash: h, Name: "a b&c=d", Trackers: []string{"http://t/announce?x=1&y=2", "udp://u:80"}}
	s := m.String()
	assert.Equal(t, "magnet:?xt=urn:btih:"+testHashHex+
		"&dn=a+b%26c%3Dd&tr=http%3A%2F%2Ft%2Fannounce%3Fx%3D1%26y%3D2&tr=udp%3A%2F%2Fu%3A80", s)
	back, err := ParseMagnet(s)
	require.NoError(t, err)
	assert.Equal(t, m, back, "String and ParseMagnet round-trip")
	assert.Equal(t, "magnet:?xt=urn:btih:"+testHashHex, Magnet{InfoHash: h}.String())
}

func TestParseInfoHash(t *testing.T) {
	a, err := ParseInfoHash(testHashHex)
	require.NoError(t, err)
	b, err := ParseInfoHash(testHashBase32)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Equal(t, testHashHex, a.String())
	_, err = ParseInfoHash(testHashBase32[:31] + "=")
	assert.Error(t, err)
}
