package smtp

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// chunk is a BDAT chunk as clients pipeline it: binary content with CR,
// LF, NUL, a lone dot and text that reads like commands.
const chunk = "Subject: x\r\n\r\n\x00\x01\xff\r.\r\nQUIT\r\nRSET\n\r\n.\r\nend"

var relayOpts = Options{Auth: []string{"none"}, Capabilities: []string{"PIPELINING", "CHUNKING", "8BITMIME"}}

// TestBDATPipelinedAfterRCPT: everything after the RCPT that logs in goes
// to the backend as it is, the chunk's binary bytes included.
func TestBDATPipelinedAfterRCPT(t *testing.T) {
	for _, opts := range []Options{relayOpts, {Auth: []string{"none"}}} {
		auth := &fakeAuth{Answers: []*authhttp.Response{ok("127.0.0.1:25")}}
		h := serve(t, opts, auth)
		bdat := "BDAT " + strconv.Itoa(len(chunk)) + " LAST\r\n" + chunk + "QUIT\r\n"
		h.Play(greeting, "C: EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"+bdat)
		for !strings.HasPrefix(h.Line(), "250 ") { // the EHLO reply
		}
		h.Play("S: 250 2.0.0 OK\r\n")
		l := loginOf(t, h)
		if string(l.Pipelined) != bdat || l.RcptTo != "RCPT TO:<c@d>" {
			t.Fatalf("pipelined %q, rcpt %q", l.Pipelined, l.RcptTo)
		}
	}
}

// TestBDATAfterRefusal: with CHUNKING advertised, a chunk pipelined after
// a refused RCPT is discarded whole (its text never runs as commands),
// whether it arrives at once or in pieces, and answered 503; without
// CHUNKING, BDAT is nginx's unknown command.
func TestBDATAfterRefusal(t *testing.T) {
	auth := &fakeAuth{Answers: []*authhttp.Response{fail("Relaying denied", "550 5.7.1", 50*time.Millisecond)}}
	h := serve(t, relayOpts, auth)
	h.Play(greeting, "C: EHLO c\r\n", "S: 250-mx.example.com\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n",
		"C: MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT "+strconv.Itoa(len(chunk))+" LAST\r\n"+chunk[:20],
		"S: 250 2.0.0 OK\r\n", "S: 550 5.7.1 Relaying denied\r\n")
	h.Silent(100 * time.Millisecond)
	h.Play("C: "+chunk[20:], "S: 503 5.5.1 Bad sequence of commands\r\n",
		"C: BDAT 0 LAST\r\nNOOP\r\n", "S: 503 5.5.1 Bad sequence of commands\r\n", "S: 250 2.0.0 OK\r\n",
		"C: BDAT 12x\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: BDAT 1 FIRST\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: BDAT 99999999999999\r\n", "S: 501 5.5.4 Invalid argument\r\n",
		"C: QUIT\r\n", "S: 221 2.0.0 Bye\r\n")
	h.CloseWith(session.ErrClosed)
	if n := len(auth.Requests()); n != 1 {
		t.Fatalf("%d auth requests: the chunk ran as commands", n)
	}

	h = serve(t, Options{Auth: []string{"none"}, MaxErrors: 10}, &fakeAuth{})
	h.Play(greeting, "C: BDAT 6\r\n", "S: 500 5.5.1 Invalid command\r\n", "C: QUIT\r\n", "S: 221 2.0.0 Bye\r\n")
}
