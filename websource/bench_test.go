package websource

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkFetchVsCurl downloads one 64 MiB file from a loopback server with
// an HTTPSource and with curl, alternately in the same run, and reports both
// throughputs and their ratio (websource/curl; 1.0 means as fast as curl).
// The curl half is skipped when curl is not installed.
func BenchmarkFetchVsCurl(b *testing.B) {
	const size = 64 << 20
	dir := b.TempDir()
	path := filepath.Join(dir, "big.deb")
	if err := os.WriteFile(path, randomBytes(size, 99), 0o644); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	src, err := NewHTTP([]string{srv.URL}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	curl, _ := exec.LookPath("curl")
	req := Request{Path: "big.deb", Length: size, FileSize: size}
	var goTime, curlTime time.Duration
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		res, err := src.Fetch(context.Background(), req, io.Discard)
		if err != nil || res.Written != size {
			b.Fatalf("fetch: %d bytes, %v", res.Written, err)
		}
		goTime += time.Since(start)
		if curl != "" {
			start = time.Now()
			out, err := exec.Command(curl, "-sS", "-o", "/dev/null", srv.URL+"/big.deb").CombinedOutput()
			if err != nil {
				b.Fatalf("curl: %v: %s", err, out)
			}
			curlTime += time.Since(start)
		}
	}
	b.StopTimer()
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(goTime), "websource-MB/s")
	if curl == "" {
		b.Log("curl not installed (apt-get install curl): only websource measured")
		return
	}
	b.ReportMetric(mbps(curlTime), "curl-MB/s")
	b.ReportMetric(curlTime.Seconds()/goTime.Seconds(), "ratio-vs-curl")
}
