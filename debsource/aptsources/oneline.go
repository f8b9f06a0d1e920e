package aptsources

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Limits on configuration files.
const (
	// MaxFileBytes is the largest sources file read.
	MaxFileBytes = 4 << 20
	// MaxSources is the most entries one file may hold.
	MaxSources = 10_000
	maxLine    = 64 << 10
)

// ParseOneLine reads the one-line format of sources.list(5):
//
//	deb [ arch=amd64 signed-by=/usr/share/keyrings/x.gpg ] http://deb.debian.org/debian bookworm main contrib
//
// '#' starts a comment anywhere on a line. name labels the entries and errors.
func ParseOneLine(r io.Reader, name string) ([]Source, error) {
	sc := bufio.NewScanner(io.LimitReader(r, MaxFileBytes))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var out []Source
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(out) >= MaxSources {
			return nil, fmt.Errorf("aptsources: %s:%d: more than %d entries", name, lineNo, MaxSources)
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("aptsources: %s:%d: %w", name, lineNo, err)
		}
		s.File, s.Line = name, lineNo
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("aptsources: %s:%d: %w", name, lineNo+1, err)
	}
	return out, nil
}

func parseLine(line string) (Source, error) {
	s := Source{Enabled: true}
	words, err := splitWords(line)
	if err != nil {
		return s, err
	}
	typ := words[0]
	switch typ {
	case "deb", "deb-src":
		s.Types = []string{typ}
	default:
		return s, fmt.Errorf("type %q is not deb or deb-src", typ)
	}
	words = words[1:]
	if len(words) > 0 && strings.HasPrefix(words[0], "[") {
		for _, opt := range strings.Fields(strings.TrimSuffix(words[0][1:], "]")) {
			if err := parseOption(&s, opt); err != nil {
				return s, err
			}
		}
		words = words[1:]
	}
	if len(words) < 2 {
		return s, fmt.Errorf("want \"%s [options] URI suite [component...]\"", typ)
	}
	s.URIs, s.Suites = []string{words[0]}, []string{words[1]}
	s.Components = words[2:]
	flat := strings.HasSuffix(words[1], "/")
	if flat && len(s.Components) > 0 {
		return s, fmt.Errorf("suite %q ends in \"/\" (a flat repository) yet components follow", words[1])
	}
	if !flat && len(s.Components) == 0 {
		return s, fmt.Errorf("suite %q needs at least one component (or a trailing \"/\" for a flat repository)", words[1])
	}
	return s, nil
}

// splitWords splits a line on whitespace, except inside [...] (option
// lists, cdrom:[label]/ URIs) and "..." quotes, as APT's ParseQuoteWord does.
func splitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	var inBracket, inQuote bool
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"' && !inBracket:
			inQuote = !inQuote
			continue // quotes group, they are not part of the word
		case c == '[' && !inQuote:
			if inBracket {
				return nil, fmt.Errorf("nested \"[\" at column %d", i+1)
			}
			inBracket = true
		case c == ']' && !inQuote:
			if !inBracket {
				return nil, fmt.Errorf("\"]\" without \"[\" at column %d", i+1)
			}
			inBracket = false
		case (c == ' ' || c == '\t') && !inBracket && !inQuote:
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteByte(c)
	}
	if inBracket || inQuote {
		return nil, fmt.Errorf("unclosed \"[\" or quote")
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty line")
	}
	return words, nil
}

// parseOption reads one "name=value" (or "name+=value", "name-=value")
// of the bracketed option list.
func parseOption(s *Source, opt string) error {
	name, value, ok := strings.Cut(opt, "=")
	if !ok || name == "" {
		return fmt.Errorf("option %q is not name=value", opt)
	}
	name = strings.ToLower(strings.TrimRight(name, "+-"))
	if n, ok := oneLineNames[name]; ok {
		name = n
	}
	if err := applyOption(s, name, value); err != nil {
		return err
	}
	return nil
}
