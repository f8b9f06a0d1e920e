package debsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// Clearsigned is an OpenPGP clearsigned message (RFC 4880 §7) split into its
// parts. debsource does not check signatures: hand Raw to a Verifier (gpgv, as
// APT does) before trusting Body.
type Clearsigned struct {
	// Raw is the whole clearsigned file, what gpgv verifies.
	Raw []byte
	// Hashes lists the "Hash:" armor header values (e.g. "SHA256").
	Hashes []string
	// Body is the signed text with dash-escapes removed, each line ending in
	// "\n". (The signature covers it without its final line break and with
	// CRLF line ends; a Verifier works from Raw and need not care.)
	Body []byte
	// Signature is the armored signature block, from its BEGIN line to its
	// END line inclusive.
	Signature []byte
}

const (
	beginSigned    = "-----BEGIN PGP SIGNED MESSAGE-----"
	beginSignature = "-----BEGIN PGP SIGNATURE-----"
	endSignature   = "-----END PGP SIGNATURE-----"
)

// ErrNotClearsigned is wrapped by errors that report a file that is not a
// well-formed clearsigned message.
var ErrNotClearsigned = errors.New("debsource: not a clearsigned message")

// ParseClearsigned splits a clearsigned message. Like APT it is strict: only
// blank lines may come before the BEGIN line or after the END line (text
// there would be unsigned yet look signed), exactly one message, armor headers
// limited to "Hash:", and every body line starting with '-' must be
// dash-escaped.
func ParseClearsigned(raw []byte) (*Clearsigned, error) {
	if len(raw) > MaxReleaseBytes+MaxSignatureBytes {
		return nil, fmt.Errorf("%w: %d bytes, larger than the %d an InRelease may take", ErrNotClearsigned, len(raw), MaxReleaseBytes+MaxSignatureBytes)
	}
	cs := &Clearsigned{Raw: raw}
	lines := splitLines(raw)
	i := 0
	for i < len(lines) && isBlank(lines[i]) {
		i++
	}
	if i == len(lines) || string(trimEOL(lines[i])) != beginSigned {
		return nil, fmt.Errorf("%w: no %q line at the start", ErrNotClearsigned, beginSigned)
	}
	i++
	// Armor headers up to the first blank line.
	for ; ; i++ {
		if i == len(lines) {
			return nil, fmt.Errorf("%w: armor headers never end", ErrNotClearsigned)
		}
		h := trimEOL(lines[i])
		if isBlank(h) {
			i++
			break
		}
		v, ok := bytes.CutPrefix(h, []byte("Hash:"))
		if !ok {
			return nil, fmt.Errorf("%w: line %d: armor header %q is not \"Hash:\"", ErrNotClearsigned, i+1, clipBytes(h))
		}
		for _, alg := range bytes.Split(v, []byte(",")) {
			if a := bytes.TrimSpace(alg); len(a) > 0 {
				cs.Hashes = append(cs.Hashes, string(a))
			}
		}
	}
	// The dash-escaped body, up to the signature.
	body := make([]byte, 0, len(raw))
	for ; ; i++ {
		if i == len(lines) {
			return nil, fmt.Errorf("%w: no %q line", ErrNotClearsigned, beginSignature)
		}
		l := trimEOL(lines[i])
		if len(l) > 0 && l[0] == '-' {
			if string(l) == beginSignature {
				break
			}
			unescaped, ok := bytes.CutPrefix(l, []byte("- "))
			if !ok {
				return nil, fmt.Errorf("%w: line %d starts with '-' but is not dash-escaped", ErrNotClearsigned, i+1)
			}
			l = unescaped
		}
		body = append(body, l...)
		body = append(body, '\n')
	}
	sigStart := i
	for i++; ; i++ {
		if i == len(lines) {
			return nil, fmt.Errorf("%w: no %q line", ErrNotClearsigned, endSignature)
		}
		l := trimEOL(lines[i])
		if bytes.HasPrefix(l, []byte("-----")) {
			if string(l) != endSignature {
				return nil, fmt.Errorf("%w: line %d: %q inside the signature block", ErrNotClearsigned, i+1, clipBytes(l))
			}
			break
		}
	}
	var sig []byte
	for _, l := range lines[sigStart : i+1] {
		sig = append(sig, l...)
	}
	for _, l := range lines[i+1:] {
		if !isBlank(l) {
			return nil, fmt.Errorf("%w: text after %q", ErrNotClearsigned, endSignature)
		}
	}
	if len(cs.Hashes) == 0 {
		cs.Hashes = []string{"MD5"} // RFC 4880's default when no Hash header is given
	}
	cs.Body, cs.Signature = body, sig
	return cs, nil
}

// splitLines cuts b after every '\n', keeping the line ends.
func splitLines(b []byte) [][]byte {
	var lines [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lines = append(lines, b)
			break
		}
		lines = append(lines, b[:i+1])
		b = b[i+1:]
	}
	return lines
}

// trimEOL removes the line end and trailing spaces and tabs, which RFC 4880
// excludes from the signed text.
func trimEOL(l []byte) []byte { return bytes.TrimRight(l, " \t\r\n") }

func isBlank(l []byte) bool { return len(trimEOL(l)) == 0 }

// Verifier checks an archive signature, typically by running gpgv against
// the keyrings APT trusts for that source.
type Verifier interface {
	// Verify checks message. For an InRelease, message is the whole
	// clearsigned file and detachedSig is nil; for a Release, detachedSig is
	// the content of Release.gpg. It returns nil only for a good signature
	// by a trusted key.
	Verify(ctx context.Context, message, detachedSig []byte) error
}

// ParseInRelease splits a clearsigned InRelease, checks its signature with v
// when v is not nil, and parses the signed body. With a nil Verifier the
// result is unverified: callers that do not verify must have another reason
// to trust the file (APT verified it, or the hashes are checked elsewhere).
func ParseInRelease(ctx context.Context, raw []byte, v Verifier) (*Release, *Clearsigned, error) {
	cs, err := ParseClearsigned(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("debsource: InRelease: %w", err)
	}
	if v != nil {
		if err := v.Verify(ctx, raw, nil); err != nil {
			return nil, nil, fmt.Errorf("debsource: InRelease: signature: %w", err)
		}
	}
	rel, err := ParseRelease(bytes.NewReader(cs.Body))
	if err != nil {
		return nil, nil, fmt.Errorf("debsource: InRelease: %w", err)
	}
	return rel, cs, nil
}
