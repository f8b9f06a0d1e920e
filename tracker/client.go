package tracker

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// ClientConfig configures a Client. The zero value is usable.
type ClientConfig struct {
	// HTTPClient sends HTTP(S) requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// UDPTimeout is the first wait for a UDP reply, doubled at each
	// retransmission; 0 means BEP 15's 15 seconds.
	UDPTimeout time.Duration
	// UDPRetries is how many times a UDP request is retransmitted before
	// giving up; 0 means BEP 15's 8, a negative value means none.
	UDPRetries int
}

// Client announces to and scrapes trackers over HTTP(S) and UDP. It is safe
// for concurrent use and holds no goroutines or sockets between calls.
type Client struct {
	http *http.Client
	udp  *udpClient
}

// NewClient returns a Client configured by cfg.
func NewClient(cfg ClientConfig) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	timeout := cfg.UDPTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	retries := cfg.UDPRetries
	switch {
	case retries == 0:
		retries = 8
	case retries < 0:
		retries = 0
	}
	return &Client{
		http: hc,
		udp: &udpClient{
			baseTimeout: timeout,
			maxRetries:  retries,
			now:         time.Now,
			connIDs:     make(map[string]cachedConnID),
		},
	}
}

// Announce tells the tracker at announceURL (http, https or udp) about the
// peer and returns its answer. A tracker's refusal is a *FailureError.
func (c *Client) Announce(ctx context.Context, announceURL string, req AnnounceRequest) (*AnnounceResponse, error) {
	u, err := url.Parse(announceURL)
	if err != nil {
		return nil, fmt.Errorf("tracker: announce: %w", err)
	}
	var resp *AnnounceResponse
	switch u.Scheme {
	case "http", "https":
		resp, err = httpAnnounce(ctx, c.http, u, &req)
	case "udp":
		resp, err = c.udp.announce(ctx, u.Host, &req)
	default:
		err = fmt.Errorf("unsupported scheme %q: want http, https or udp", u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("tracker: announce %s: %w", u.Redacted(), err)
	}
	return resp, nil
}

// Scrape asks the tracker at announceURL about the swarms of some infohashes
// (1 to 74 over UDP). Swarms the tracker does not know may be missing from
// the answer or listed with zero counts.
func (c *Client) Scrape(ctx context.Context, announceURL string, hashes ...metainfo.InfoHash) (map[metainfo.InfoHash]ScrapeStats, error) {
	u, err := url.Parse(announceURL)
	if err != nil {
		return nil, fmt.Errorf("tracker: scrape: %w", err)
	}
	var stats map[metainfo.InfoHash]ScrapeStats
	switch u.Scheme {
	case "http", "https":
		stats, err = httpScrape(ctx, c.http, u, hashes)
	case "udp":
		stats, err = c.udp.scrape(ctx, u.Host, hashes)
	default:
		err = fmt.Errorf("unsupported scheme %q: want http, https or udp", u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("tracker: scrape %s: %w", u.Redacted(), err)
	}
	return stats, nil
}
