package deb822_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/debtorrent/debtorrent/debsource/deb822"
)

func ExampleReader() {
	const text = `Package: hello
Version: 2.10-3
Description: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting.
 .
 It is a useful example.

Package: hello-traditional
Version: 2.10-6
`
	r := deb822.NewReader(strings.NewReader(text), deb822.Options{})
	for {
		s, err := r.Next() // s is valid until the next call
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Get("package"), s.Get("Version"))
		if d, ok := s.Value("Description"); ok {
			fmt.Printf("%q\n", deb822.Lines(d))
		}
	}
	// Output:
	// hello 2.10-3
	// ["example package based on GNU hello" "The GNU hello program produces a familiar, friendly greeting." "" "It is a useful example."]
	// hello-traditional 2.10-6
}
