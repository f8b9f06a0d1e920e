package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/debtorrent/debtorrent"
)

// options are the command's flags.
type options struct {
	listen        string
	peerListen    string
	peerWait      time.Duration
	cacheDir      string
	cacheSize     int64
	mirrors       []debtorrent.ProxyMirror
	addMirrors    []debtorrent.ProxyMirror
	trackers      []string
	trackerListen string
	lsd           bool
	peerListenSet bool // -peer-listen was given: a taken port is then an error
	uploadRate    int64
	downloadRate  int64
	importDir     string
	noPeers       bool
	debug         bool
}

// mirrorFlag collects NAME=URL[,URL...] values.
type mirrorFlag struct{ list *[]debtorrent.ProxyMirror }

func (m mirrorFlag) String() string { return "" }
func (m mirrorFlag) Set(v string) error {
	name, urls, ok := strings.Cut(v, "=")
	if !ok || name == "" || urls == "" {
		return fmt.Errorf("want NAME=URL, e.g. debian=http://deb.debian.org/debian")
	}
	*m.list = append(*m.list, debtorrent.ProxyMirror{Name: name, URLs: strings.Split(urls, ",")})
	return nil
}

// listFlag collects repeated string values.
type listFlag struct{ list *[]string }

func (l listFlag) String() string     { return "" }
func (l listFlag) Set(v string) error { *l.list = append(*l.list, v); return nil }

// sizeFlag parses sizes like 10G, 500M, 20MB, 1048576.
type sizeFlag struct{ n *int64 }

func (s sizeFlag) String() string { return "" }
func (s sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s.n = n
	return nil
}

// parseSize reads a byte count with an optional K, M, G or T suffix
// (powers of 1024; a trailing "B" or "iB" is allowed).
func parseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q: want e.g. 10G, 500M, 20MB", v)
	}
	return n * mult, nil
}

// serviceCacheDir is the cache of a proxy run as a service (as root, or by
// a user without a usable home), as Debian lays out /var/cache.
const serviceCacheDir = "/var/cache/debtorrent"

// defaultCacheDir is the -cache default for this process.
func defaultCacheDir() string { return cacheDirFor(os.Geteuid(), os.UserCacheDir) }

// cacheDirFor is <user cache dir>/debtorrent for a user with a usable home,
// and serviceCacheDir for root (euid 0) and for users without one (a service
// user's HOME is often /nonexistent, or unset).
func cacheDirFor(euid int, userCacheDir func() (string, error)) string {
	if euid == 0 {
		return serviceCacheDir
	}
	d, err := userCacheDir()
	if err != nil {
		return serviceCacheDir
	}
	// The cache dir itself may not exist yet; its parent (HOME) must.
	if fi, err := os.Stat(filepath.Dir(d)); err != nil || !fi.IsDir() {
		return serviceCacheDir
	}
	return filepath.Join(d, "debtorrent")
}

// parseFlags reads args into options.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", debtorrent.DefaultProxyListenAddr, "`address` APT connects to (keep it on loopback or a trusted LAN)")
	fs.StringVar(&o.peerListen, "peer-listen", ":6881", "`address` other peers connect to (BitTorrent)")
	fs.StringVar(&o.cacheDir, "cache", defaultCacheDir(), "cache `directory` (index files and packages); default: ~/.cache/debtorrent, or "+serviceCacheDir+" as root or without a usable HOME")
	fs.DurationVar(&o.peerWait, "peer-wait", debtorrent.DefaultProxyPeerWait, "how long a .deb that peers have may take from them before the rest is taken from the mirror if peers would be later (the engine's deadline; the mirror is used at once when no peer has the package)")
	fs.Var(sizeFlag{&o.cacheSize}, "cache-size", "cap on the package cache, e.g. 20G (default: no cap)")
	fs.Var(mirrorFlag{&o.mirrors}, "mirror", "`NAME=URL` mirror to serve, repeatable; replaces the APT sources' mirrors")
	fs.Var(mirrorFlag{&o.addMirrors}, "add-mirror", "`NAME=URL` mirror to serve in addition to the APT sources' mirrors, repeatable")
	fs.Var(listFlag{&o.trackers}, "tracker", "announce `URL` of a tracker, repeatable (default: the embedded tracker, if -tracker-listen starts one)")
	fs.StringVar(&o.trackerListen, "tracker-listen", "", "`address` to run an embedded tracker on for the LAN (HTTP /announce), e.g. :6969 (default: none; -lsd finds LAN peers without one)")
	fs.BoolVar(&o.lsd, "lsd", true, "find peers on the LAN by local service discovery (BEP 14 multicast); -lsd=false: off")
	fs.Var(sizeFlag{&o.uploadRate}, "upload-rate", "cap on bytes per second sent to peers, e.g. 5M (default: none)")
	fs.Var(sizeFlag{&o.downloadRate}, "download-rate", "cap on bytes per second received from peers (default: none)")
	fs.StringVar(&o.importDir, "import", "/var/cache/apt/archives", "`directory` of .deb files to import into the cache at start (empty: none)")
	fs.BoolVar(&o.noPeers, "no-peers", false, "mirror only: no BitTorrent engine, no tracker")
	fs.BoolVar(&o.debug, "debug", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("proxy: unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { o.peerListenSet = o.peerListenSet || f.Name == "peer-listen" })
	if o.listen == "" || o.cacheDir == "" {
		return o, errors.New("proxy: -listen and -cache must not be empty")
	}
	return o, nil
}
