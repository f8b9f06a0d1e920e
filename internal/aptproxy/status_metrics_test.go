package aptproxy

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// promFamily is one metric family read from the text exposition format.
type promFamily struct {
	typ, help string
	samples   []promSample
}

// promSample is one sample line.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	promName      = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseProm is a strict reader of the Prometheus text exposition format
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
// HELP and TYPE at most once per family and TYPE before its samples, a
// family's samples contiguous, no duplicate series, valid names, label
// values with only the \\, \" and \n escapes, float values. It also holds
// the output to the naming conventions: counters end in _total.
func parseProm(text string) (map[string]*promFamily, error) {
	fams := map[string]*promFamily{}
	seen := map[string]bool{}
	done := map[string]bool{} // families whose samples are over
	last := ""
	fam := func(name string) *promFamily {
		f := fams[name]
		if f == nil {
			f = &promFamily{}
			fams[name] = f
		}
		return f
	}
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("the last line must end with a newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("line %d %q: %s", i+1, line, fmt.Sprintf(format, a...))
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			f := strings.Fields(line)
			if len(f) < 3 || (f[1] != "HELP" && f[1] != "TYPE") {
				continue // a comment
			}
			name := f[2]
			if !promName.MatchString(name) {
				return nil, bad("bad metric name")
			}
			fm := fam(name)
			if f[1] == "HELP" {
				if fm.help != "" {
					return nil, bad("second HELP")
				}
				fm.help = strings.TrimSpace(strings.SplitN(line, name, 2)[1])
				if fm.help == "" {
					return nil, bad("empty HELP")
				}
				continue
			}
			if len(f) != 4 {
				return nil, bad("TYPE wants one type")
			}
			if fm.typ != "" || len(fm.samples) > 0 {
				return nil, bad("TYPE repeated or after samples")
			}
			switch f[3] {
			case "counter", "gauge", "histogram", "summary", "untyped":
			default:
				return nil, bad("unknown type")
			}
			fm.typ = f[3]
			continue
		}
		s, err := parsePromSample(line)
		if err != nil {
			return nil, bad("%v", err)
		}
		if s.name != last {
			if done[s.name] {
				return nil, bad("samples of %s are not contiguous", s.name)
			}
			if last != "" {
				done[last] = true
			}
			last = s.name
		}
		key := s.name + fmt.Sprint(s.labels)
		if seen[key] {
			return nil, bad("duplicate series")
		}
		seen[key] = true
		fm := fam(s.name)
		fm.samples = append(fm.samples, s)
	}
	for name, f := range fams {
		if f.typ == "" || f.help == "" {
			return nil, fmt.Errorf("%s lacks TYPE or HELP", name)
		}
		if f.typ == "counter" && !strings.HasSuffix(name, "_total") {
			return nil, fmt.Errorf("counter %s does not end in _total", name)
		}
		if f.typ != "counter" && strings.HasSuffix(name, "_total") {
			return nil, fmt.Errorf("%s %s ends in _total", f.typ, name)
		}
	}
	return fams, nil
}

// parsePromSample reads `name{l="v",...} value [timestamp]`.
func parsePromSample(line string) (promSample, error) {
	s := promSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, errors.New("no value")
	}
	s.name = line[:i]
	if !promName.MatchString(s.name) {
		return s, errors.New("bad metric name")
	}
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, "=")
			if eq <= 0 {
				return s, errors.New("bad label")
			}
			ln := rest[:eq]
			if !promLabelName.MatchString(ln) || strings.HasPrefix(ln, "__") {
				return s, fmt.Errorf("bad label name %q", ln)
			}
			rest = rest[eq+1:]
			if !strings.HasPrefix(rest, `"`) {
				return s, errors.New("label value not quoted")
			}
			var v strings.Builder
			j := 1
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' {
					j++
					if j == len(rest) {
						return s, errors.New("unterminated escape")
					}
					switch rest[j] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return s, fmt.Errorf("bad escape \\%c", rest[j])
					}
					continue
				}
				if rest[j] == '\n' {
					return s, errors.New("raw newline in label value")
				}
				v.WriteByte(rest[j])
			}
			if j == len(rest) {
				return s, errors.New("unterminated label value")
			}
			if _, dup := s.labels[ln]; dup {
				return s, fmt.Errorf("label %s twice", ln)
			}
			s.labels[ln] = v.String()
			rest = rest[j+1:]
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return s, errors.New("want , or } after a label")
			}
		}
	}
	if !strings.HasPrefix(rest, " ") {
		return s, errors.New("want a space before the value")
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		return s, errors.New("want value [timestamp]")
	}
	switch f[0] {
	case "+Inf":
		s.value = math.Inf(1)
	case "-Inf":
		s.value = math.Inf(-1)
	case "NaN":
		s.value = math.NaN()
	default:
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || strings.ContainsAny(f[0], "_xXpP") {
			return s, fmt.Errorf("bad value %q", f[0])
		}
		s.value = v
	}
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return s, fmt.Errorf("bad timestamp %q", f[1])
		}
	}
	return s, nil
}

