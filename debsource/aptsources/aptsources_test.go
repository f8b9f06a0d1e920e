package aptsources

import (
	"reflect"
	"strings"
	"testing"
)

func TestReadTestdataRoot(t *testing.T) {
	got, err := Read("testdata")
	if err != nil {
		t.Fatal(err)
	}
	type brief struct {
		From       string
		Types      []string
		URIs       []string
		Suites     []string
		Components []string
		Enabled    bool
		Trusted    bool
		Arch       []string
		SignedBy   []string
	}
	var briefs []brief
	for _, s := range got {
		briefs = append(briefs, brief{s.File + ":" + itoa(s.Line), s.Types, s.URIs, s.Suites, s.Components, s.Enabled, s.Trusted, s.Architectures, s.SignedBy})
	}
	keyring := []string{"/usr/share/keyrings/debian-archive-keyring.gpg"}
	want := []brief{
		{"etc/apt/sources.list:2", []string{"deb"}, []string{"http://deb.debian.org/debian"}, []string{"bullseye"}, []string{"main", "contrib", "non-free"}, true, false, nil, nil},
		{"etc/apt/sources.list:3", []string{"deb-src"}, []string{"http://deb.debian.org/debian"}, []string{"bullseye"}, []string{"main"}, true, false, nil, nil},
		{"etc/apt/sources.list:4", []string{"deb"}, []string{"https://security.debian.org/debian-security"}, []string{"bullseye-security"}, []string{"main"}, true, false, []string{"amd64", "i386"}, keyring},
		{"etc/apt/sources.list:5", []string{"deb"}, []string{"cdrom:[Debian GNU/Linux 11.0.0 _Bullseye_ - Official amd64 DVD Binary-1 20210814-10:04]/"}, []string{"bullseye"}, []string{"contrib", "main"}, true, false, nil, nil},
		{"etc/apt/sources.list.d/debian.sources:1", []string{"deb"}, []string{"http://deb.debian.org/debian"}, []string{"bookworm", "bookworm-updates"}, []string{"main", "non-free-firmware"}, true, false, nil, keyring},
		{"etc/apt/sources.list.d/debian.sources:7", []string{"deb"}, []string{"http://deb.debian.org/debian-security"}, []string{"bookworm-security"}, []string{"main", "non-free-firmware"}, true, false, nil, keyring},
		{"etc/apt/sources.list.d/local.list:1", []string{"deb"}, []string{"file:/srv/repo"}, []string{"./"}, []string{}, true, true, nil, nil},
		{"etc/apt/sources.list.d/local.list:2", []string{"deb"}, []string{"http://127.0.0.1:3142/debian/"}, []string{"bookworm"}, []string{"main"}, true, true, nil, nil},
		{"etc/apt/sources.list.d/vendor.sources:2", []string{"deb", "deb-src"}, []string{"https://example.org/apt"}, []string{"stable"}, []string{"main"}, true, false, []string{"amd64", "arm64"}, nil},
		{"etc/apt/sources.list.d/vendor.sources:16", []string{"deb"}, []string{"http://old.example.org/debian"}, []string{"buster"}, []string{"main"}, false, false, nil, nil},
	}
	if len(briefs) != len(want) {
		t.Fatalf("got %d sources, want %d: %+v", len(briefs), len(want), briefs)
	}
	for i := range want {
		if !reflect.DeepEqual(briefs[i], want[i]) {
			t.Errorf("source %d:\n got %+v\nwant %+v", i, briefs[i], want[i])
		}
	}
	key := got[8].SignedByKey
	if !strings.HasPrefix(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZQ") || !strings.HasSuffix(key, "-----END PGP PUBLIC KEY BLOCK-----\n") {
		t.Errorf("inline key not restored: %q", key)
	}
	if got[7].Options["languages"] != "none" {
		t.Errorf("lang= option not kept as languages: %v", got[7].Options)
	}
}

func TestMirrors(t *testing.T) {
	sources, err := Read("testdata")
	if err != nil {
		t.Fatal(err)
	}
	mirrors, notes := Mirrors(sources)
	var uris []string
	for _, m := range mirrors {
		uris = append(uris, m.URI.String())
	}
	want := []string{
		"http://deb.debian.org/debian/",
		"https://security.debian.org/debian-security/",
		"http://deb.debian.org/debian/",
		"http://deb.debian.org/debian-security/",
		"http://127.0.0.1:3142/debian/",
		"https://example.org/apt/",
	}
	if !reflect.DeepEqual(uris, want) {
		t.Fatalf("mirrors %q\nwant %q", uris, want)
	}
	joined := strings.Join(notes, "\n")
	for _, part := range []string{"sources.list:3: deb-src only", "CD-ROM", "file:/srv/repo is a local directory", "vendor.sources:16: disabled"} {
		if !strings.Contains(joined, part) {
			t.Errorf("notes lack %q:\n%s", part, joined)
		}
	}
	if !mirrors[4].Trusted {
		t.Error("trusted=yes lost")
	}
}

func TestReadMissingRoot(t *testing.T) {
	got, err := Read(t.TempDir())
	if err != nil || len(got) != 0 {
		t.Fatalf("empty root: %v, %v", got, err)
	}
}

func TestParseOneLineErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"rpm http://x/ a main", "not deb or deb-src"},
		{"deb http://x/", "want \"deb [options] URI suite"},
		{"deb [arch=amd64 http://x/ a main", "unclosed"},
		{"deb arch=amd64] http://x/ a main", "without"},
		{"deb [arch] http://x/ a main", "not name=value"},
		{"deb [trusted=maybe] http://x/ a main", "not yes or no"},
		{"deb http://x/ flat/ main", "flat repository"},
		{"deb http://x/ bookworm", "needs at least one component"},
		{"deb [[a=b]] http://x/ a main", "nested"},
	}
	for _, tt := range tests {
		_, err := ParseOneLine(strings.NewReader("# comment\n"+tt.line+"\n"), "x.list")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "x.list:2") {
			t.Errorf("%q: error %v, want one at x.list:2 containing %q", tt.line, err, tt.want)
		}
	}
}

func TestParseDeb822Errors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"URIs: http://x/\nSuites: a\nComponents: main\n", "no Types"},
		{"Types: deb\nSuites: a\nComponents: main\n", "no URIs"},
		{"Types: deb\nURIs: http://x/\nComponents: main\n", "no Suites"},
		{"Types: deb\nURIs: http://x/\nSuites: a\n", "no Components"},
		{"Types: deb\nURIs: http://x/\nSuites: ./\nComponents: main\n", "flat repository"},
		{"Types: rpm\nURIs: http://x/\nSuites: a\nComponents: main\n", "not deb or deb-src"},
		{"Types: deb\nURIs: http://x/\nSuites: a\nComponents: main\nEnabled: perhaps\n", "not yes or no"},
		{"Types: deb\n bad continuation is fine\nnot a field\n", "line 3"},
	}
	for _, tt := range tests {
		_, err := ParseDeb822(strings.NewReader(tt.text), "x.sources")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one containing %q", tt.text, err, tt.want)
		}
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
