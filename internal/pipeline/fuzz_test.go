package pipeline

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// FuzzServeConn feeds arbitrary bytes to a connection: the server must
// neither panic nor hang, whatever arrives.
func FuzzServeConn(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://example.org/x HTTP/1.1\r\nConnection: close\r\n\r\n",
		"\x00\x01garbage\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	s := &Server{MaxHeaderBytes: 4096, IdleTimeout: time.Second, HeaderTimeout: time.Second, WriteTimeout: time.Second,
		Handler: HandlerFunc(func(ctx context.Context, r *http.Request) *Response {
			if r.URL.Path == "/c" {
				return &Response{Status: http.StatusOK, ContentLength: -1, Body: io.NopCloser(io.LimitReader(zeroReader{}, 10000))}
			}
			return Text(http.StatusOK, r.Method+" "+r.URL.String())
		})}
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeConn(context.Background(), server)
		}()
		read := make(chan struct{})
		go func() {
			defer close(read)
			io.Copy(io.Discard, client)
		}()
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ServeConn did not return for %q", in)
		}
		<-read
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
