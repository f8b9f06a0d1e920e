package aptproxy

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveRefusesEscapes(t *testing.T) {
	m, err := NewMirror("deb.example.org", "http://deb.example.org/")
	require.NoError(t, err)
	m.Prefixes = []string{"debian/"}
	ms, err := NewMirrors([]*Mirror{m})
	require.NoError(t, err)
	for _, p := range []string{
		"/deb.example.org/debian/../evil/dists/bookworm/Release",
		"/deb.example.org/debian/%2e%2e/evil/dists/bookworm/Release",
		"/deb.example.org/evil/dists/bookworm/Release",
		"/deb.example.org/debian//dists/bookworm/Release",
	} {
		r, err := http.NewRequest("GET", "http://proxy"+p, nil)
		require.NoError(t, err)
		r.URL.Scheme, r.URL.Host = "", ""
		_, err = ms.Resolve(r)
		assert.Error(t, err, p)
	}
	r, _ := http.NewRequest("GET", "http://deb.example.org/debian/dists/bookworm/Release", nil)
	tg, err := ms.Resolve(r)
	require.NoError(t, err)
	assert.Equal(t, "debian/", tg.Root)
	assert.Equal(t, []string{"http://deb.example.org/debian/dists/bookworm/Release"}, tg.UpstreamURLs())
}

func TestParseRangeTable(t *testing.T) {
	for _, c := range []struct {
		in         string
		start, end int64
		ok, unsat  bool
	}{
		{"bytes=0-", 0, 99, true, false},
		{"bytes=10-19", 10, 19, true, false},
		{"bytes=90-500", 90, 99, true, false},
		{"bytes=-10", 90, 99, true, false},
		{"bytes=-1000", 0, 99, true, false},
		{"bytes=100-", 0, 0, false, true},
		{"bytes=20-10", 0, 0, false, false},
		{"bytes=0-1,5-6", 0, 0, false, false},
		{"lines=1-2", 0, 0, false, false},
		{"bytes=x-", 0, 0, false, false},
	} {
		s, e, ok, unsat := parseRange(c.in, 100)
		assert.Equal(t, c.ok, ok, c.in)
		assert.Equal(t, c.unsat, unsat, c.in)
		if ok {
			assert.Equal(t, [2]int64{c.start, c.end}, [2]int64{s, e}, c.in)
		}
	}
}
