package debsource

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GPGV is a Verifier that runs gpgv(1), as APT does, against a set of
// keyrings (binary .gpg files, such as
// /usr/share/keyrings/debian-archive-keyring.gpg).
type GPGV struct {
	// Program is the gpgv binary; "" means "gpgv" from $PATH.
	Program string
	// Keyrings are the keyring files whose keys are trusted.
	Keyrings []string
}

// Verify implements Verifier. It writes message (and the detached signature)
// to a temporary directory and runs gpgv on them.
func (g GPGV) Verify(ctx context.Context, message, detachedSig []byte) error {
	if len(g.Keyrings) == 0 {
		return fmt.Errorf("gpgv: no keyrings to verify against")
	}
	prog := g.Program
	if prog == "" {
		prog = "gpgv"
	}
	dir, err := os.MkdirTemp("", "debsource-gpgv-")
	if err != nil {
		return fmt.Errorf("gpgv: %w", err)
	}
	defer os.RemoveAll(dir)
	msg := filepath.Join(dir, "message")
	if err := os.WriteFile(msg, message, 0o600); err != nil {
		return fmt.Errorf("gpgv: %w", err)
	}
	args := []string{"--quiet"}
	for _, k := range g.Keyrings {
		args = append(args, "--keyring", k)
	}
	if detachedSig != nil {
		sig := filepath.Join(dir, "message.sig")
		if err := os.WriteFile(sig, detachedSig, 0o600); err != nil {
			return fmt.Errorf("gpgv: %w", err)
		}
		args = append(args, sig, msg)
	} else {
		args = append(args, msg)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gpgv: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
