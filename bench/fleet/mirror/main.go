// Command mirror builds a seeded test archive (internal/testmirror) that
// looks like the closure of a large install (g++-12, libllvm15, ...), serves
// it over HTTP, and counts the bytes it sends, for bench/fleet/run.sh.
//
//	mirror -dir DIR [-listen ADDR] [-stats ADDR] [-seed S] [-n 60] [-total 110]
//	mirror -query URL
//
// With -dir it builds the archive under DIR, writes DIR/packages.txt (one
// package name a line) and DIR/set-size.txt (the sum of the .deb sizes in
// bytes), prints every package's size, then serves DIR/archive at
// http://ADDR/debian/ until SIGINT or SIGTERM. The -stats address answers
// GET /stats with "deb_bytes N", "index_bytes N", "deb_requests N" and
// "requests N" lines (bytes are response body bytes since start) and GET
// /paths with one "BYTES PATH" line per path.
//
// With -query it prints the body of one GET (a client for the stats page
// where no curl is installed) and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/debtorrent/debtorrent/internal/testmirror"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "mirror:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	dir, listen, stats, query string
	seed                      uint64
	n                         int
	totalMB                   int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("mirror", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "", "`directory` to build the archive in (required unless -query)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "`address` to serve the archive on (under /debian/)")
	fs.StringVar(&o.stats, "stats", "127.0.0.1:8081", "`address` of the byte counters (/stats, /paths)")
	fs.StringVar(&o.query, "query", "", "GET this `URL`, print the body and exit")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the package sizes")
	fs.IntVar(&o.n, "n", 60, "number of packages (at least 4)")
	fs.IntVar(&o.totalMB, "total", 110, "approximate size of the set in `MB` (10^6 bytes)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.query == "" && o.dir == "" {
		return o, errors.New("give -dir DIR (to build and serve) or -query URL")
	}
	if o.n < 4 || o.n > 1000 || o.totalMB < 1 || o.totalMB > 10_000 {
		return o, errors.New("-n must be 4..1000 and -total 1..10000")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.query != "" {
		return query(ctx, o.query, stdout)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	spec := fleetSpec(o.seed, o.n, int64(o.totalMB)*1_000_000)
	start := time.Now()
	a, err := testmirror.Build(filepath.Join(o.dir, "archive"), spec)
	if err != nil {
		return fmt.Errorf("build archive in %s: %w", o.dir, err)
	}
	if err := writeSet(o.dir, a, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "built %d packages (seed %d) in %.1fs\n", len(a.Debs), o.seed, time.Since(start).Seconds())

	srv, err := testmirror.Serve(a.Root, testmirror.Options{Addr: o.listen})
	if err != nil {
		return fmt.Errorf("serve archive on %s: %w", o.listen, err)
	}
	defer srv.Close()
	statsSrv, statsDone, err := serveStats(o.stats, srv, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving %s (stats on http://%s/stats)\n", srv.URL(), o.stats)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	statsSrv.Shutdown(sctx)
	<-statsDone
	return nil
}

// writeSet records the set's package names and total size for the script
// and prints each package's size.
func writeSet(dir string, a *testmirror.Archive, stdout io.Writer) error {
	var names strings.Builder
	var total int64
	for _, d := range a.Debs {
		names.WriteString(d.Name + "\n")
		total += d.Size
		fmt.Fprintf(stdout, "  %-32s %11d bytes\n", d.Name, d.Size)
	}
	fmt.Fprintf(stdout, "set: %d packages, %d bytes (%.1f MB)\n", len(a.Debs), total, float64(total)/1e6)
	if err := os.WriteFile(filepath.Join(dir, "packages.txt"), []byte(names.String()), 0o644); err != nil {
		return fmt.Errorf("write package list: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "set-size.txt"), []byte(fmt.Sprintf("%d\n", total)), 0o644); err != nil {
		return fmt.Errorf("write set size: %w", err)
	}
	return nil
}

// serveStats answers /stats and /paths from the server's request log.
func serveStats(addr string, srv *testmirror.Server, log *slog.Logger) (*http.Server, chan struct{}, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("stats listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		var debBytes, indexBytes int64
		var debReqs, reqs int
		for _, e := range srv.Log() {
			reqs++
			if strings.HasSuffix(e.Path, ".deb") {
				debBytes += e.Bytes
				debReqs++
			} else {
				indexBytes += e.Bytes
			}
		}
		fmt.Fprintf(w, "deb_bytes %d\nindex_bytes %d\ndeb_requests %d\nrequests %d\n", debBytes, indexBytes, debReqs, reqs)
	})
	mux.HandleFunc("GET /paths", func(w http.ResponseWriter, r *http.Request) {
		per := map[string]int64{}
		for _, e := range srv.Log() {
			per[e.Path] += e.Bytes
		}
		paths := make([]string, 0, len(per))
		for p := range per {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			fmt.Fprintf(w, "%d %s\n", per[p], p)
		}
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("stats server stopped", "err", err)
		}
	}()
	return hs, done, nil
}

// query prints the body of one GET of u.
func query(ctx context.Context, u string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("query %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("query %s: %s", u, resp.Status)
	}
	_, err = io.Copy(stdout, io.LimitReader(resp.Body, 1<<20))
	return err
}
