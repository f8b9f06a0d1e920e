package aptsources

import (
	"fmt"
	"strings"
)

// oneLineNames maps the one-line format's option names to their deb822
// names (sources.list(5)).
var oneLineNames = map[string]string{
	"arch":    "architectures",
	"lang":    "languages",
	"target":  "targets",
	"by-hash": "by-hash",
}

// applyOption records one option (deb822 name, lower case) on s.
func applyOption(s *Source, name, value string) error {
	if s.Options == nil {
		s.Options = make(map[string]string)
	}
	s.Options[name] = value
	switch name {
	case "architectures":
		s.Architectures = splitList(value)
	case "trusted":
		b, err := parseBool(value)
		if err != nil {
			return fmt.Errorf("option trusted: %w", err)
		}
		s.Trusted = b
	case "enabled":
		b, err := parseBool(value)
		if err != nil {
			return fmt.Errorf("option Enabled: %w", err)
		}
		s.Enabled = b
	case "signed-by":
		if strings.Contains(value, "-----BEGIN") {
			s.SignedByKey = inlineKey(value)
		} else {
			s.SignedBy = splitList(value)
		}
	}
	return nil
}

// splitList splits a value on commas and whitespace, as APT does for
// arch=amd64,arm64 and "Architectures: amd64 arm64".
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "with", "on", "enable":
		return true, nil
	case "no", "false", "without", "off", "disable":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", v)
}

// inlineKey turns a deb822 multi-line Signed-By value back into an armored
// key block: continuation lines lose their indentation and " ." becomes an
// empty line.
func inlineKey(v string) string {
	lines := strings.Split(v, "\n")
	var b strings.Builder
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if i == 0 && l == "" {
			continue
		}
		if l == "." {
			l = ""
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
