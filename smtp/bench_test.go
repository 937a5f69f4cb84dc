package smtp

import "testing"

// BenchmarkParseCommand measures the SMTP command parser on the lines of
// a submission session; allocations per op show regressions.
func BenchmarkParseCommand(b *testing.B) {
	for _, bc := range []struct {
		name, line string
		sasl       bool
	}{
		{"ehlo", "EHLO client.example.org\r\n", false},
		{"auth-plain", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGNvcnJlY3QgaG9yc2U=\r\n", false},
		{"mail-from", "MAIL FROM:<alice@example.com> SIZE=1048576\r\n", false},
		{"rcpt-to", "RCPT TO:<bob@example.org>\r\n", false},
		{"sasl-line", "AGFsaWNlQGV4YW1wbGUuY29tAGNvcnJlY3QgaG9yc2U=\r\n", true},
	} {
		line := []byte(bc.line)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if _, st := parseCommand(line, bc.sasl); st != parseOK {
					b.Fatalf("status %v", st)
				}
			}
		})
	}
}
