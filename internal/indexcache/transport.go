package indexcache

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns the transport the cache uses by default, for other
// upstream requests made the same way.
func NewTransport() *http.Transport { return defaultTransport() }

// defaultTransport is a transport for mirrors: bounded dialing and waiting
// for headers, pooled connections, and no transparent decompression (bytes
// are cached as upstream sent them).
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
	}
}
