// Command apt-method is the debtorrent:// transport for APT. Installed as
// /usr/lib/apt/methods/debtorrent, it lets a sources.list line such as
//
//	deb debtorrent://127.0.0.1:9988/deb.debian.org/debian bookworm main
//
// fetch through a running debtorrent proxy: APT hands the method its whole
// queue, every URI is fetched from http://127.0.0.1:9988/deb.debian.org/debian/...
// at once, and each is reported as soon as it is verified. See README.md in
// this directory for installation and settings.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/debtorrent/debtorrent/internal/aptmethod"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	m := &aptmethod.Method{
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		LogLevel: level,
		OnConfig: func(c aptmethod.Config) error { return aptmethod.DropPrivileges(c.SandboxUser) },
	}
	if err := m.Run(ctx, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "debtorrent method:", err)
		os.Exit(100)
	}
}
