package aptsources_test

import (
	"fmt"
	"log"

	"github.com/debtorrent/debtorrent/debsource/aptsources"
)

// Read a machine's APT sources ("/" in production) and keep the mirrors an
// HTTP proxy can serve.
func ExampleMirrors() {
	sources, err := aptsources.Read("testdata")
	if err != nil {
		log.Fatal(err)
	}
	mirrors, notes := aptsources.Mirrors(sources)
	for _, m := range mirrors[:3] {
		fmt.Println(m.URI, m.Suites, m.Components)
	}
	fmt.Println(len(mirrors), "mirrors,", len(notes), "sources or URIs left out")
	// Output:
	// http://deb.debian.org/debian/ [bullseye] [main contrib non-free]
	// https://security.debian.org/debian-security/ [bullseye-security] [main]
	// http://deb.debian.org/debian/ [bookworm bookworm-updates] [main non-free-firmware]
	// 6 mirrors, 4 sources or URIs left out
}
