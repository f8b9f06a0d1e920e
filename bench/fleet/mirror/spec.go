package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/debtorrent/debtorrent/internal/testmirror"
)

// closure is roughly what `apt-get install g++-12 libllvm15` fetches on an
// empty bookworm amd64 system: names, versions and sizes in KB (rounded
// from the real archive). The sizes are weights: fleetSpec jitters and
// scales them to the wanted total. Versions are without epochs, as in
// pool file names.
var closure = []struct {
	name, version string
	kb            int
}{
	{"libllvm15", "15.0.6-4+b1", 23_000}, {"gcc-12", "12.2.0-14", 17_000}, {"g++-12", "12.2.0-14", 10_700},
	{"cpp-12", "12.2.0-14", 9_500}, {"libicu72", "72.1-3", 9_400}, {"libz3-4", "4.8.12-3.1", 7_300},
	{"libperl5.36", "5.36.0-7", 4_200}, {"perl-modules-5.36", "5.36.0-7", 2_800}, {"binutils-x86-64-linux-gnu", "2.40-2", 2_500},
	{"libasan8", "12.2.0-14", 2_200}, {"libstdc++-12-dev", "12.2.0-14", 2_000}, {"libtsan2", "12.2.0-14", 2_200},
	{"libc6", "2.36-9", 2_700}, {"libc6-dev", "2.36-9", 1_900}, {"linux-libc-dev", "6.1.76-1", 1_900},
	{"libgcc-12-dev", "12.2.0-14", 2_400}, {"libhwasan0", "12.2.0-14", 1_000}, {"libubsan1", "12.2.0-14", 880},
	{"liblsan0", "12.2.0-14", 960}, {"libbinutils", "2.40-2", 570}, {"libxml2", "2.9.14+dfsg-1.3", 690},
	{"libstdc++6", "12.2.0-14", 610}, {"libisl23", "0.25-1.1", 680}, {"libgmp10", "6.2.1+dfsg1-1.1", 560},
	{"libmpfr6", "4.2.0-1", 700}, {"libgprofng0", "2.40-2", 650}, {"perl", "5.36.0-7", 240},
	{"libdpkg-perl", "1.21.22", 600}, {"dpkg-dev", "1.21.22", 1_300}, {"make", "4.3-4.1", 400},
	{"libgomp1", "12.2.0-14", 120}, {"libquadmath0", "12.2.0-14", 145}, {"libitm1", "12.2.0-14", 26},
	{"libatomic1", "12.2.0-14", 9}, {"libcc1-0", "12.2.0-14", 41}, {"libmpc3", "1.3.1-1", 51},
	{"gcc-12-base", "12.2.0-14", 37}, {"libgcc-s1", "12.2.0-14", 49}, {"binutils", "2.40-2", 65},
	{"binutils-common", "2.40-2", 2_400}, {"libctf0", "2.40-2", 90}, {"libctf-nobfd0", "2.40-2", 150},
	{"libjansson4", "2.14-2", 40}, {"libc-dev-bin", "2.36-9", 47}, {"libcrypt-dev", "4.4.33-2", 120},
	{"libnsl-dev", "1.3.0-2", 66}, {"libtirpc-dev", "1.3.3+ds-1", 190}, {"rpcsvc-proto", "1.4.3-1", 62},
	{"libedit2", "3.1-20221030-2", 90}, {"libffi8", "3.4.4-1", 23}, {"libtinfo6", "6.4-4", 330},
	{"libbsd0", "0.11.7-2", 120}, {"libmd0", "1.0.4-2", 29}, {"zlib1g", "1.2.13.dfsg-1", 88},
	{"libzstd1", "1.5.4+dfsg2-5", 270}, {"liblzma5", "5.4.1-0.2", 200}, {"libelf1", "0.188-2.1", 175},
	{"libgdbm6", "1.23-3", 72}, {"libdb5.3", "5.3.28+dfsg2-1", 720}, {"patch", "2.7.6-7", 130},
}

// fleetSpec returns n packages whose sizes total about total bytes: the
// closure's weights jittered by ±20 % from seed and scaled (n beyond the
// closure repeats it with numbered names).
func fleetSpec(seed uint64, n int, total int64) testmirror.Spec {
	rng := rand.New(rand.NewPCG(seed, 0x666c656574))
	weights := make([]float64, n)
	var sum float64
	for i := range n {
		c := closure[i%len(closure)]
		weights[i] = float64(c.kb) * (0.8 + 0.4*rng.Float64())
		sum += weights[i]
	}
	var s testmirror.Spec
	for i := range n {
		c := closure[i%len(closure)]
		name := c.name
		if i >= len(closure) {
			name = fmt.Sprintf("%s-x%d", c.name, i/len(closure))
		}
		size := int(weights[i] / sum * float64(total))
		s.Packages = append(s.Packages, testmirror.Package{Name: name, Version: c.version, PayloadSize: size})
	}
	return s
}
