package pipeline

import (
	"bytes"
	"strings"
)

func stringReader(s string) *strings.Reader { return strings.NewReader(s) }
func byteReader(b []byte) *bytes.Reader     { return bytes.NewReader(b) }
