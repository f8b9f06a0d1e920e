// Package debtorrent is a BitTorrent engine with pluggable piece sources and
// an APT proxy built on it: Debian machines fetch .deb packages from each
// other, with the mirror as the fallback.
//
// This package is the front door: the engine (Client, Torrent), the storage
// interface it writes pieces through (Storage) with its default on-disk
// implementation (OpenDiskStorage), and the Proxy that APT talks to.
//
// # The engine
//
// A Client owns one listener for every torrent (an incoming handshake is
// routed by its infohash), the connection and rate limits, the storage and a
// tracker client; Close stops every goroutine it started. AddTorrent joins a
// swarm from a metainfo.Info: a .torrent's, a magnet's whose info is known,
// or the Info debsource builds from a Debian Packages file. Each Torrent is
// run by one goroutine that owns its state (piece picker, peers' protocol
// state, waiters); peers' reader and sender goroutines, block writers,
// verification workers, web fetches and the public methods talk to it by
// events, so no lock is shared between torrents on the data path. Each
// peer's request queue is sized from its measured rate and round trip. WaitPiece and
// ReadPiece make a piece urgent while anyone waits and give it out only once
// verified; an urgent piece no peer has, or one peers deliver much slower
// than the torrent's web source would, is fetched from the web source (see
// Torrent for the rule). A piece that fails verification is fetched again and
// the peer that sent the bad blocks is found and banned.
package debtorrent
