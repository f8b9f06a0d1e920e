// Command torrent makes and inspects BitTorrent .torrent files, and
// downloads and seeds them.
//
// Usage:
//
//	torrent <command> [flags] [arguments]
//	torrent help [command]
//
// Commands:
//
//	create   make a .torrent file from a file or folder (like mktorrent)
//	info     describe a .torrent file: files, pieces, infohash, magnet link
//	download download a torrent into a folder (-seed: then keep seeding)
//	seed     seed a torrent from the data already in a folder
//
// Run "torrent help <command>" for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// command is one subcommand: adding a command is adding one line to
// commands.
type command struct {
	name    string
	summary string // one line for "torrent help"
	// run carries out the command with its arguments (without the command's
	// name). An error wrapping errUsage is a mistake in the command line.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands in the order "torrent help" shows them.
func commands() []command {
	return []command{
		{"create", "make a .torrent file from a file or folder (like mktorrent)", runCreate},
		{"info", "describe a .torrent file (files, pieces, infohash, magnet) or a Packages file's torrent", runInfo},
		{"download", "download a torrent into a folder (-seed: then keep seeding)", runDownload},
		{"seed", "seed a torrent from the data already in a folder", runSeed},
	}
}

// errUsage marks an error in the command line (exit status 2).
var errUsage = errors.New("usage error")

// usageErrorf returns an error in the command line.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches the command line args (without the program's name) to a
// command and returns the exit status: 0 for success, 1 for a failure, 2
// for a mistake in the command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			// "torrent help create" is "torrent create -h".
			return run(ctx, []string{rest[0], "-h"}, stdout, stdout)
		}
		printUsage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, rest, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "torrent %s: %s\nRun \"torrent help %s\" for usage.\n", name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "), name)
			return 2
		default:
			fmt.Fprintf(stderr, "torrent: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "torrent: unknown command %q\n", name)
	printUsage(stderr)
	return 2
}

// printUsage lists the commands.
func printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: torrent <command> [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"torrent help <command>\" for a command's flags.\n")
}

// newFlagSet returns a flag set for a command that reports errors instead
// of exiting, and prints synopsis and description before the flags.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("torrent "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: torrent %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args with fs, allowing flags after the positional
// arguments too ("torrent create DIR -private"), and returns the positional
// arguments. A flag error is a usage error (already reported by fs), -h is
// flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		consumed := len(args) - fs.NArg()
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, fs.Args()...), nil // all after "--" is positional
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// stringList is a flag that may be repeated, collecting its values.
type stringList []string

// String implements flag.Value.
func (s *stringList) String() string { return strings.Join(*s, " ") }

// Set implements flag.Value.
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
