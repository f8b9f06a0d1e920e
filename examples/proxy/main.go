// Command proxy is the debtorrent APT proxy: APT fetches through it, and
// packages come from other machines running it (BitTorrent), with the
// mirror as fallback.
//
// With no flags it listens for APT on 127.0.0.1:9988, keeps its cache in
// the user's cache directory, serves the mirrors of the machine's APT
// sources, accepts peers on port 6881 (another port when that one is taken
// and -peer-listen was not given), finds peers on the LAN by local service
// discovery (BEP 14; -lsd=false turns it off), imports
// /var/cache/apt/archives, and prints the line to give APT. An embedded
// tracker for the LAN runs only when -tracker-listen asks for one, so a
// second proxy on the same host starts too. SIGINT or SIGTERM shut it down
// cleanly.
//
//	proxy [-listen ADDR] [-peer-listen ADDR] [-cache DIR] [-cache-size SIZE]
//	      [-mirror NAME=URL]... [-add-mirror NAME=URL]... [-tracker URL]...
//	      [-tracker-listen ADDR] [-lsd=false] [-upload-rate R] [-download-rate R]
//	      [-import DIR] [-no-peers] [-debug]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
