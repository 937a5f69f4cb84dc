package bench

import (
	"bytes"
	"strings"
)

// Message returns a mail message of exactly size bytes (for size ≥ 128):
// a short header, then CRLF lines of 78 bytes none of which starts with a
// dot, so it needs no dot-stuffing and every protocol carries it as is.
func Message(size int) []byte {
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString("From: <bench@bench.example>\r\nTo: <bench@bench.example>\r\nSubject: bench\r\n\r\n")
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	if rest := size - b.Len(); rest >= 3 {
		b.WriteString(strings.Repeat("y", rest-2) + "\r\n")
	} else if rest > 0 { // lengthen the last line
		b.Truncate(b.Len() - len(line))
		b.WriteString(strings.Repeat("x", len(line)-2+rest) + "\r\n")
	}
	return b.Bytes()
}
