package aptproxy

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// expfmtReading is a metricsReading of the families the reference
// Prometheus text parser read.
type expfmtReading map[string]*dto.MetricFamily

func (r expfmtReading) typ(family string) string {
	if f := r[family]; f != nil {
		return strings.ToLower(f.GetType().String())
	}
	return ""
}

func (r expfmtReading) value(family string, labels map[string]string) (float64, bool) {
	f := r[family]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(labels) {
			continue
		}
		same := true
		for k, v := range labels {
			if w, ok := got[k]; !ok || w != v {
				same = false
				break
			}
		}
		if !same {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		case dto.MetricType_UNTYPED:
			return m.GetUntyped().GetValue(), true
		}
		return 0, false // histograms and summaries are not single values
	}
	return 0, false
}

func (r expfmtReading) series(family string) int {
	if f := r[family]; f != nil {
		return len(f.GetMetric())
	}
	return 0
}

// TestMetricsExpfmt: the reference Prometheus text parser
// (github.com/prometheus/common/expfmt, what a Prometheus server uses to
// scrape text) reads /metrics with legacy name validation, finds the
// Content-Type to be the text format, and sees every family the dashboard
// needs with its type and the figures the proxy counted.
func TestMetricsExpfmt(t *testing.T) {
	run := driveMetrics(t)
	assert.Equal(t, expfmt.TypeTextPlain, expfmt.ResponseFormat(run.header).FormatType(), "Content-Type %q", run.header.Get("Content-Type"))
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(run.body))
	require.NoError(t, err, run.body)
	for name, f := range fams {
		assert.NotEmpty(t, f.GetHelp(), "HELP of %s", name)
	}
	checkMetrics(t, run, expfmtReading(fams))
}
