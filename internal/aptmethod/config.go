package aptmethod

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Configuration keys the method reads from APT's "601 Configuration".
const (
	// KeyWorkers is how many URIs are fetched at once.
	KeyWorkers = "Acquire::debtorrent::Workers"
	// KeyTimeout is how many seconds a fetch may wait for the proxy's
	// headers or for its next bytes before it fails as transient.
	KeyTimeout = "Acquire::debtorrent::Timeout"
	// KeyDebug turns on debug logging to stderr.
	KeyDebug = "Debug::Acquire::debtorrent"
	// KeySandboxUser is the user a method started as root switches to.
	// APT sends it only when it wants methods sandboxed: when a target is
	// out of that user's reach it runs them unsandboxed, as root, by
	// clearing the setting, and an empty setting is not sent at all.
	KeySandboxUser = "APT::Sandbox::User"
	// KeyNoDropPrivs, when true, keeps a method's privileges (as APT's own
	// methods do).
	KeyNoDropPrivs = "Debug::NoDropPrivs"
)

// Defaults and bounds of the configuration.
const (
	DefaultWorkers = 16
	MaxWorkers     = 256
	// DefaultTimeout is generous because the proxy answers a package only
	// once it has it whole and verified, which for a large package can take
	// a while.
	DefaultTimeout = 300 * time.Second
)

// Config is the method's settings.
type Config struct {
	// Workers is how many URIs are fetched at once (1..MaxWorkers).
	Workers int
	// Timeout bounds the wait for response headers and between reads.
	Timeout time.Duration
	// Debug turns on debug logging.
	Debug bool
	// SandboxUser is the user to switch to when started as root, as APT
	// sent it; "" (APT sent none: it decided to run its methods as root) and
	// "root" mean stay.
	SandboxUser string
}

// DefaultConfig returns the settings used before APT's configuration
// arrives, and for every key it does not set.
func DefaultConfig() Config {
	return Config{Workers: DefaultWorkers, Timeout: DefaultTimeout}
}

// ConfigItems returns the "key=value" items of a "601 Configuration"
// message, decoded (APT percent-encodes both sides), with keys folded to
// lower case since APT's keys are case-insensitive. A later item overrides
// an earlier one.
func ConfigItems(m *Message) (map[string]string, error) {
	items := make(map[string]string)
	for _, raw := range m.All("Config-Item") {
		k, v, ok := strings.Cut(raw, "=")
		if !ok {
			return nil, fmt.Errorf("aptmethod: %w: Config-Item %q has no '='", ErrSyntax, truncate([]byte(raw)))
		}
		key, err := dequote(k)
		if err != nil {
			return nil, fmt.Errorf("aptmethod: Config-Item key %q: %w", truncate([]byte(k)), err)
		}
		value, err := dequote(v)
		if err != nil {
			return nil, fmt.Errorf("aptmethod: Config-Item %s: %w", key, err)
		}
		items[strings.ToLower(key)] = value
	}
	return items, nil
}

// ApplyConfiguration returns c updated by the items of a
// "601 Configuration" message. An item with a value it cannot use is an
// error naming the key, so a typo in apt.conf is not silently ignored.
func (c Config) ApplyConfiguration(m *Message) (Config, error) {
	items, err := ConfigItems(m)
	if err != nil {
		return c, err
	}
	if v, ok := items[strings.ToLower(KeyWorkers)]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxWorkers {
			return c, fmt.Errorf("aptmethod: %s=%q: want a number from 1 to %d", KeyWorkers, v, MaxWorkers)
		}
		c.Workers = n
	}
	if v, ok := items[strings.ToLower(KeyTimeout)]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 86400 {
			return c, fmt.Errorf("aptmethod: %s=%q: want seconds from 1 to 86400", KeyTimeout, v)
		}
		c.Timeout = time.Duration(n) * time.Second
	}
	if v, ok := items[strings.ToLower(KeyDebug)]; ok {
		c.Debug = parseBool(v)
	}
	// Exactly APT's decision: the user it sent, or none.
	c.SandboxUser = items[strings.ToLower(KeySandboxUser)]
	if parseBool(items[strings.ToLower(KeyNoDropPrivs)]) {
		c.SandboxUser = ""
	}
	return c, nil
}

// parseBool reads a boolean the way APT writes them.
func parseBool(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "true", "with", "on", "enable":
		return true
	}
	return false
}

// dequote undoes APT's QuoteString: "%XX" is the byte 0xXX.
func dequote(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("%w: truncated %%-escape", ErrSyntax)
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("%w: bad %%-escape %q", ErrSyntax, s[i:i+3])
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}

// unhex returns the value of a hex digit, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
