package smtp

import (
	"bytes"
	"strings"

	"mailproxy/internal/session"
)

// CHUNKING (RFC 3030) before login. A client that pipelines MAIL, RCPT
// and "BDAT n" with n bytes of message sends the message behind the
// command that logs it in: once the auth service accepts the RCPT (or
// AUTH), every byte after that command goes to the backend as it is
// (session.Login.Pipelined, then the splice). When the login is refused
// instead, the chunk must not be read as commands (nginx does, and a
// message could hold commands): with CHUNKING advertised, mailproxy reads
// "BDAT n [LAST]" before login, discards its n bytes and answers
// "503 5.5.1 Bad sequence of commands" (no transaction is open). Without
// CHUNKING in smtp_capabilities BDAT stays nginx's unknown command.

// maxChunk bounds a chunk size: larger numbers are refused as invalid.
const maxChunk = 1 << 40

// hasChunking reports whether smtp_capabilities advertises CHUNKING.
func hasChunking(caps []string) bool {
	for _, c := range caps {
		if f := strings.Fields(c); len(f) > 0 && strings.EqualFold(f[0], "CHUNKING") {
			return true
		}
	}
	return false
}

// bdat takes a BDAT command at the start of in, if there is one: ok is
// false when in does not start with one. Otherwise it consumes n bytes
// and its action: the command line once complete, then (as x.skip) its
// chunk.
func (x *core) bdat(in []byte) (n int, a session.Action, ok bool) {
	if len(in) < 5 || !bytes.EqualFold(in[:5], []byte("BDAT ")) {
		return 0, session.Action{}, false
	}
	i := bytes.IndexByte(in, '\n')
	if i < 0 {
		return 0, session.Action{Do: session.NeedMore}, true
	}
	args := strings.Fields(string(bytes.TrimSuffix(in[5:i], []byte("\r"))))
	size, good := chunkSize(args)
	if !good {
		return i + 1, send(replyInvalidArgument), true
	}
	x.skip = size
	n, a = x.skipChunk(in[i+1:])
	return i + 1 + n, a, true
}

// chunkSize parses BDAT's arguments: chunk-size [LAST].
func chunkSize(args []string) (int64, bool) {
	if len(args) == 0 || len(args) > 2 || len(args) == 2 && !strings.EqualFold(args[1], "LAST") || len(args[0]) > 13 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(args[0]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxChunk
}

// skipChunk discards what is left of a chunk (x.skip bytes) from in; the
// reply comes once all of it has been read.
func (x *core) skipChunk(in []byte) (int, session.Action) {
	n := int(min(int64(len(in)), x.skip))
	x.skip -= int64(n)
	if x.skip > 0 {
		return n, session.Action{Do: session.NeedMore}
	}
	return n, send(replyBadSequence)
}
