package peerwire_test

import (
	"context"
	"fmt"
	"net"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
)

// Two peers handshake over an in-memory connection: one listener may serve
// many torrents, so the accepting side looks the infohash up first.
func ExampleAccept() {
	dialer, acceptor := net.Pipe()
	defer dialer.Close()
	defer acceptor.Close()
	torrent := metainfo.InfoHash{1, 2, 3}
	served := map[metainfo.InfoHash]bool{torrent: true}

	done := make(chan peerwire.Handshake)
	go func() {
		id, _ := peerwire.NewPeerID(nil)
		hs, err := peerwire.Accept(context.Background(), acceptor,
			func(h metainfo.InfoHash) bool { return served[h] }, peerwire.DefaultReserved(), id)
		if err != nil {
			fmt.Println(err)
		}
		done <- hs
	}()
	id, _ := peerwire.NewPeerID(nil)
	answer, err := peerwire.Initiate(context.Background(), dialer,
		peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: torrent, PeerID: id})
	if err != nil {
		fmt.Println(err)
		return
	}
	accepted := <-done
	both := answer.Reserved.Common(peerwire.DefaultReserved())
	fmt.Println("same torrent:", accepted.InfoHash == answer.InfoHash)
	fmt.Println("fast extension:", both.Fast(), "extension protocol:", both.Extensions())
	fmt.Println("client:", string(answer.PeerID[:8]))
	// Output:
	// same torrent: true
	// fast extension: true extension protocol: true
	// client: -DT0001-
}

// A Conn queues messages for its writer goroutine and reads framed messages
// within the limits of the torrent.
func ExampleConn() {
	a, b := net.Pipe()
	ctx := context.Background()
	cfg := peerwire.Config{Limits: peerwire.Limits{NumPieces: 10, Fast: true}}
	seed, leecher := peerwire.NewConn(ctx, a, cfg), peerwire.NewConn(ctx, b, cfg)
	defer seed.Close()
	defer leecher.Close()

	go func() {
		seed.Send(ctx, peerwire.Message{ID: peerwire.HaveAll})
		seed.Send(ctx, peerwire.Message{ID: peerwire.Unchoke})
		seed.Send(ctx, peerwire.Message{ID: peerwire.Piece, Index: 3, Begin: 0, Block: []byte("data")})
	}()
	for range 3 {
		m, err := leecher.ReadMessage()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m.String())
		if m.ID == peerwire.Piece {
			fmt.Printf("block %q\n", m.Block)
			m.Release() // the block's buffer goes back to the pool
		}
	}
	// Output:
	// have all
	// unchoke
	// piece 3+0:4
	// block "data"
}

// The extension protocol: register the extensions we speak, send our
// handshake, and look up the IDs the peer wants.
func ExampleExtendedHandshake() {
	reg, err := peerwire.NewExtensionRegistry(peerwire.ExtensionPEX, peerwire.ExtensionMetadata)
	if err != nil {
		fmt.Println(err)
		return
	}
	ours, _ := peerwire.ExtendedHandshake{M: reg.M(), V: "debtorrent 0.1", Reqq: 250}.Message()
	fmt.Printf("%s: %s\n", ours.String(), ours.Payload)

	theirs, _ := peerwire.ParseExtendedHandshake([]byte("d1:md11:ut_metadatai9ee1:v12:aria2/1.36.0e"))
	id, ok := theirs.ID(peerwire.ExtensionMetadata)
	fmt.Println("send ut_metadata to aria2 as", id, ok)
	_, ok = theirs.ID(peerwire.ExtensionPEX)
	fmt.Println("aria2 speaks ut_pex:", ok)
	name, _ := reg.Name(1)
	fmt.Println("extended message 1 to us is", name)
	// Output:
	// extended 0 (66 bytes): d1:md11:ut_metadatai2e6:ut_pexi1ee4:reqqi250e1:v14:debtorrent 0.1e
	// send ut_metadata to aria2 as 9 true
	// aria2 speaks ut_pex: false
	// extended message 1 to us is ut_pex
}

// The wire form of a request: length prefix, ID, index, begin, length.
func ExampleMessage_AppendTo() {
	m := peerwire.Message{ID: peerwire.Request, Index: 1, Begin: 16384, Length: 16384}
	wire, _ := m.AppendTo(nil)
	fmt.Printf("% x\n", wire)
	// Output:
	// 00 00 00 0d 06 00 00 00 01 00 00 40 00 00 00 40 00
}
