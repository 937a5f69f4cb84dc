package pop3

import "testing"

// BenchmarkParseCommand measures the POP3 command parser on the lines of
// a login session; allocations per op show regressions.
func BenchmarkParseCommand(b *testing.B) {
	for _, bc := range []struct {
		name, line string
		sasl       bool
	}{
		{"noop", "NOOP\r\n", false},
		{"user", "USER alice@example.com\r\n", false},
		{"pass", "PASS correct horse battery staple\r\n", false},
		{"auth-plain", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGNvcnJlY3QgaG9yc2U=\r\n", false},
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
