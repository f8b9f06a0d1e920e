// Package debsource reads the Debian archive as a mirror publishes it and
// turns it into torrents: Release and InRelease files (the hash tables that
// name every index, by-hash look-ups), Packages files in every compression APT
// fetches, the URL layout of a mirror (which paths are indexes, which are pool
// files, which are hostile), and a Packages file → metainfo.Info with one
// piece per package.
//
// Everything streams: a 50 MB Packages file is decompressed, hashed and parsed
// in one pass, never held in memory whole. The generic stanza reader lives in
// debsource/deb822, the machine's APT configuration in debsource/aptsources.
// Nothing here opens a socket; signature checking stays APT's (gpgv), reached
// through the Verifier interface.
package debsource
