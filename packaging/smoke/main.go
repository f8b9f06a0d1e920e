// Command smoke serves a small Debian archive on loopback for the package
// check in .ci/run: the installed debtorrent proxy is pointed at it and one
// .deb is fetched through the proxy and checked.
//
//	smoke -dir DIR -info FILE
//
// It builds the archive in DIR, serves it on 127.0.0.1 (a free port), and
// writes FILE (atomically, once serving) as shell assignments:
//
//	MIRROR=http://127.0.0.1:PORT/
//	DEB=pool/main/p/pkg00/pkg00_1.0-1_amd64.deb
//	SHA256=<hex>
//	INDEX=dists/SUITE/COMPONENT/binary-ARCH/Packages.xz
//
// It serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/debtorrent/debtorrent/internal/testmirror"
)

func main() {
	dir := flag.String("dir", "", "`directory` to build the archive in (required)")
	info := flag.String("info", "", "`file` to write MIRROR, DEB and SHA256 to (required)")
	flag.Parse()
	if err := run(*dir, *info); err != nil {
		fmt.Fprintln(os.Stderr, "smoke:", err)
		os.Exit(1)
	}
}

func run(dir, info string) error {
	if dir == "" || info == "" {
		return fmt.Errorf("-dir and -info are required")
	}
	arch, err := testmirror.Build(dir, testmirror.SimpleSpec(3, 50_000))
	if err != nil {
		return fmt.Errorf("building the archive: %w", err)
	}
	srv, err := testmirror.Serve(arch.Root, testmirror.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		return fmt.Errorf("serving the archive: %w", err)
	}
	defer srv.Close()
	d := arch.Debs[1]
	index := fmt.Sprintf("dists/%s/%s/binary-%s/Packages.xz", arch.Suite, arch.Component, arch.Arch)
	text := fmt.Sprintf("MIRROR=%s\nDEB=%s\nSHA256=%s\nINDEX=%s\n", srv.URL(), d.Filename, hex.EncodeToString(d.SHA256[:]), index)
	if err := os.WriteFile(info+".tmp", []byte(text), 0o644); err != nil {
		return err
	}
	if err := os.Rename(info+".tmp", info); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
