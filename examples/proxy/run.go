package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/tracker"
)

// run starts the proxy and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := usableDir(o.cacheDir); err != nil {
		return fmt.Errorf("proxy: cache directory %s cannot be used (%w); give a writable one with -cache DIR", o.cacheDir, err)
	}

	cfg := debtorrent.ProxyConfig{Mirrors: o.mirrors, AddMirrors: o.addMirrors, CacheDir: o.cacheDir, CacheSize: o.cacheSize,
		PeerWait: o.peerWait, Logger: log}
	var stopTracker func()
	if !o.noPeers {
		trackers := o.trackers
		if o.trackerListen != "" {
			url, stop, err := startTracker(o.trackerListen, log)
			if err != nil {
				return err
			}
			stopTracker = stop
			if len(trackers) == 0 {
				trackers = []string{url}
			}
		}
		storage, err := debtorrent.OpenDiskStorage(filepath.Join(o.cacheDir, "packages"), debtorrent.DiskOptions{MaxBytes: o.cacheSize, Logger: log})
		if err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
		defer storage.Close()
		ccfg := debtorrent.Config{ListenAddr: o.peerListen, Storage: storage, UploadRate: o.uploadRate,
			DownloadRate: o.downloadRate, Logger: log, LocalDiscovery: o.lsd}
		client, err := debtorrent.New(ccfg)
		if err != nil && !o.peerListenSet && errors.Is(err, syscall.EADDRINUSE) {
			// The default port is taken (another proxy on this host):
			// any port will do, trackers and LAN discovery announce it.
			log.Info("proxy: default peer port taken; using another", "port", o.peerListen, "err", err)
			ccfg.ListenAddr = ":0"
			client, err = debtorrent.New(ccfg)
		}
		if err != nil {
			return fmt.Errorf("proxy: peer side: %w", err)
		}
		defer client.Close()
		cfg.Client = client
		cfg.Trackers = trackers
		lan := "off"
		if o.lsd {
			lan = "on"
		}
		fmt.Fprintf(stdout, "peers connect to %s; trackers: %s; LAN discovery: %s\n", client.Addr(), strings.Join(trackers, " "), lan)
	}
	if stopTracker != nil {
		defer stopTracker()
	}
	p, err := debtorrent.NewProxy(cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	if o.importDir != "" {
		if _, err := os.Stat(o.importDir); err == nil {
			st, err := p.Import(ctx, o.importDir)
			if err != nil {
				log.Warn("proxy: import", "dir", o.importDir, "err", err)
			} else {
				fmt.Fprintf(stdout, "imported %d packages from %s (%d new)\n", st.Files, o.importDir, st.Linked+st.Copied)
			}
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	printAPTLines(stdout, ln.Addr().String(), p.Mirrors())
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(ln) }()
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "shutting down")
		p.Close()
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}

// printAPTLines tells the user how to point APT at the proxy.
func printAPTLines(w io.Writer, addr string, mirrors []debtorrent.ProxyMirror) {
	fmt.Fprintf(w, "debtorrent proxy listening on %s\n", addr)
	fmt.Fprintf(w, "Give APT this line (e.g. in /etc/apt/apt.conf.d/30debtorrent):\n\n    Acquire::http::Proxy \"http://%s\";\n\n", addr)
	fmt.Fprintf(w, "or use it per source:\n")
	for _, m := range mirrors {
		prefixes := m.Prefixes
		if len(prefixes) == 0 {
			prefixes = []string{""}
		}
		for _, pre := range prefixes {
			fmt.Fprintf(w, "    deb http://%s/%s SUITE COMPONENTS    (for %s%s)\n", addr, strings.TrimSuffix(m.Name+"/"+pre, "/"), m.URLs[0], pre)
		}
	}
	fmt.Fprintf(w, "Status: http://%s/ (also /status.json, /metrics)\n", addr)
}

// startTracker serves the embedded tracker's HTTP side and returns its
// announce URL (on this host's address peers can reach).
func startTracker(addr string, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("proxy: embedded tracker: %w", err)
	}
	ts := tracker.NewServer(tracker.ServerConfig{Interval: 2 * time.Minute, Logger: log})
	mux := http.NewServeMux()
	mux.Handle("/announce", ts)
	mux.Handle("/scrape", ts)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("proxy: embedded tracker stopped", "err", err)
		}
	}()
	host := "127.0.0.1"
	if h, _, err := net.SplitHostPort(ln.Addr().String()); err == nil && h != "::" && h != "0.0.0.0" && h != "" {
		host = h
	} else if ip := lanIP(); ip != "" {
		host = ip
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
	return "http://" + net.JoinHostPort(host, port) + "/announce", stop, nil
}

// lanIP returns this host's first non-loopback IPv4 address, or "".
func lanIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// usableDir creates dir if needed (mode 0755, like Debian's /var/cache
// directories: packages are public) and checks that files can be made in it.
func usableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
