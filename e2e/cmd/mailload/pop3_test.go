package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestReadDotBody feeds RETR bodies in chunks of every size and checks the
// byte count and that reading stops right after the final "." line.
func TestReadDotBody(t *testing.T) {
	long := strings.Repeat(strings.Repeat("x", 76)+"\r\n", 5000)
	for _, body := range []string{"", "a\r\n", "..stuffed\r\n.x\r\n\r\n", long} {
		for _, chunk := range []int{1, 2, 3, 4, 5, 4096, 1 << 20} {
			if len(body) > 1000 && chunk < 4096 {
				continue // byte by byte through a pipe takes seconds
			}
			client, srv := net.Pipe()
			go func() {
				data := []byte(body + ".\r\nNEXT\r\n")
				for len(data) > 0 {
					n := min(chunk, len(data))
					if _, err := srv.Write(data[:n]); err != nil {
						return
					}
					data = data[n:]
				}
			}()
			s := &session{c: client, r: bufio.NewReaderSize(client, bodyChunk), timeout: 5 * time.Second}
			b := newBodyCheck(config{expectSize: len(body)})
			if err := readDotBody(s, b); err != nil {
				t.Fatalf("body of %d bytes, chunks of %d: %v", len(body), chunk, err)
			}
			if err := b.done(); err != nil {
				t.Errorf("body of %d bytes, chunks of %d: %v", len(body), chunk, err)
			}
			if line, err := s.r.ReadString('\n'); err != nil || line != "NEXT\r\n" {
				t.Errorf("body of %d bytes, chunks of %d: next line %q, %v", len(body), chunk, line, err)
			}
			client.Close()
			srv.Close()
		}
	}
}

// TestSMTPMessage checks the size of the message -size asks for.
func TestSMTPMessage(t *testing.T) {
	for _, n := range []int{200, 1000, 1e6, 1<<20 + 1, 1<<20 + 2} {
		if m := smtpMessage(n); len(m) != n+3 || !strings.HasSuffix(string(m), "\r\n.\r\n") {
			t.Errorf("smtpMessage(%d): %d bytes, want %d then the final dot", n, len(m)-3, n)
		}
	}
}
