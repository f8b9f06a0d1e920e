package tracker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScrapeURL(t *testing.T) {
	tests := []struct {
		announce, want, wantErr string
	}{
		{"http://t.example/announce", "http://t.example/scrape", ""},
		{"http://t.example/x/announce.php?passkey=abc", "http://t.example/x/scrape.php?passkey=abc", ""},
		{"http://t.example/announce/x", "", "does not support scrape"},
		{"http://t.example/a", "", "does not support scrape"},
	}
	for _, tt := range tests {
		t.Run(tt.announce, func(t *testing.T) {
			u, err := url.Parse(tt.announce)
			require.NoError(t, err)
			got, err := scrapeURL(u)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
		})
	}
}

func TestHTTPClientReplies(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"too long", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("d8:intervali60e5:peers" + itoa(MaxReplySize) + ":"))
			w.Write([]byte(strings.Repeat("\x00", MaxReplySize)))
		}, "longer than 1048576 bytes"},
		{"failure with an error status", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("d14:failure reason6:bannede"))
		}, "tracker refused: banned"},
		{"plain error status", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "oops", http.StatusBadGateway)
		}, "HTTP status 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := httptest.NewServer(tt.handler)
			defer s.Close()
			_, err := NewClient(ClientConfig{HTTPClient: s.Client()}).Announce(context.Background(), s.URL+"/announce", AnnounceRequest{})
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestHTTPClientKeepsTrackerQueryAndCancels(t *testing.T) {
	gotQuery := make(chan url.Values, 1)
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery <- r.URL.Query()
		<-release
	}))
	defer s.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := NewClient(ClientConfig{HTTPClient: s.Client()}).Announce(ctx, s.URL+"/announce?passkey=k", AnnounceRequest{Event: EventStopped})
		errc <- err
	}()
	q := <-gotQuery
	assert.Equal(t, "k", q.Get("passkey"))
	assert.Equal(t, "stopped", q.Get("event"))
	assert.Equal(t, "1", q.Get("compact"))
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
}

func TestClientRejectsUnknownScheme(t *testing.T) {
	c := NewClient(ClientConfig{})
	_, err := c.Announce(context.Background(), "wss://t.example/announce", AnnounceRequest{})
	require.ErrorContains(t, err, `unsupported scheme "wss"`)
	_, err = c.Scrape(context.Background(), "udp://127.0.0.1:1/announce")
	require.ErrorContains(t, err, "want 1 to 74")
}