// value returns the sample of name with exactly these labels.
func (f *promFamily) value(labels map[string]string) (float64, bool) {
	for _, s := range f.samples {
		if fmt.Sprint(s.labels) == fmt.Sprint(labels) {
			return s.value, true
		}
	}
	return 0, false
}

func TestParsePromIsStrict(t *testing.T) {
	good := "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\na_total 2 1700000000000\n"
	_, err := parseProm(good)
	require.NoError(t, err)
	for name, text := range map[string]string{
		"no TYPE":           "# HELP a A.\na 1\n",
		"TYPE after sample": "# HELP a A.\na 1\n# TYPE a gauge\n",
		"two TYPEs":         "# HELP a A.\n# TYPE a gauge\n# TYPE a gauge\na 1\n",
		"counter name":      "# HELP a A.\n# TYPE a counter\na 1\n",
		"gauge _total":      "# HELP a_total A.\n# TYPE a_total gauge\na_total 1\n",
		"bad escape":        "# HELP a A.\n# TYPE a gauge\na{x=\"\\u00e9\"} 1\n",
		"unquoted":          "# HELP a A.\n# TYPE a gauge\na{x=q} 1\n",
		"bad value":         "# HELP a A.\n# TYPE a gauge\na 1e\n",
		"duplicate":         "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",
		"not contiguous":    "# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\na 1\nb 1\na{x=\"2\"} 1\n",
		"bad name":          "# HELP 1a A.\n# TYPE 1a gauge\n1a 1\n",
		"no newline at end": "# HELP a A.\n# TYPE a gauge\na 1",
	} {
		_, err := parseProm(text)
		assert.Error(t, err, name)
	}
}

// metricsRun is what driveMetrics did to a proxy and what its /metrics
// answered.
type metricsRun struct {
	header http.Header
	body   string
	want   []metricsWant
}

// metricsWant is one series the run must have produced: exactly value,
// or at least value when atLeast is set.
type metricsWant struct {
	name    string
	labels  map[string]string
	value   float64
	atLeast bool
	why     string
}

// metricsFamilies are the families the dashboard issue asks for, with
// their types.
var metricsFamilies = map[string]string{
	"debtorrent_deb_bytes_total": "counter", "debtorrent_index_bytes_total": "counter", "debtorrent_requests_total": "counter",
	"debtorrent_mirror_up": "gauge", "debtorrent_peers": "gauge", "debtorrent_cache_bytes": "gauge",
	"debtorrent_cache_evictions_total": "counter", "debtorrent_verification_failures_total": "counter", "debtorrent_banned_peers_total": "counter",
}

