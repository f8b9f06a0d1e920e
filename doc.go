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
// events. Torrents share only what the Client shares on purpose, each behind
// its own short-held lock: the rate limiters, the block pool, the storage and
// the index of Debian pieces by SHA256; no torrent's loop ever waits for
// another's. Each peer's request queue is sized from its measured rate and
// round trip. WaitPiece and ReadPiece make a piece urgent while anyone waits
// (with the caller's deadline: WithDeadline, else the context's) and give it
// out only once verified; an urgent piece no peer has, or one peers deliver
// much slower than the torrent's web source would, is fetched from the web
// source (see Torrent for the rule), and when no source can deliver it the
// wait fails with ErrNoSource. A piece that fails verification is fetched
// again and the peer that sent the bad blocks is found and banned.
//
// The store is the one truth of which pieces are had: a piece it evicts
// (DiskOptions.MaxBytes) or that another torrent stores (Debian pieces are
// kept once by SHA256) is reconciled by every torrent listing it, which tells
// its peers (have, or BEP 54's lt_donthave) and fetches it again when asked.
package debtorrent
