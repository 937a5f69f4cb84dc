package imap

import "testing"

// BenchmarkParseCommand measures the IMAP command parser on the lines of
// a login session; allocations per op show regressions.
func BenchmarkParseCommand(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"noop", "a1 NOOP\r\n"},
		{"login-quoted", "a2 LOGIN \"alice@example.com\" \"correct horse battery staple\"\r\n"},
		{"login-literal", "a3 LOGIN {17+}\r\nalice@example.com {28+}\r\ncorrect horse battery staple\r\n"},
		{"authenticate-plain", "a4 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGNvcnJlY3QgaG9yc2U=\r\n"},
	} {
		line := []byte(bc.line)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if _, st := parseCommand(line, 2); st != parseOK {
					b.Fatalf("status %v", st)
				}
			}
		})
	}
}
