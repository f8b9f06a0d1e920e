package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/websource"
)

// runDownload is "torrent download": fetch every piece of a torrent into a
// directory, optionally staying on as a seed.
func runDownload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("download", "[-dir DIR] [-seed] [-peer HOST:PORT]... [-lsd] FILE.torrent|MAGNET",
		"Download a standard torrent into DIR/<name>, from the peers its trackers (and -peer)\n"+
			"give and from its web seeds (url-list), printing a progress line every second.\n"+
			"Exits 0 once every piece is verified; with -seed, keeps seeding until interrupted.\n"+
			"A magnet link's info comes from -torrent FILE or, without it, from the peers the\n"+
			"link names (x.pe), its trackers (tr) and -peer, which must offer it (ut_metadata).",
		stderr)
	sf := addSwarmFlags(flags)
	seedAfter := flags.Bool("seed", false, "keep seeding once the download is complete, until interrupted")
	timeout := flags.Duration("timeout", 0, "give up after this long (0: never)")
	stall := flags.Duration("stall", 5*time.Minute, "give up when nothing arrives for this long (0: never)")
	positional, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usageErrorf("want exactly one FILE.torrent or magnet link, got %d arguments", len(positional))
	}
	if *timeout < 0 || *stall < 0 {
		return usageErrorf("-timeout and -stall: want 0 or more")
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	var sw *swarm
	if strings.HasPrefix(positional[0], "magnet:") && *sf.torrent == "" {
		sw, err = sf.startMagnet(ctx, positional[0], stderr)
	} else {
		sw, err = sf.start(positional[0], stderr, true)
	}
	if err != nil {
		return err
	}
	defer sw.client.Close()
	sw.stall = *stall
	if err := sw.progressUntil(ctx, stderr, sw.torrent.Complete(), *sf.every); err != nil {
		return fmt.Errorf("download of %s stopped: %w; %s", sw.info.Name, err, describe(sw.torrent.Stats()))
	}
	fmt.Fprintf(stdout, "%s: complete, %d pieces verified in %s\n", sw.info.Name, sw.info.NumPieces(), sf.dataPath(sw.info))
	if !*seedAfter {
		return nil
	}
	fmt.Fprintf(stderr, "seeding on %s; interrupt to stop\n", sw.client.Addr())
	sw.progressUntil(ctx, stderr, nil, *sf.every)
	return nil
}

// swarmFlags are the flags download and seed share.
type swarmFlags struct {
	dir     *string
	listen  *string
	torrent *string
	peers   stringList
	every   *time.Duration
	verbose *bool
	lsd     *bool
}

func addSwarmFlags(fs *flag.FlagSet) *swarmFlags {
	sf := &swarmFlags{
		dir:     fs.String("dir", ".", "the `DIR`ectory holding the torrent's data (DIR/<name>)"),
		listen:  fs.String("listen", ":0", "the `ADDR`ess peers connect to"),
		torrent: fs.String("torrent", "", "the .torrent `FILE` describing a magnet link's torrent"),
		every:   fs.Duration("progress", time.Second, "how often to print a progress line (0: never)"),
		verbose: fs.Bool("v", false, "log the engine's decisions"),
		lsd:     fs.Bool("lsd", false, "also find peers on the LAN by local service discovery (BEP 14 multicast)"),
	}
	fs.Var(&sf.peers, "peer", "a peer's `HOST:PORT` to connect to (repeatable)")
	return sf
}

// swarm is a running client with one torrent.
type swarm struct {
	client  *debtorrent.Client
	torrent *debtorrent.Torrent
	info    *metainfo.Info
	stall   time.Duration // give up when nothing arrives for this long (0: never)
}

// start loads the torrent named by arg and joins its swarm.
func (sf *swarmFlags) start(arg string, stderr io.Writer, download bool) (*swarm, error) {
	m, err := sf.load(arg)
	if err != nil {
		return nil, err
	}
	if m.Info.Layout != metainfo.FixedPieces {
		return nil, fmt.Errorf("%s is not a standard torrent (Debian torrents are for the proxy)", arg)
	}
	if download && len(trackerTiersOf(m)) == 0 && len(m.URLList) == 0 && len(sf.peers) == 0 && !*sf.lsd {
		return nil, usageErrorf("%s lists no tracker and no web seed: name a peer with -peer HOST:PORT (or look on the LAN with -lsd)", arg)
	}
	c, err := sf.newClient(stderr)
	if err != nil {
		return nil, err
	}
	opts := debtorrent.TorrentOptions{Trackers: trackerTiersOf(m), DownloadAll: download}
	if !download {
		opts.ImportDir = *sf.dir
	}
	if len(m.URLList) > 0 {
		src, err := websource.NewURLList(m.URLList, m.Info, websource.Options{})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("web seeds of %s: %w", arg, err)
		}
		opts.WebSource = src
	}
	t, err := c.AddTorrent(m.Info, opts)
	if err != nil {
		c.Close()
		return nil, err
	}
	for _, p := range sf.peers {
		if err := t.AddPeer(p); err != nil {
			c.Close()
			return nil, err
		}
	}
	return &swarm{client: c, torrent: t, info: m.Info}, nil
}

