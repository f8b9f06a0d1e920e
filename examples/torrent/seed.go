package main

import (
	"context"
	"fmt"
	"io"
)

// runSeed is "torrent seed": check the data already in a directory against a
// torrent and serve it until interrupted.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("seed", "[-dir DIR] [-peer HOST:PORT]... FILE.torrent|MAGNET",
		"Check the data in DIR/<name> against a standard torrent and seed the pieces that\n"+
			"match, announcing to its trackers, until interrupted.",
		stderr)
	sf := addSwarmFlags(flags)
	positional, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usageErrorf("want exactly one FILE.torrent or magnet link, got %d arguments", len(positional))
	}
	sw, err := sf.start(positional[0], stderr, false)
	if err != nil {
		return err
	}
	defer sw.client.Close()
	s := sw.torrent.Stats()
	if s.PiecesHave == 0 {
		return fmt.Errorf("nothing to seed: no piece of %s found in %s", sw.info.Name, sf.dataPath(sw.info))
	}
	fmt.Fprintf(stdout, "seeding %s (%d of %d pieces) on %s; interrupt to stop\n", sw.info.Name, s.PiecesHave, s.Pieces, sw.client.Addr())
	sw.progressUntil(ctx, stderr, nil, *sf.every)
	return nil
}
