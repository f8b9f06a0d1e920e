// Command tracker runs debtorrent's embeddable BitTorrent tracker: HTTP
// (/announce, /scrape, /stats) and UDP (BEP 15) on the same port.
//
//	tracker -listen :6969 -interval 30m -max-swarms 10000 -max-peers 1000 \
//		-max-swarms-per-addr 100 -max-peers-per-addr 8 -allow hashes.txt
//
// It stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
