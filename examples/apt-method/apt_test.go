package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// methodBinary is the method built once by TestMain ("" if the build
// failed, with buildErr saying why).
var (
	methodBinary string
	buildErr     error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "debtorrent-method-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	methodBinary = filepath.Join(dir, "debtorrent")
	out, err := exec.Command("go", "build", "-o", methodBinary, ".").CombinedOutput()
	if err != nil {
		buildErr = fmt.Errorf("go build ./examples/apt-method: %w\n%s", err, out)
		methodBinary = ""
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// aptRoot is a throwaway APT installation: its own sources, lists, cache
// and methods folder, reached through APT_CONFIG, so nothing of the
// machine's APT state is read or written.
type aptRoot struct {
	dir     string
	config  string
	methods string
}

// newAPTRoot creates a root whose sources.list holds sources and whose
// apt.conf adds extraConf. It skips the test when apt-get is missing.
func newAPTRoot(t testing.TB, sources string, extraConf ...string) *aptRoot {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("apt-get not installed: apt-get install apt")
	}
	if methodBinary == "" {
		t.Fatalf("method binary: %v", buildErr)
	}
	dir := t.TempDir()
	r := &aptRoot{dir: dir, config: filepath.Join(dir, "apt.conf"), methods: filepath.Join(dir, "methods")}
	for _, d := range []string{
		"etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "etc/apt/trusted.gpg.d",
		"var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg", "var/log/apt", "methods",
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "var/lib/dpkg/status"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/apt/sources.list"), []byte(sources+"\n"), 0o644))
	system, _ := filepath.Glob("/usr/lib/apt/methods/*")
	for _, m := range system {
		if filepath.Base(m) == "debtorrent" {
			continue // an installed copy of this method: the test uses the one just built
		}
		require.NoError(t, os.Symlink(m, filepath.Join(r.methods, filepath.Base(m))))
	}
	require.NoError(t, os.Symlink(methodBinary, filepath.Join(r.methods, "debtorrent")))
	conf := []string{
		fmt.Sprintf(`Dir "%s/";`, dir),
		fmt.Sprintf(`Dir::State "%s/var/lib/apt/";`, dir),
		fmt.Sprintf(`Dir::State::status "%s/var/lib/dpkg/status";`, dir),
		fmt.Sprintf(`Dir::Cache "%s/var/cache/apt/";`, dir),
		fmt.Sprintf(`Dir::Etc "%s/etc/apt/";`, dir),
		fmt.Sprintf(`Dir::Log "%s/var/log/apt/";`, dir),
		fmt.Sprintf(`Dir::Bin::Methods "%s/";`, r.methods),
		`APT::Sandbox::User "root";`,
		`Acquire::Languages "none";`,
		`Acquire::IndexTargets::deb::Translations::DefaultEnabled "false";`,
		`Acquire::Retries "0";`,
	}
	conf = append(conf, extraConf...)
	require.NoError(t, os.WriteFile(r.config, []byte(strings.Join(conf, "\n")+"\n"), 0o644))
	return r
}

// run runs apt-get with args in the root and returns its combined output
// and error. A deadline keeps a hung APT from hanging the test.
func (r *aptRoot) run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "APT_CONFIG="+r.config, "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// archive returns the path of a downloaded package in the root's cache.
func (r *aptRoot) archive(name string) string {
	return filepath.Join(r.dir, "var/cache/apt/archives", name)
}

// installSnippet copies the apt.conf.d snippet shipped with the method into
// the root, as the install instructions say.
func (r *aptRoot) installSnippet(t testing.TB) {
	t.Helper()
	data, err := os.ReadFile("99debtorrent.conf")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "etc/apt/apt.conf.d/99debtorrent"), data, 0o644))
}
