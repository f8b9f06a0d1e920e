package websource

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shiftedRange answers every Range request with 206 and the right length,
// but with the bytes (and a Content-Range naming them) starting shift
// bytes before the offset asked for: a mirror that must not be believed.
func shiftedRange(t *testing.T, data []byte, shift int64) fault {
	return func(w http.ResponseWriter, r *http.Request, _ int) bool {
		spec, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
		if !ok {
			http.Error(w, "this test mirror wants Range", http.StatusBadRequest)
			return true
		}
		a, b, _ := strings.Cut(spec, "-")
		first, err1 := strconv.ParseInt(a, 10, 64)
		last, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil || first < shift {
			t.Errorf("unexpected Range %q", r.Header.Get("Range"))
			http.Error(w, "bad range", http.StatusBadRequest)
			return true
		}
		first, last = first-shift, last-shift
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
		w.Header().Set("Content-Length", strconv.FormatInt(last-first+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(data[first : last+1])
		return true
	}
}

// TestFetch206AtWrongOffset: a 206 whose Content-Range starts elsewhere
// than the Range asked is not taken for the asked bytes: with a good
// mirror beside it the fetch fails over and delivers the right bytes; alone
// it fails without writing anything.
func TestFetch206AtWrongOffset(t *testing.T) {
	data := randomBytes(200_000, 21)
	size := int64(len(data))
	req := Request{Path: debPath, Offset: 50_000, Length: 100_000, FileSize: size}
	want := data[req.Offset : req.Offset+req.Length]
	for _, shift := range []int64{50_000, 1} {
		t.Run(fmt.Sprintf("shift %d", shift), func(t *testing.T) {
			t.Run("fails over", func(t *testing.T) {
				liar := newMirrorServer(t, nil, shiftedRange(t, data, shift))
				good := newMirrorServer(t, map[string][]byte{debPath: data}, nil)
				src, err := NewHTTP([]string{liar.URL, good.URL}, fastOptions())
				require.NoError(t, err)
				got, res, err := fetchAll(t, src, req)
				require.NoError(t, err)
				require.True(t, bytes.Equal(want, got), "the bytes of another offset were delivered")
				assert.Equal(t, []string{"bytes=50000-149999"}, liar.rangeHeaders())
				assert.Equal(t, []string{"bytes=50000-149999"}, good.rangeHeaders())
				assert.Equal(t, []string{good.URL + "/"}, res.Sources)
				st := src.Stats()
				assert.Zero(t, st[0].BytesDelivered, "nothing of the lying mirror may be delivered")
			})
			t.Run("alone", func(t *testing.T) {
				liar := newMirrorServer(t, nil, shiftedRange(t, data, shift))
				src, err := NewHTTP([]string{liar.URL}, fastOptions())
				require.NoError(t, err)
				got, res, err := fetchAll(t, src, req)
				require.Error(t, err)
				assert.Empty(t, got, "no wrong bytes may reach the writer")
				assert.Zero(t, res.Written)
			})
		})
	}
}
