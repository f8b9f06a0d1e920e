// Package peerwire speaks the BitTorrent peer protocol on one connection: the
// handshake (BEP 3) with the reserved bits of the extension protocol (BEP 10)
// and the fast extension (BEP 6), every message of those three specifications,
// the length-prefixed framing with hard limits, and a Conn that reads and writes
// framed messages.
//
// peerwire knows nothing of what pieces mean nor of policy: which blocks to
// request, whom to unchoke and when to drop a peer are the engine's decisions.
//
// # Handshake
//
// Initiate (the dialing side) and Accept (the listening side) exchange the
// 68-byte handshake within a deadline. Accept reads the infohash and asks
// the caller whether that torrent is served before answering, so one
// listener serves every torrent. Reserved.Common tells which extensions both
// sides announced; pass that on to the Conn's Limits.
//
// # Extensions
//
// An ExtensionRegistry gives the names of the extensions we speak (ut_pex,
// ut_metadata, later a Debian-swarm extension) their local IDs; the
// ExtendedHandshake carries them as "m" together with v, p, reqq, yourip and
// metadata_size. Other extended messages are carried as raw payloads for
// their extension's own code to decode.
//
// # Limits
//
// A frame's declared length is checked against the largest message this
// connection can legally receive before any of its body is read or any memory
// is allocated for it (see Limits): a piece message carries at most
// Limits.MaxBlock bytes of data (16 KiB by default, as every current client
// requests), a bitfield exactly the bytes of the torrent's piece count, an
// extended message at most Limits.MaxExtended bytes (1 MiB by default).
// Requests, cancels and rejects asking for more than MaxBlock bytes, or for
// none, are refused as BEP 3 advises: such a peer is broken or hostile.
//
// # Buffers
//
// The data of a received piece message lives in a pooled Block. It stays valid
// until the receiver calls Message.Release; a Block that is never released is
// simply collected by the garbage collector, so forgetting Release costs only
// an allocation, never corrupted data. The reader never reuses a buffer on its
// own.
//
// # Keep-alives and idle peers
//
// The Conn sends a keep-alive when it has written nothing for
// Config.KeepAliveInterval (2 minutes by default) and fails a read when the
// peer has sent nothing, not even a keep-alive, for Config.IdleTimeout
// (3 minutes by default): the engine never has to think about either.
package peerwire