// driveMetrics serves an archive through a proxy, fetches a Release, a
// Packages file, a .deb and a missing .deb, counts .deb bytes by source,
// and reads /metrics. want lists the series those actions must show.
func driveMetrics(t *testing.T) metricsRun {
	t.Helper()
	arch, mirror := startStatusMirror(t)
	p := startStatusProxy(t, "http://"+mirror.Addr()+"/", func(c *Config) {
		c.Engine = func() EngineStatus {
			return EngineStatus{Peers: 4, VerificationFailures: 2, BannedPeers: 1, Torrents: map[string]EngineTorrent{},
				Mirrors: []MirrorState{{Name: "odd\"name\\", URL: "http://x/\n", State: MirrorDown}}}
		}
	})
	p.SetCacheStats(func() (int64, int64) { return 1 << 30, 7 })
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	statusGet(t, c, base+"dists/bookworm/Release")
	statusGet(t, c, base+"dists/bookworm/main/binary-amd64/Packages.xz")
	st, _, _ := statusGet(t, c, base+arch.Debs[0].Filename)
	require.Equal(t, http.StatusOK, st)
	statusGet(t, c, base+"pool/main/n/no/no_1_amd64.deb")
	p.stats.debBytes(BytesFromPeers, 12345)
	p.stats.debBytes(BytesFromMirror, 100)
	p.mirrorState.note("test", nil)

	st, h, body := statusGet(t, c, "http://"+p.Addr+"/metrics")
	require.Equal(t, http.StatusOK, st)
	s := p.Status()
	require.Greater(t, s.IndexBytes, int64(0), "the Release and Packages fetches count index bytes")
	none := map[string]string{}
	return metricsRun{header: h, body: body, want: []metricsWant{
		{name: "debtorrent_deb_bytes_total", labels: map[string]string{"source": "peers"}, value: 12345},
		{name: "debtorrent_deb_bytes_total", labels: map[string]string{"source": "mirror"}, value: 100},
		{name: "debtorrent_deb_bytes_total", labels: map[string]string{"source": "cache"}, value: 0, why: "every source is exported, 0 too"},
		{name: "debtorrent_index_bytes_total", labels: none, value: float64(s.IndexBytes)},
		{name: "debtorrent_requests_total", labels: map[string]string{"code": "200"}, value: 3, atLeast: true},
		{name: "debtorrent_requests_total", labels: map[string]string{"code": "404"}, value: 1},
		{name: "debtorrent_mirror_up", labels: map[string]string{"mirror": "test", "url": "http://" + mirror.Addr() + "/"}, value: 1},
		{name: "debtorrent_mirror_up", labels: map[string]string{"mirror": "odd\"name\\", "url": "http://x/\n"}, value: 0, why: "label values are escaped"},
		{name: "debtorrent_peers", labels: none, value: 4},
		{name: "debtorrent_cache_bytes", labels: none, value: float64(s.CacheBytes)},
		{name: "debtorrent_cache_cap_bytes", labels: none, value: 1 << 30},
		{name: "debtorrent_cache_evictions_total", labels: none, value: 7},
		{name: "debtorrent_verification_failures_total", labels: none, value: 2},
		{name: "debtorrent_banned_peers_total", labels: none, value: 1},
	}}
}

// metricsReading is /metrics as one parser read it.
type metricsReading interface {
	// typ is the TYPE of family, "" when the family is absent.
	typ(family string) string
	// value is the sample of family with exactly these labels.
	value(family string, labels map[string]string) (float64, bool)
	// series is how many samples family has.
	series(family string) int
}

// checkMetrics holds a reading to metricsFamilies and run.want.
func checkMetrics(t *testing.T, run metricsRun, r metricsReading) {
	t.Helper()
	for name, typ := range metricsFamilies {
		assert.Equal(t, typ, r.typ(name), "TYPE of %s", name)
	}
	assert.Equal(t, 3, r.series("debtorrent_deb_bytes_total"), "sources are exactly peers, mirror and cache")
	for _, w := range run.want {
		got, ok := r.value(w.name, w.labels)
		if !assert.True(t, ok, "%s%v missing", w.name, w.labels) {
			continue
		}
		if w.atLeast {
			assert.GreaterOrEqual(t, got, w.value, "%s%v %s", w.name, w.labels, w.why)
		} else {
			assert.Equal(t, w.value, got, "%s%v %s", w.name, w.labels, w.why)
		}
	}
}

// strictReading is a metricsReading of parseProm's families.
type strictReading map[string]*promFamily

func (r strictReading) typ(family string) string {
	if f := r[family]; f != nil {
		return f.typ
	}
	return ""
}

func (r strictReading) value(family string, labels map[string]string) (float64, bool) {
	if f := r[family]; f != nil {
		return f.value(labels)
	}
	return 0, false
}

func (r strictReading) series(family string) int {
	if f := r[family]; f != nil {
		return len(f.samples)
	}
	return 0
}

// TestMetricsParse: /metrics parses strictly and has the documented
// families with the figures the proxy counted.
func TestMetricsParse(t *testing.T) {
	run := driveMetrics(t)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", run.header.Get("Content-Type"))
	fams, err := parseProm(run.body)
	require.NoError(t, err, run.body)
	checkMetrics(t, run, strictReading(fams))
}

// FuzzPromLabel: any mirror name or URL, escaped by promLabel, reads back
// unchanged through the strict parser, and any text given to the parser
// gives a family map or an error, never a panic.
func FuzzPromLabel(f *testing.F) {
	for _, s := range []string{"", "debian", `a"b`, `back\slash`, "new\nline", "\\n", "é", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		text := "# HELP x X.\n# TYPE x gauge\nx{l=\"" + promLabel(v) + "\"} 1\n"
		fams, err := parseProm(text)
		if err != nil {
			t.Fatalf("%q: escaped label does not parse: %v", v, err)
		}
		if got := fams["x"].samples[0].labels["l"]; got != v {
			t.Fatalf("label %q read back as %q", v, got)
		}
		parseProm(v) // hostile text: no panic
	})
}
