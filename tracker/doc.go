// Package tracker talks to BitTorrent trackers and is one.
//
// The client side announces and scrapes over HTTP(S) (BEP 3, compact peers
// BEP 23, IPv6 peers BEP 7) and over UDP (BEP 15), and walks a torrent's
// announce tiers (BEP 12). The server side is an embeddable tracker: an
// http.Handler for /announce and /scrape, and a UDP listener, both over one
// in-memory, bounded set of swarms.
//
// Both sides read with hard limits. The client reads an HTTP body up to
// MaxReplySize (1 MiB), a UDP datagram up to 16 KiB, and accepts at most
// 10000 peers per reply. The server reads queries up to 8 KiB, scrapes of
// up to 74 infohashes, keeps at most MaxSwarms swarms of MaxPeersPerSwarm
// peers, and answers with at most MaxNumWant peers. One host (an IPv4
// address or an IPv6 /64) may create at most MaxSwarmsPerAddress swarms and
// hold at most MaxPeersPerAddress peers in each, and a flood from one host
// never evicts the peers of hosts with fewer peers. A UDP request without a
// valid connection id never gets a reply larger than itself, so a forged
// source address cannot use the tracker to amplify a flood.
//
// The server's swarms live in memory behind one mutex. Peers that miss
// their announces for PeerTimeout are dropped lazily, when their swarm is
// next touched, and all swarms are swept at most once per Interval as
// requests arrive, so a Server owns no goroutines and its clock can be
// injected. UDP connection ids are HMACs of the client's IP address under a
// secret that rotates every minute: they cost no memory, cannot be forged,
// and expire after one to two minutes.
package tracker
