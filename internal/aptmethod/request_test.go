package aptmethod

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTranslateURI(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "debtorrent://127.0.0.1:9988/deb.debian.org/debian/dists/bookworm/InRelease",
			want: "http://127.0.0.1:9988/deb.debian.org/debian/dists/bookworm/InRelease"},
		{in: "DebTorrent://[::1]:9988/m/debian/pool/main/h/hello/hello_2.10-3_amd64.deb",
			want: "http://[::1]:9988/m/debian/pool/main/h/hello/hello_2.10-3_amd64.deb"},
		// APT may send the URI decoded or encoded; both give the same URL.
		{in: "debtorrent://h:1/my mirror/debian/a+b_1%3a2~3.deb", want: "http://h:1/my%20mirror/debian/a+b_1%3a2~3.deb"},
		{in: "debtorrent://h:1/my%20mirror/debian/x", want: "http://h:1/my%20mirror/debian/x"},
		{in: "debtorrent://h:1/100%/ü", want: "http://h:1/100%25/%C3%BC"},
		{in: "debtorrent://h:1/a?b#c", want: "http://h:1/a"},
		{in: "debtorrent://h:1", want: "http://h:1/"},
		{in: "http://h:1/a", wantErr: "want debtorrent://"},
		{in: "debtorrent:///a", wantErr: "no host"},
		{in: "debtorrent://user@h:1/a", wantErr: "plain HOST:PORT"},
		{in: "debtorrent://h:port/a", wantErr: "port"},
		{in: "debtorrent://:1/a", wantErr: "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := TranslateURI(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
		})
	}
}

func TestParseRequest(t *testing.T) {
	msg, err := ParseMessage([]byte("600 URI Acquire\n" +
		"URI: debtorrent://127.0.0.1:9988/m/debian/pool/a.deb\n" +
		"Filename: /var/cache/apt/archives/partial/a.deb\n" +
		"Last-Modified: Wed, 25 Nov 2026 01:29:37 GMT\n" +
		"Expected-SHA256: ABCDEF\n" +
		"Expected-MD5Sum: 0123\n" +
		"Expected-Checksum-FileSize: 42\n" +
		"Expected-Foo: ignored\n" +
		"Maximum-Size: 1000\n\n"))
	require.NoError(t, err)
	r, err := ParseRequest(msg)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9988/m/debian/pool/a.deb", r.Target.String())
	assert.Equal(t, "/var/cache/apt/archives/partial/a.deb", r.Filename)
	assert.Equal(t, time.Date(2026, 11, 25, 1, 29, 37, 0, time.UTC), r.LastModified.UTC())
	assert.Equal(t, map[string]string{"SHA256": "abcdef", "MD5Sum": "0123"}, r.Expected)
	assert.Equal(t, int64(42), r.ExpectedSize)
	assert.Equal(t, int64(1000), r.MaximumSize)

	// APT's own methods write "+0000" instead of "GMT".
	msg.Fields[2].Value = "Wed, 25 Nov 2026 01:29:37 +0000"
	r, err = ParseRequest(msg)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 25, 1, 29, 37, 0, time.UTC), r.LastModified.UTC())

	bad := []struct{ name, msg, wantErr string }{
		{"wrong code", "601 Configuration\nURI: debtorrent://h/a\n\n", "not a 600"},
		{"no URI", "600 URI Acquire\nFilename: /x\n\n", "without a URI"},
		{"no Filename", "600 URI Acquire\nURI: debtorrent://h/a\n\n", "without a Filename"},
		{"bad scheme", "600 URI Acquire\nURI: ftp://h/a\nFilename: /x\n\n", "want debtorrent"},
		{"bad size", "600 URI Acquire\nURI: debtorrent://h/a\nFilename: /x\nMaximum-Size: -1\n\n", "Maximum-Size"},
		{"bad file size", "600 URI Acquire\nURI: debtorrent://h/a\nFilename: /x\nExpected-Checksum-FileSize: x\n\n", "FileSize"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.msg))
			require.NoError(t, err)
			_, err = ParseRequest(m)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestApplyConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		items   []string
		want    Config
		wantErr string
	}{
		{name: "defaults", want: DefaultConfig()},
		{
			name:  "all keys, any case, percent-encoded, last wins",
			items: []string{"acquire::DEBTORRENT::workers=2", "Acquire::debtorrent::Workers=4", "Acquire::debtorrent::Timeout=7", "Debug::Acquire::debtorrent=true", "APT::Sandbox::User=my%20user", "CommandLine::AsString=apt-get%20update"},
			want:  Config{Workers: 4, Timeout: 7 * time.Second, Debug: true, SandboxUser: "my user"},
		},
		{
			name:  "APT sent no sandbox user: it decided to run methods as root",
			items: []string{"Acquire::debtorrent::Workers=3"},
			want:  Config{Workers: 3, Timeout: DefaultTimeout, SandboxUser: ""},
		},
		{
			name:  "Debug::NoDropPrivs keeps root",
			items: []string{"APT::Sandbox::User=_apt", "Debug::NoDropPrivs=true"},
			want:  Config{Workers: DefaultWorkers, Timeout: DefaultTimeout, SandboxUser: ""},
		},
		{name: "zero workers", items: []string{"Acquire::debtorrent::Workers=0"}, wantErr: "from 1 to 256"},
		{name: "too many workers", items: []string{"Acquire::debtorrent::Workers=1000"}, wantErr: "from 1 to 256"},
		{name: "bad timeout", items: []string{"Acquire::debtorrent::Timeout=soon"}, wantErr: "seconds"},
		{name: "no equals", items: []string{"Acquire::debtorrent::Workers"}, wantErr: "no '='"},
		{name: "bad escape", items: []string{"A=%zz"}, wantErr: "bad %-escape"},
		{name: "truncated escape", items: []string{"A=%2"}, wantErr: "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMessage(CodeConfiguration, "Configuration")
			for _, it := range tt.items {
				m.Add("Config-Item", it)
			}
			got, err := DefaultConfig().ApplyConfiguration(m)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
