package aptmethod_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/debtorrent/debtorrent/internal/aptmethod"
)

// Parsing one of APT's messages and writing a reply.
func ExampleParseMessage() {
	msg, err := aptmethod.ParseMessage([]byte("600 URI Acquire\nURI: debtorrent://127.0.0.1:9988/m/debian/dists/bookworm/InRelease\nFilename: /tmp/InRelease\n\n"))
	if err != nil {
		panic(err)
	}
	req, err := aptmethod.ParseRequest(msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(req.Target)
	reply := aptmethod.NewMessage(aptmethod.CodeURIFailure, "URI Failure").
		Add("URI", req.URI).Add("Message", "404 Not Found").Add("FailReason", "HttpError404")
	fmt.Print(reply)
	// Output:
	// http://127.0.0.1:9988/m/debian/dists/bookworm/InRelease
	// 400 URI Failure
	// URI: debtorrent://127.0.0.1:9988/m/debian/dists/bookworm/InRelease
	// Message: 404 Not Found
	// FailReason: HttpError404
}

// Running the method as APT would: write a configuration and a request to
// its input, read its answers, and close its input when done.
func ExampleMethod_Run() {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Package: hello\n")
	}))
	defer proxy.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	uri := "debtorrent://" + proxy.Listener.Addr().String() + "/m/debian/dists/bookworm/main/binary-amd64/Packages"

	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	go func() {
		(&aptmethod.Method{}).Run(context.Background(), stdinR, stdoutW)
		stdoutW.Close()
	}()
	aptmethod.NewMessage(aptmethod.CodeConfiguration, "Configuration").
		Add("Config-Item", "Acquire::debtorrent::Workers=4").WriteTo(stdinW)
	aptmethod.NewMessage(aptmethod.CodeURIAcquire, "URI Acquire").
		Add("URI", uri).Add("Filename", filepath.Join(dir, "Packages")).WriteTo(stdinW)

	replies := aptmethod.NewReader(stdoutR)
	for {
		msg, err := replies.ReadMessage()
		if err != nil {
			panic(err)
		}
		fmt.Println(msg.Code, msg.Summary)
		if msg.Code == aptmethod.CodeURIDone {
			fmt.Println("Size:", msg.Value("Size"), "SHA256:", msg.Value("SHA256-Hash")[:16])
			break
		}
	}
	stdinW.Close()
	io.Copy(io.Discard, stdoutR)
	// Output:
	// 100 Capabilities
	// 102 Status
	// 200 URI Start
	// 201 URI Done
	// Size: 15 SHA256: b0504db6bdc2c07d
}
