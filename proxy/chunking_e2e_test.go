package proxy_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// TestSMTPRelayChunking: under smtp_auth none with PIPELINING and
// CHUNKING, a client pipelines MAIL, RCPT and two BDAT chunks of binary
// content (CR, LF, NUL, bare dots, lines that read as commands) in one
// write; the backend (go-smtp, which takes BDAT) gets the message byte
// for byte.
func TestSMTPRelayChunking(t *testing.T) {
	be, err := mailtest.StartSMTPBackend("127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { be.Close() })
	auth := startAuth(t, okTo(be.Addr()))
	_, addrs := startProxy(t, `
mail:
  auth_http: http://AUTH/auth
servers:
  - protocol: smtp
    server_name: mx.example.com
    smtp_auth: [none]
    smtp_capabilities: [PIPELINING, CHUNKING, 8BITMIME]
    xclient: off
    listen: [127.0.0.1:0]
`, auth.addr())
	part1 := []byte("Subject: chunked\r\n\r\nbinary \x00\x01\x02\xff\r\n.\r\nQUIT\r\n\rbare CR\nbare LF\r\n")
	part2 := bytes.Repeat([]byte("MAIL FROM:<x@y>\r\n\x00.\r\n"), 500) // bigger than the client buffer
	c := dialRaw(t, addrs[0])
	c.expect("220 mx.example.com ESMTP ready\r\n")
	c.send("EHLO chunky.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n" +
		"BDAT " + strconv.Itoa(len(part1)) + "\r\n" + string(part1) +
		"BDAT " + strconv.Itoa(len(part2)) + " LAST\r\n" + string(part2) + "QUIT\r\n")
	c.expect("250-mx.example.com\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n250 2.0.0 OK\r\n")
	// The backend's replies to RCPT, both BDATs and QUIT.
	var replies []string
	for range 4 {
		c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := c.r.ReadString('\n')
		must(t, err)
		replies = append(replies, l)
	}
	if !strings.HasPrefix(replies[0], "250") || !strings.HasPrefix(replies[2], "250") || !strings.HasPrefix(replies[3], "221") {
		t.Fatalf("replies %q", replies)
	}
	msgs := be.Messages()
	want := append(append([]byte(nil), part1...), part2...)
	if len(msgs) != 1 || !bytes.Equal(msgs[0].Data, want) || msgs[0].From != "a@example.org" || msgs[0].To[0] != "b@example.com" {
		if len(msgs) == 1 {
			t.Fatalf("delivered %d bytes, want %d:\n%q", len(msgs[0].Data), len(want), msgs[0].Data[:min(200, len(msgs[0].Data))])
		}
		t.Fatalf("backend messages: %d", len(msgs))
	}
}
