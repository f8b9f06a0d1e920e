package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/debtorrent/debtorrent/tracker"
)

// shutdownGrace is how long open HTTP requests get to finish on shutdown.
const shutdownGrace = 5 * time.Second

// options are the command's flags.
type options struct {
	listen       string
	maxSwarms    int
	maxPeers     int
	swarmsPerIP  int
	peersPerIP   int
	interval     time.Duration
	allowFile    string
	trustIPParam bool
	debug        bool
}

// parseFlags reads args into options.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("tracker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", ":6969", "`address` to serve HTTP (TCP) and UDP on; port 0 picks a free port for both")
	fs.IntVar(&o.maxSwarms, "max-swarms", 10000, "most swarms kept; announces for more are refused")
	fs.IntVar(&o.maxPeers, "max-peers", 1000, "most peers kept per swarm; past it a peer of the address with the most is dropped")
	fs.IntVar(&o.swarmsPerIP, "max-swarms-per-addr", 100, "most swarms one address (IPv4, or IPv6 /64) may create; announces for more are refused")
	fs.IntVar(&o.peersPerIP, "max-peers-per-addr", 8, "most peers (ports) one address may have in a swarm; past it its least recently seen is dropped")
	fs.DurationVar(&o.interval, "interval", 30*time.Minute, "re-announce interval given to peers; peers silent for twice that are dropped")
	fs.StringVar(&o.allowFile, "allow", "", "`file` of hex infohashes, one per line, to serve exclusively (default: serve any)")
	fs.BoolVar(&o.trustIPParam, "trust-ip-param", false, "honour peers' ip parameter from any address (default: loopback only)")
	fs.BoolVar(&o.debug, "debug", false, "log refusals and malformed requests")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("tracker: unexpected arguments %q", fs.Args())
	}
	if o.maxSwarms <= 0 || o.maxPeers <= 0 || o.swarmsPerIP <= 0 || o.peersPerIP <= 0 || o.interval < time.Second {
		return o, errors.New("tracker: -max-swarms, -max-peers, -max-swarms-per-addr and -max-peers-per-addr must be positive and -interval at least 1s")
	}
	return o, nil
}

// run serves until ctx is done or serving fails.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := tracker.ServerConfig{
		Interval:            o.interval,
		MaxSwarms:           o.maxSwarms,
		MaxPeersPerSwarm:    o.maxPeers,
		MaxSwarmsPerAddress: o.swarmsPerIP,
		MaxPeersPerAddress:  o.peersPerIP,
		TrustIPParam:        o.trustIPParam,
		Logger:              log,
	}
	if o.allowFile != "" {
		allowed, err := loadAllowList(o.allowFile)
		if err != nil {
			return err
		}
		cfg.Allow = allowed.has
		log.Info("allow-list loaded", "file", o.allowFile, "infohashes", len(allowed))
	}
	srv := tracker.NewServer(cfg)

	ln, pc, err := listenBoth(o.listen)
	if err != nil {
		return err
	}
	defer pc.Close()
	mux := http.NewServeMux()
	mux.Handle("/announce", srv)
	mux.Handle("/scrape", srv)
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(srv.Stats())
	})
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	log.Info("listening", "addr", ln.Addr().String(), "interval", o.interval,
		"max_swarms", o.maxSwarms, "max_peers", o.maxPeers,
		"max_swarms_per_addr", o.swarmsPerIP, "max_peers_per_addr", o.peersPerIP)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("tracker: serving HTTP: %w", err)
		}
		return nil
	})
	g.Go(func() error { return srv.Serve(gctx, pc) })
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		return hs.Shutdown(sctx)
	})
	err = g.Wait()
	st := srv.Stats()
	log.Info("stopped", "announces", st.Announces, "scrapes", st.Scrapes, "refusals", st.Refusals)
	return err
}

// listenBoth listens on addr for TCP and on the same port for UDP. With
// port 0 it retries a few times if the kernel's free TCP port is taken for
// UDP.
func listenBoth(addr string) (net.Listener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("tracker: -listen %q: %w", addr, err)
	}
	tries := 1
	if port == "0" {
		tries = 20
	}
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("tracker: listen: %w", err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return ln, pc, nil
		}
		ln.Close()
		if i+1 >= tries {
			return nil, nil, fmt.Errorf("tracker: listen UDP on port %d: %w", p, err)
		}
	}
}