// newClient starts the Client of download and seed.
func (sf *swarmFlags) newClient(stderr io.Writer) (*debtorrent.Client, error) {
	level := slog.LevelWarn
	if *sf.verbose {
		level = slog.LevelDebug
	}
	return debtorrent.New(debtorrent.Config{
		ListenAddr:     *sf.listen,
		DataDir:        *sf.dir,
		Logger:         slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		LocalDiscovery: *sf.lsd,
	})
}

// startMagnet joins the swarm of a magnet link, fetching its info from
// peers (the link's x.pe and trackers, and -peer) until ctx ends.
func (sf *swarmFlags) startMagnet(ctx context.Context, magnet string, stderr io.Writer) (*swarm, error) {
	mag, err := metainfo.ParseMagnet(magnet)
	if err != nil {
		return nil, err
	}
	for _, p := range sf.peers {
		magnet += "&x.pe=" + url.QueryEscape(p)
	}
	c, err := sf.newClient(stderr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "fetching the info of %s from peers\n", mag.InfoHash)
	t, err := c.AddMagnet(ctx, magnet, debtorrent.TorrentOptions{DownloadAll: true})
	if err != nil {
		c.Close()
		return nil, err
	}
	if t.Info().Layout != metainfo.FixedPieces {
		c.Close()
		return nil, fmt.Errorf("magnet %s is not a standard torrent (Debian torrents are for the proxy)", mag.InfoHash)
	}
	return &swarm{client: c, torrent: t, info: t.Info()}, nil
}

// load reads a .torrent file, or a magnet link whose info -torrent gives.
func (sf *swarmFlags) load(arg string) (*metainfo.MetaInfo, error) {
	if !strings.HasPrefix(arg, "magnet:") {
		return metainfo.LoadFile(arg)
	}
	mag, err := metainfo.ParseMagnet(arg)
	if err != nil {
		return nil, err
	}
	if *sf.torrent == "" {
		return nil, usageErrorf("the info of magnet %s is not known: give it with -torrent FILE (download fetches it from peers)", mag.InfoHash)
	}
	m, err := metainfo.LoadFile(*sf.torrent)
	if err != nil {
		return nil, err
	}
	if m.Info.InfoHash() != mag.InfoHash {
		return nil, fmt.Errorf("%s describes torrent %s, not the magnet's %s", *sf.torrent, m.Info.InfoHash(), mag.InfoHash)
	}
	if len(mag.Trackers) > 0 {
		m.AnnounceList = [][]string{mag.Trackers}
	}
	return m, nil
}

// dataPath is where the torrent's data lives.
func (sf *swarmFlags) dataPath(info *metainfo.Info) string {
	return strings.TrimSuffix(*sf.dir, "/") + "/" + info.Name
}

// progressUntil prints a progress line every interval until done closes
// (nil: never); ctx ending or, with sw.stall, a stalled download is an error.
func (sw *swarm) progressUntil(ctx context.Context, w io.Writer, done <-chan struct{}, every time.Duration) error {
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	var stallCheck <-chan time.Time
	if sw.stall > 0 && done != nil {
		t := time.NewTicker(min(sw.stall, time.Second))
		defer t.Stop()
		stallCheck = t.C
	}
	lastBytes, lastAt := int64(-1), time.Now()
	for {
		select {
		case <-done:
			if every > 0 {
				fmt.Fprintln(w, progressLine(sw.torrent.Stats()))
			}
			return nil
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return errors.New("timed out")
			}
			return errors.New("interrupted")
		case <-tick:
			fmt.Fprintln(w, progressLine(sw.torrent.Stats()))
		case now := <-stallCheck:
			s := sw.torrent.Stats()
			if got := s.BytesFromPeers + s.BytesFromWeb; got != lastBytes {
				lastBytes, lastAt = got, now
			} else if now.Sub(lastAt) >= sw.stall {
				return fmt.Errorf("nothing arrived for %v", sw.stall)
			}
		}
	}
}

// progressLine formats percent done, rates, peers and the time left.
func progressLine(s debtorrent.TorrentStats) string {
	pct := 100.0
	if s.Length > 0 {
		pct = 100 * float64(s.BytesHave) / float64(s.Length)
	}
	eta := "-"
	switch left := s.Length - s.BytesHave; {
	case left == 0:
		eta = "done"
	case s.DownloadRate > 0:
		eta = (time.Duration(float64(left)/s.DownloadRate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%5.1f%%  down %s/s  up %s/s  peers %d  web %s  ETA %s",
		pct, formatSize(int64(s.DownloadRate)), formatSize(int64(s.UploadRate)), s.Peers, formatSize(s.BytesFromWeb), eta)
}

// describe says how far a torrent got, for errors.
func describe(s debtorrent.TorrentStats) string {
	return fmt.Sprintf("%d of %d pieces verified, %d peers connected", s.PiecesHave, s.Pieces, s.Peers)
}
