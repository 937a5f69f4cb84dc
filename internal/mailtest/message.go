package mailtest

import (
	"strconv"
	"strings"
)

// demoSubjects are the subjects of DemoMessages, in order.
var demoSubjects = []string{
	"Welcome to mailproxy",
	"How this demo works",
	"A third message",
}

// demoBodies are the bodies of DemoMessages, in order.
var demoBodies = []string{
	"Hello!\r\n\r\nYou reached this mailbox through mailproxy, a drop-in\r\n" +
		"replacement for nginx's mail proxy module.\r\n",
	"The client talks to mailproxy. mailproxy asks the auth_http service\r\n" +
		"where the user lives, logs in to that backend, and then copies\r\n" +
		"bytes in both directions.\r\n",
	"Short and sweet.\r\n",
}

// DemoMessages returns the messages StartIMAPBackend seeds a user's INBOX
// with, in UID order (UIDs 1, 2, 3 in a fresh mailbox). Each is an RFC 5322
// message with CRLF line endings and Date, From, To, Subject and
// Message-ID headers. The result is the same for the same user, so tests
// can compare fetched bytes with it.
func DemoMessages(user string) [][]byte {
	out := make([][]byte, len(demoSubjects))
	for i, subj := range demoSubjects {
		out[i] = []byte(header(user, subj, i+1) + demoBodies[i])
	}
	return out
}

// SizedMessage returns a well-formed RFC 5322 message of exactly size bytes
// for user (or, if size is smaller, of its minimum size: the header block,
// about 300 bytes, plus one empty body line),
// with a body of deterministic pseudo-random base64-alphabet lines of at
// most 76 characters, each ending in CRLF. Equal arguments give equal
// bytes; different sizes give different content.
func SizedMessage(user string, size int) []byte {
	h := header(user, "Sized test message", 0)
	body := size - len(h)
	if body < 2 {
		body = 2
	}
	buf := make([]byte, 0, len(h)+body)
	buf = append(buf, h...)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	x := uint64(size)*0x9E3779B97F4A7C15 | 1 // xorshift64 state, never zero
	for body > 0 {
		n := min(76, body-2)
		if body-(n+2) == 1 {
			n-- // never leave a single byte, which cannot end in CRLF
		}
		for range n {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			buf = append(buf, alphabet[x%64])
		}
		buf = append(buf, '\r', '\n')
		body -= n + 2
	}
	return buf
}

// header returns the header block (with the empty line) of a sample
// message; n makes the Message-ID unique (0 gives "<sized.ADDR>").
func header(user, subject string, n int) string {
	addr := strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>[]:;@\,"`, r) {
			return '_'
		}
		return r
	}, user) + "@example.com"
	id := "sized"
	if n > 0 {
		id = strconv.Itoa(n)
	}
	return "Date: Mon, 01 Jun 2026 12:00:00 +0000\r\n" +
		"From: mailproxy demo <postmaster@example.com>\r\n" +
		"To: <" + addr + ">\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + id + "." + addr + ">\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n" +
		"\r\n"
}
