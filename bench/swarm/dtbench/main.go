// Command dtbench runs one debtorrent node for the swarm benchmark
// (bench/swarm/bench.py): a tracker, a seed or a leecher, one per process so
// that each one's CPU time and memory can be measured apart.
//
//	dtbench tracker -listen ADDR
//	dtbench seed    -dir DIR -torrent FILE -listen ADDR   (prints "ready" once seeding)
//	dtbench leech   -dir DIR -torrent FILE                (exits once complete)
//	dtbench create  -dir PATH -torrent FILE -announce URL (writes FILE)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/tracker"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dtbench tracker|seed|leech [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", ".", "data directory")
	torrent := fs.String("torrent", "", ".torrent file")
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	announce := fs.String("announce", "", "tracker URL (create)")
	mem := fs.Bool("mem", false, "keep pieces in memory (measures the engine without the disk store)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	fs.Parse(os.Args[2:])
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	var err error
	switch os.Args[1] {
	case "create":
		err = runCreate(ctx, *dir, *torrent, *announce)
	case "tracker":
		err = runTracker(ctx, *listen)
	case "seed":
		err = runNode(ctx, *dir, *torrent, *listen, true, *mem)
	case "leech":
		err = runNode(ctx, *dir, *torrent, *listen, false, *mem)
	default:
		err = fmt.Errorf("unknown role %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "dtbench:", err)
		os.Exit(1)
	}
}

// runTracker serves an in-memory tracker over HTTP until ctx ends.
func runTracker(ctx context.Context, listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: tracker.NewServer(tracker.ServerConfig{Interval: time.Minute})}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Println("ready")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runNode seeds (importing the data under dir first) or downloads into dir.
func runNode(ctx context.Context, dir, torrentPath, listen string, seed, mem bool) error {
	m, err := metainfo.LoadFile(torrentPath)
	if err != nil {
		return err
	}
	cfg := debtorrent.Config{ListenAddr: listen, DataDir: dir}
	if mem {
		cfg.Storage = memStorage{}
	}
	c, err := debtorrent.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := debtorrent.TorrentOptions{Trackers: [][]string{{m.Announce}}, DownloadAll: !seed}
	if seed {
		opts.ImportDir = dir
	}
	t, err := c.AddTorrent(m.Info, opts)
	if err != nil {
		return err
	}
	if seed {
		if !t.Stats().Complete() {
			return fmt.Errorf("seed has %d of %d pieces", t.Stats().PiecesHave, t.Stats().Pieces)
		}
		fmt.Println("ready")
		<-ctx.Done()
		return nil
	}
	start := time.Now()
	var first time.Duration
	for {
		ch := t.Changed()
		if s := t.Stats(); first == 0 && s.BytesFromPeers > 0 {
			first = time.Since(start)
		}
		select {
		case <-t.Complete():
			fmt.Printf("ttfb %.3f s, complete %.3f s\n", first.Seconds(), time.Since(start).Seconds())
			return nil
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %+v", t.Stats())
		case <-ch:
		}
	}
}

// runCreate writes the .torrent of the file or folder at path.
func runCreate(ctx context.Context, path, out, announce string) error {
	info, err := metainfo.Create(ctx, path, metainfo.CreateOptions{})
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := (&metainfo.MetaInfo{Info: info, Announce: announce}).Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
