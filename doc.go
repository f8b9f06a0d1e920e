// Package debtorrent is a BitTorrent engine with pluggable piece sources and
// an APT proxy built on it: Debian machines fetch .deb packages from each
// other, with the mirror as the fallback.
//
// This package is the front door. So far it holds the storage interface the
// engine writes pieces through (Storage) and its default on-disk
// implementation (OpenDiskStorage).
package debtorrent
