// Package aptmethod speaks APT's acquire-method interface: it is the engine
// of the debtorrent:// transport, a program APT starts and talks to over
// stdin and stdout.
//
// APT writes messages in an RFC-822-like form: a status line such as
// "600 URI Acquire", "Field: value" lines and a blank line. This package
// parses and writes those messages (Message, Reader), reads the method's
// settings from APT's "601 Configuration" (Config), turns each
// "600 URI Acquire" into a Request whose debtorrent://HOST:PORT/PATH URI is
// fetched over HTTP from http://HOST:PORT/PATH (normally a running
// debtorrent proxy), and runs the whole exchange (Method): every queued URI
// is fetched at once by a bounded pool of workers, written into the file APT
// named as the bytes arrive, hashed on the way, checked against APT's
// expected hashes and size limit, and reported with "201 URI Done" or
// "400 URI Failure" as soon as it is finished, in whatever order that is.
package aptmethod
