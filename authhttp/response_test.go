package authhttp

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// Requests the answers are judged against.
var (
	imapPlain  = &Request{Method: MethodPlain, Protocol: "imap", User: "alice", Pass: "pw", LoginAttempt: 1, ClientIP: "127.0.0.1"}
	pop3Plain  = &Request{Method: MethodPlain, Protocol: "pop3", User: "u", Pass: "p", LoginAttempt: 1, ClientIP: "127.0.0.1"}
	smtpPlain  = &Request{Method: MethodPlain, Protocol: "smtp", User: "u", Pass: "p", LoginAttempt: 1, ClientIP: "127.0.0.1", ClientHost: "[UNAVAILABLE]"}
	imapCRAM   = &Request{Method: MethodCRAMMD5, Protocol: "imap", User: "user", Pass: "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", Salt: "<1.2@x>"}
	pop3APOP   = &Request{Method: MethodAPOP, Protocol: "pop3", User: "bob", Pass: "c4c9334bac560ecc979e58001b3e22fb", Salt: "<1.2@x>"}
	imapExt    = &Request{Method: MethodExternal, Protocol: "imap", User: "ext"}
	smtpCRAM   = &Request{Method: MethodCRAMMD5, Protocol: "smtp", User: "carol", Pass: "0123456789abcdef0123456789abcdef"}
	imapWaitng = &Request{Method: MethodPlain, Protocol: "imap", User: "alice", Pass: "pw", Waiting: true}
)

const (
	statusLine = "HTTP/1.0 200 OK\r\n"
	okHeaders  = "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\n"
)

var backend = netip.MustParseAddrPort("127.0.0.1:14001")

func okResp() *Response {
	return &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001"}
}

func fail(text string) *Response { return &Response{Status: StatusFail, Text: text} }

// pad builds the 1024/1025-byte answers of the conformance cases
// auth-response-1024-bytes-accepted and -1025-bytes-rejected.
func pad(total int) string {
	head := statusLine + okHeaders + "X-Pad: "
	return head + strings.Repeat("a", total-len(head)-len("\r\n\r\n")) + "\r\n\r\n"
}

type respCase struct {
	name string
	head string
	req  *Request
	want *Response
	// errors: exactly one of these is set when want is nil
	respErr  ResponseErrorKind
	value    string
	transErr TransportErrorKind
}

