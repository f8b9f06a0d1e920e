package debsource

import (
	"fmt"
	"strings"
	"time"
)

// releaseTimeLayouts are the RFC 1123 variants Debian and Ubuntu archives
// write in Date and Valid-Until (APT accepts the same family).
var releaseTimeLayouts = []string{
	"Mon, 02 Jan 2006 15:04:05 -0700", // numeric zones first: "MST" would also take "+0000"
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 02 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"02 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 MST",
}

// ParseReleaseTime parses a Release file's Date or Valid-Until. Named zones
// other than UTC and GMT are refused, as APT does: an abbreviation such as
// "EST" would otherwise be read as UTC with a made-up name.
func ParseReleaseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range releaseTimeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if strings.HasSuffix(layout, "MST") {
			if zone, _ := t.Zone(); zone != "UTC" && zone != "GMT" {
				return time.Time{}, fmt.Errorf("time %q: zone %q is not UTC or GMT", s, zone)
			}
		}
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 1123 form such as \"Sat, 10 Jun 2023 08:50:25 UTC\"", s)
}