func responseCases() []respCase {
	return []respCase{
		// §10.1 status line
		{name: "auth-response-status-code-ignored", head: "HTTP/1.0 500 Internal Server Error\r\n" + okHeaders + "\r\n", want: okResp()},
		{name: "200 with error header", head: statusLine + "Auth-Status: Nope\r\n\r\n", want: fail("Nope")},
		{name: "auth-response-in-pieces", head: statusLine + okHeaders + "\r\n", want: okResp()},
		{name: "auth-response-no-status-line", head: okHeaders + "\r\n", want: okResp()},
		{name: "auth-response-bare-lf", head: "HTTP/1.0 200 OK\nAuth-Status: OK\nAuth-Server: 127.0.0.1\nAuth-Port: 14001\n\n", want: okResp()},
		{name: "mixed line endings", head: "HTTP/1.0 200 OK\nAuth-Status: OK\r\nAuth-Server: 127.0.0.1\nAuth-Port: 14001\r\n\n", want: okResp()},
		{name: "auth-response-cr-in-status-line", head: "HTTP/1.0 200 OK\rX\r\n" + okHeaders + "\r\n", respErr: InvalidResponse},
		{name: "cr cr in status line", head: "HTTP/1.0 200 OK\r\r\n" + okHeaders + "\r\n", respErr: InvalidResponse},
		{name: "status line is just HTTP/", head: "HTTP/\r\n" + okHeaders + "\r\n", want: okResp()},
		{name: "status line with garbage", head: "HTTP/\x00\x01 :_ \t\r\n" + okHeaders + "\r\n", want: okResp()},
		{name: "HTTX is a header name", head: "HTTX/1.0 200 OK\r\n" + okHeaders + "\r\n", respErr: InvalidHeader},
		{name: "lowercase http is a header name", head: "http/1.0 200 OK\r\n" + okHeaders + "\r\n", respErr: InvalidHeader},
		{name: "HTTP without slash starts headers", head: "HTTP: x\r\n" + okHeaders + "\r\n", want: okResp()},
		{name: "empty answer", head: "", transErr: ClosedEarly},
		{name: "partial magic", head: "HTT", transErr: ClosedEarly},
		{name: "status line only", head: statusLine, transErr: ClosedEarly},
		{name: "status line cut after CR", head: "HTTP/1.0 200 OK\r", transErr: ClosedEarly},
		{name: "auth-response-closed-before-blank-line", head: statusLine + okHeaders, transErr: ClosedEarly},
		{name: "closed after final CR", head: statusLine + okHeaders + "\r", transErr: ClosedEarly},
		{name: "empty head right away", head: "\r\n", respErr: MissingServerOrPort},
		{name: "empty head bare LF", head: "\n", respErr: MissingServerOrPort},

		// §10.1 header syntax
		{name: "auth-response-folded-header-invalid", head: statusLine + "Auth-Status: OK\r\n continued\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidHeader},
		{name: "tab continuation invalid", head: statusLine + "Auth-Status: OK\r\n\tcontinued\r\n\r\n", respErr: InvalidHeader},
		{name: "auth-response-underscore-header-invalid", head: statusLine + "X_Bad: 1\r\nAuth-Status: OK\r\n\r\n", respErr: InvalidHeader},
		{name: "space before colon invalid", head: statusLine + "Auth-Status : OK\r\n\r\n", respErr: InvalidHeader},
		{name: "name starting with dash invalid", head: statusLine + "-X: 1\r\n" + okHeaders + "\r\n", respErr: InvalidHeader},
		{name: "name starting with colon invalid", head: statusLine + ": 1\r\n" + okHeaders + "\r\n", respErr: InvalidHeader},
		{name: "non-ascii name invalid", head: statusLine + "X\xc3\xa9: 1\r\n" + okHeaders + "\r\n", respErr: InvalidHeader},
		{name: "name starting with digit", head: statusLine + "1X-2: y\r\n" + okHeaders + "\r\n", want: okResp()},
		{name: "CR inside value invalid", head: statusLine + "Auth-Status: O\rK\r\n\r\n", respErr: InvalidHeader},
		{name: "CR after name invalid", head: statusLine + "NoColon\rX\r\n\r\n", respErr: InvalidHeader},
		{name: "CR then garbage ends nothing", head: statusLine + okHeaders + "\rX\n", respErr: InvalidHeader},
		{name: "invalid header after blank line ignored", head: statusLine + okHeaders + "\r\nX_Bad: 1\r\n", want: okResp()},
		{name: "body ignored", head: statusLine + okHeaders + "\r\n\x00\x01 body\r\n\r\n", want: okResp()},
		{name: "auth-response-line-without-colon-accepted", head: statusLine + okHeaders + "NoColon\r\n\r\n", want: okResp()},
		{name: "line without colon bare LF", head: statusLine + okHeaders + "NoColon\n\n", want: okResp()},
		{name: "Auth-Status without colon is empty failure", head: statusLine + "Auth-Status\r\n" + okHeaders[len("Auth-Status: OK\r\n"):] + "\r\n", want: fail("")},
		{name: "unknown headers ignored", head: statusLine + "Content-Type: text/html\r\nX-A:\r\n" + okHeaders + "Content-Length: 5\r\n\r\n", want: okResp()},
		{name: "auth-response-header-names-case-insensitive", head: statusLine + "auth-status: nope\r\n\r\n", want: fail("nope")},
		{name: "all names mixed case", head: "AUTH-STATUS: OK\r\nauth-server: 127.0.0.1\r\nAuTh-PoRt: 14001\r\n\r\n", want: okResp()},
		{name: "auth-response-value-trimmed", head: statusLine + "Auth-Status:    spaced text   \r\n\r\n", want: fail("spaced text")},
		{name: "no space after colon", head: "Auth-Status:OK\r\nAuth-Server:127.0.0.1\r\nAuth-Port:14001\r\n\r\n", want: okResp()},
		{name: "inner spaces and tabs kept", head: statusLine + "Auth-Status: a  b\tc\t\r\n\r\n", want: fail("a  b\tc\t")},
		{name: "leading tab is part of value", head: statusLine + "Auth-Status:\tOK\r\n" + okHeaders[len("Auth-Status: OK\r\n"):] + "\r\n", want: fail("\tOK")},
		{name: "OK with trailing spaces is OK", head: statusLine + "Auth-Status: OK   \r\nAuth-Server:  127.0.0.1 \r\nAuth-Port: 14001  \r\n\r\n", want: okResp()},
		{name: "value with only spaces is empty", head: statusLine + "Auth-Status:    \r\n\r\n", want: fail("")},

		// §10.2 Auth-Status
		{name: "auth-response-missing-auth-status-is-success", head: statusLine + "Auth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\n\r\n", want: okResp()},
		{name: "auth-response-lowercase-ok-is-failure-text", head: statusLine + "Auth-Status: ok\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\n\r\n", want: fail("ok")},
		{name: "auth-response-error-then-ok", head: statusLine + "Auth-Status: Bad one\r\n" + okHeaders + "\r\n", want: fail("Bad one")},
		{name: "ok then error", head: statusLine + okHeaders + "Auth-Status: Late\r\n\r\n", want: fail("Late")},
		{name: "last error wins", head: statusLine + "Auth-Status: First\r\nAuth-Status: Second\r\nAuth-Status: OK\r\n\r\n", want: fail("Second")},
		{name: "auth-response-empty-status-imap", head: statusLine + "Auth-Status:\r\n\r\n", want: fail("")},
		{name: "empty status pop3", head: statusLine + "Auth-Status:\r\n\r\n", req: pop3Plain, want: fail("")},
		{name: "empty status smtp is no error", head: statusLine + "Auth-Status:\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\n\r\n", req: smtpPlain, want: okResp()},
		{name: "empty status smtp without server", head: statusLine + "Auth-Status:\r\n\r\n", req: smtpPlain, respErr: MissingServerOrPort},
		{name: "smtp error then empty status cancels", head: statusLine + "Auth-Status: Bad\r\nAuth-Status:\r\n" + okHeaders[len("Auth-Status: OK\r\n"):] + "\r\n", req: smtpPlain, want: okResp()},
		{name: "imap error then empty status", head: statusLine + "Auth-Status: Bad\r\nAuth-Status:\r\n\r\n", want: fail("")},
		{name: "smtp failure", head: statusLine + "Auth-Status: Invalid login or password\r\n\r\n", req: smtpPlain, want: fail("Invalid login or password")},
		{name: "smtp failure with error code", head: statusLine + "Auth-Status: Temporary server problem, try again later\r\nAuth-Error-Code: 451 4.3.0\r\nAuth-Wait: 3\r\n\r\n", req: smtpPlain,
			want: &Response{Status: StatusFail, Text: "Temporary server problem, try again later", ErrorCode: "451 4.3.0", Wait: 3 * time.Second}},
		{name: "auth-response-error-code-ignored-imap", head: statusLine + "Auth-Status: Bad\r\nAuth-Error-Code: 451 4.3.0\r\n\r\n", want: &Response{Status: StatusFail, Text: "Bad", ErrorCode: "451 4.3.0"}},
		{name: "error code verbatim", head: statusLine + "Auth-Status: Bad\r\nAuth-Error-Code:  550 5.7.1  x \r\n\r\n", req: smtpPlain, want: &Response{Status: StatusFail, Text: "Bad", ErrorCode: "550 5.7.1  x"}},
		{name: "failure needs no server", head: statusLine + "Auth-Status: No\r\nAuth-Server: localhost\r\nAuth-Port: 0\r\n\r\n", req: imapCRAM, want: fail("No")},

		// §10.2 Auth-Wait, §10.5 WAIT
		{name: "failure with wait", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: 3\r\n\r\n", want: &Response{Status: StatusFail, Text: "Bad", Wait: 3 * time.Second}},
		{name: "auth-response-auth-wait-zero", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: 0\r\n\r\n", want: fail("Bad")},
		{name: "auth-response-invalid-auth-wait", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: x\r\n\r\n", want: fail("Bad")},
		{name: "negative wait ignored", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: -1\r\n\r\n", want: fail("Bad")},
		{name: "wait with inner space ignored", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: 1 2\r\n\r\n", want: fail("Bad")},
		{name: "empty wait ignored", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait:\r\n\r\n", want: fail("Bad")},
		{name: "invalid wait keeps earlier", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: 5\r\nAuth-Wait: x\r\n\r\n", want: &Response{Status: StatusFail, Text: "Bad", Wait: 5 * time.Second}},
		{name: "later wait wins", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: 5\r\nAuth-Wait: 007\r\n\r\n", want: &Response{Status: StatusFail, Text: "Bad", Wait: 7 * time.Second}},
		{name: "overflowing wait ignored", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: 9223372036854775808\r\n\r\n", want: fail("Bad")},
		{name: "huge wait saturates", head: statusLine + "Auth-Status: Bad\r\nAuth-Wait: 9223372036854775807\r\n\r\n", want: &Response{Status: StatusFail, Text: "Bad", Wait: math.MaxInt64}},
		{name: "WAIT", head: statusLine + "Auth-Status: WAIT\r\n\r\n", want: &Response{Status: StatusWait}},
		{name: "WAIT with delay", head: statusLine + "Auth-Status: WAIT\r\nAuth-Wait: 2\r\n\r\n", want: &Response{Status: StatusWait, Wait: 2 * time.Second}},
		{name: "WAIT then OK stays WAIT", head: statusLine + "Auth-Status: WAIT\r\n" + okHeaders + "\r\n", want: &Response{Status: StatusWait}},
		{name: "WAIT then error is failure", head: statusLine + "Auth-Status: WAIT\r\nAuth-Status: Bad\r\n\r\n", want: fail("Bad")},
		{name: "lowercase wait is failure text", head: statusLine + "Auth-Status: wait\r\n\r\n", want: fail("wait")},
		{name: "WAIT smtp", head: statusLine + "Auth-Status: WAIT\r\n\r\n", req: smtpPlain, want: &Response{Status: StatusWait}},
		{name: "waiting flag turns OK into WAIT", head: statusLine + okHeaders + "\r\n", req: imapWaitng, want: &Response{Status: StatusWait}},
		{name: "waiting flag without server", head: statusLine + "\r\n", req: imapWaitng, want: &Response{Status: StatusWait}},
		{name: "waiting flag and error", head: statusLine + "Auth-Status: No\r\n\r\n", req: imapWaitng, want: fail("No")},

		// §10.3 server and port
		{name: "auth-response-missing-port", head: statusLine + "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\n\r\n", respErr: MissingServerOrPort},
		{name: "auth-response-empty-port", head: statusLine + "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port:\r\n\r\n", respErr: MissingServerOrPort},
		{name: "missing server", head: statusLine + "Auth-Status: OK\r\nAuth-Port: 14001\r\n\r\n", respErr: MissingServerOrPort},
		{name: "empty server after good one", head: statusLine + okHeaders + "Auth-Server:   \r\n\r\n", respErr: MissingServerOrPort},
		{name: "last server wins", head: statusLine + "Auth-Server: localhost\r\n" + okHeaders + "\r\n", want: okResp()},
		{name: "auth-response-hostname-server", head: statusLine + "Auth-Status: OK\r\nAuth-Server: localhost\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidServerAddress, value: "localhost"},
		{name: "bracketed IPv6 server", head: statusLine + "Auth-Server: [::1]\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidServerAddress, value: "[::1]"},
		{name: "server with port", head: statusLine + "Auth-Server: 127.0.0.1:143\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidServerAddress, value: "127.0.0.1:143"},
		{name: "IPv6 zone rejected", head: statusLine + "Auth-Server: fe80::1%eth0\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidServerAddress, value: "fe80::1%eth0"},
		{name: "broadcast is nginx's INADDR_NONE", head: statusLine + "Auth-Server: 255.255.255.255\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidServerAddress, value: "255.255.255.255"},
		{name: "three octets rejected", head: statusLine + "Auth-Server: 10.1.2\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidServerAddress, value: "10.1.2"},
		{name: "octet over 255 rejected", head: statusLine + "Auth-Server: 10.1.2.256\r\nAuth-Port: 14001\r\n\r\n", respErr: InvalidServerAddress, value: "10.1.2.256"},
		{name: "auth-response-ipv6-server-unreachable", head: statusLine + "Auth-Status: OK\r\nAuth-Server: ::1\r\nAuth-Port: 14999\r\n\r\n",
			want: &Response{Status: StatusOK, Server: netip.MustParseAddrPort("[::1]:14999"), Upstream: "::1:14999"}},
		{name: "IPv6 full form", head: "Auth-Server: 2001:DB8:0:0:0:0:0:5\r\nAuth-Port: 143\r\n\r\n",
			want: &Response{Status: StatusOK, Server: netip.MustParseAddrPort("[2001:db8::5]:143"), Upstream: "2001:DB8:0:0:0:0:0:5:143"}},
		{name: "IPv4-mapped IPv6", head: "Auth-Server: ::ffff:192.0.2.1\r\nAuth-Port: 143\r\n\r\n",
			want: &Response{Status: StatusOK, Server: netip.AddrPortFrom(netip.AddrFrom16(netip.MustParseAddr("::ffff:192.0.2.1").As16()), 143), Upstream: "::ffff:192.0.2.1:143"}},
		{name: "IPv4 leading zeros as nginx", head: "Auth-Server: 127.000.000.001\r\nAuth-Port: 14001\r\n\r\n",
			want: &Response{Status: StatusOK, Server: backend, Upstream: "127.000.000.001:14001"}},
		{name: "auth-response-port-zero", head: statusLine + "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 0\r\n\r\n", respErr: InvalidServerPort, value: "0"},
		{name: "auth-response-port-out-of-range", head: statusLine + "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 70000\r\n\r\n", respErr: InvalidServerPort, value: "70000"},
		{name: "port 65536", head: "Auth-Server: 127.0.0.1\r\nAuth-Port: 65536\r\n\r\n", respErr: InvalidServerPort, value: "65536"},
		{name: "port 65535", head: "Auth-Server: 127.0.0.1\r\nAuth-Port: 65535\r\n\r\n", want: &Response{Status: StatusOK, Server: netip.MustParseAddrPort("127.0.0.1:65535"), Upstream: "127.0.0.1:65535"}},
		{name: "negative port", head: "Auth-Server: 127.0.0.1\r\nAuth-Port: -1\r\n\r\n", respErr: InvalidServerPort, value: "-1"},
		{name: "plus sign port", head: "Auth-Server: 127.0.0.1\r\nAuth-Port: +143\r\n\r\n", respErr: InvalidServerPort, value: "+143"},
		{name: "port with letters", head: "Auth-Server: 127.0.0.1\r\nAuth-Port: 143a\r\n\r\n", respErr: InvalidServerPort, value: "143a"},
		{name: "port with inner space", head: "Auth-Server: 127.0.0.1\r\nAuth-Port: 1 43\r\n\r\n", respErr: InvalidServerPort, value: "1 43"},
		{name: "port with leading zero", head: "Auth-Server: 127.0.0.1\r\nAuth-Port: 0143\r\n\r\n",
			want: &Response{Status: StatusOK, Server: netip.MustParseAddrPort("127.0.0.1:143"), Upstream: "127.0.0.1:0143"}},
		{name: "address checked before port", head: "Auth-Server: mail\r\nAuth-Port: 0\r\n\r\n", respErr: InvalidServerAddress, value: "mail"},

		// §10.3 password
		{name: "cram-md5 imap without Auth-Pass", head: statusLine + okHeaders + "\r\n", req: imapCRAM, respErr: MissingPassword},
		{name: "cram-md5 imap with Auth-Pass", head: statusLine + okHeaders + "Auth-Pass: secret\r\n\r\n", req: imapCRAM,
			want: &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", Pass: "secret", HasPass: true}},
		{name: "cram-md5 imap with empty Auth-Pass", head: statusLine + okHeaders + "Auth-Pass:\r\n\r\n", req: imapCRAM,
			want: &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", HasPass: true}},
		{name: "apop pop3 without Auth-Pass", head: statusLine + okHeaders + "\r\n", req: pop3APOP, respErr: MissingPassword},
		{name: "external imap without Auth-Pass", head: statusLine + okHeaders + "\r\n", req: imapExt, respErr: MissingPassword},
		{name: "cram-md5 smtp without Auth-Pass", head: statusLine + okHeaders + "\r\n", req: smtpCRAM, want: okResp()},
		{name: "plain pop3 without Auth-Pass", head: statusLine + okHeaders + "\r\n", req: pop3Plain, want: okResp()},
		{name: "password checked before address", head: statusLine + "Auth-Server: localhost\r\nAuth-Port: 143\r\n\r\n", req: imapCRAM, respErr: MissingPassword},
		{name: "port checked before password", head: statusLine + "Auth-Server: 127.0.0.1\r\n\r\n", req: imapCRAM, respErr: MissingServerOrPort},

		// §10.2 overrides
		{name: "auth-response-user-pass-override", head: statusLine + okHeaders + "Auth-User: newuser\r\nAuth-Pass: new%20pass\r\n\r\n",
			want: &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", User: "newuser", HasUser: true, Pass: "new%20pass", HasPass: true}},
		{name: "override on failure", head: statusLine + "Auth-Status: No\r\nAuth-User: other\r\n\r\n", want: &Response{Status: StatusFail, Text: "No", User: "other", HasUser: true}},
		{name: "empty user override", head: statusLine + okHeaders + "Auth-User:\r\n\r\n", want: &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", HasUser: true}},
		{name: "last user wins", head: statusLine + okHeaders + "Auth-User: a\r\nauth-user: b c \r\n\r\n", want: &Response{Status: StatusOK, Server: backend, Upstream: "127.0.0.1:14001", User: "b c", HasUser: true}},

		// §10.1 size limit
		{name: "auth-response-1024-bytes-accepted", head: pad(1024), req: pop3Plain, want: okResp()},
		{name: "auth-response-1025-bytes-rejected", head: pad(1025), req: pop3Plain, transErr: HeadTooLarge},
		{name: "auth-response-oversize-head", head: statusLine + okHeaders + "X-Pad: " + strings.Repeat("a", 1000) + "\r\n\r\n", transErr: HeadTooLarge},
		{name: "complete head then long body", head: statusLine + okHeaders + "\r\n" + strings.Repeat("b", 5000), want: okResp()},
		{name: "syntax error within limit wins", head: statusLine + "X_: 1\r\n" + strings.Repeat("a", 2000), respErr: InvalidHeader},

		// no request
		{name: "nil request is plain imap", head: statusLine + "Auth-Status:\r\n\r\n", req: nil, want: fail("")},
	}
}

func TestParseResponse(t *testing.T) {
	for _, tc := range responseCases() {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if req == nil && tc.name != "nil request is plain imap" {
				req = imapPlain
			}
			got, err := ParseResponse([]byte(tc.head), req)
			checkResult(t, tc, got, err)
		})
	}
}

func checkResult(t *testing.T, tc respCase, got *Response, err error) {
	t.Helper()
	switch {
	case tc.want != nil:
		if err != nil {
			t.Fatalf("error %v, want %+v", err, *tc.want)
		}
		if *got != *tc.want {
			t.Fatalf("got  %+v\nwant %+v", *got, *tc.want)
		}
	case tc.respErr != 0:
		var re *ResponseError
		if !errors.As(err, &re) || re.Kind != tc.respErr || re.Value != tc.value {
			t.Fatalf("got (%v, %v), want ResponseError kind %d value %q", got, err, tc.respErr, tc.value)
		}
		if got != nil {
			t.Fatalf("response %+v with error", *got)
		}
	case tc.transErr != 0:
		var te *TransportError
		if !errors.As(err, &te) || te.Kind != tc.transErr {
			t.Fatalf("got (%v, %v), want TransportError kind %d", got, err, tc.transErr)
		}
	default:
		t.Fatal("test case without expectation")
	}
}

func TestPadSizes(t *testing.T) {
	if n := len(pad(1024)); n != 1024 {
		t.Fatalf("pad(1024) is %d bytes", n)
	}
	if n := len(pad(1025)); n != 1025 {
		t.Fatalf("pad(1025) is %d bytes", n)
	}
}

// TestScanHeadPrefixes checks what Do relies on: scanning any prefix of a
// head gives "need more" or the same error as the whole head.
func TestScanHeadPrefixes(t *testing.T) {
	for _, tc := range responseCases() {
		b := []byte(tc.head)
		if len(b) > MaxHeadSize {
			b = b[:MaxHeadSize]
		}
		end, full := scanHead(b, nil)
		for k := range len(b) {
			pend, err := scanHead(b[:k], nil)
			if full == nil && k < end && err != errNeedMore {
				t.Errorf("%s: prefix %d gives (%d, %v), want need more", tc.name, k, pend, err)
			}
			if err != nil && err != errNeedMore && (full == nil || full.Error() != err.Error()) {
				t.Errorf("%s: prefix %d gives %v, whole head gives %v", tc.name, k, err, full)
			}
		}
	}
}

func TestErrorTexts(t *testing.T) {
	tests := []struct {
		err  error
		text string
		log  string
	}{
		{&ResponseError{Kind: InvalidResponse}, "sent invalid response", "auth http server 127.0.0.1:9000 sent invalid response"},
		{&ResponseError{Kind: InvalidHeader}, "sent invalid header in response", "auth http server 127.0.0.1:9000 sent invalid header in response"},
		{&ResponseError{Kind: MissingServerOrPort}, "did not send server or port", "auth http server 127.0.0.1:9000 did not send server or port"},
		{&ResponseError{Kind: MissingPassword}, "did not send password", "auth http server 127.0.0.1:9000 did not send password"},
		{&ResponseError{Kind: InvalidServerAddress, Value: "localhost"}, `sent invalid server address:"localhost"`, `auth http server 127.0.0.1:9000 sent invalid server address:"localhost"`},
		{&ResponseError{Kind: InvalidServerPort, Value: "0"}, `sent invalid server port:"0"`, `auth http server 127.0.0.1:9000 sent invalid server port:"0"`},
		{&TransportError{Kind: TimedOut}, "timed out", "auth http server 127.0.0.1:9000 timed out (110: Connection timed out)"},
		{&TransportError{Kind: ClosedEarly}, "closed the connection before the end of the response header", "auth http server 127.0.0.1:9000 closed the connection before the end of the response header"},
		{&TransportError{Kind: HeadTooLarge}, "sent a response header larger than 1024 bytes", "auth http server 127.0.0.1:9000 sent a response header larger than 1024 bytes"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.text {
			t.Errorf("Error() = %q, want %q", got, tt.text)
		}
		if got := LogMessage("127.0.0.1:9000", tt.err); got != tt.log {
			t.Errorf("LogMessage = %q, want %q", got, tt.log)
		}
	}
}

// TestHeaderVariable: freenginx's $auth_http_NAME: header names match
// lower-cased with '-' as '_', repeated headers are joined by ", ", and
// only an accepted answer to a request with KeepHeaders keeps them.
func TestHeaderVariable(t *testing.T) {
	head := statusLine + "Auth-Status: OK\r\nAuth-Server: 127.0.0.1\r\nAuth-Port: 14001\r\nX-User-Class: gold\r\nx-user-class:  silver \r\nX-User-Classes: no\r\nX-Empty:\r\n\r\nbody"
	req := *imapPlain
	req.KeepHeaders = true
	resp, err := ParseResponse([]byte(head), &req)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"x_user_class":   "gold, silver",
		"auth_port":      "14001",
		"x_empty":        "",
		"x_user":         "",
		"X_User_Class":   "",
		"x-user-class":   "",
		"auth_status":    "OK",
		"x_user_classes": "no",
	} {
		if got := resp.HeaderVariable(name); got != want {
			t.Errorf("HeaderVariable(%q) = %q, want %q", name, got, want)
		}
	}
	resp, _ = ParseResponse([]byte(head), imapPlain)
	if got := resp.HeaderVariable("x_user_class"); got != "" {
		t.Errorf("without KeepHeaders: %q", got)
	}
}
