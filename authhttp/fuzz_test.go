package authhttp

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseResponse(f *testing.F) {
	for _, tc := range responseCases() {
		f.Add([]byte(tc.head), "imap", MethodPlain, false)
	}
	f.Add([]byte(statusLine+"Auth-Status:\r\n\r\n"), "smtp", MethodNone, false)
	f.Add([]byte(okAnswer), "pop3", MethodAPOP, true)
	f.Add([]byte(statusLine+"Auth-Status: No\r\nAuth-Error-SASL: e30=\r\nAuth-Wait: 1\r\n\r\n"), "imap", MethodXOAUTH2, false)
	f.Add([]byte(statusLine+okHeaders+"Auth-Backend-Method: oauthbearer\r\n\r\n"), "smtp", MethodOAuthBearer, false)
	// Headers beyond nginx; an odd-length head also allows host names.
	f.Add([]byte(statusLine+okHeaders+"Auth-SSL-Backend: starttls\r\nAuth-SSL-Backend-Name: imap.example\r\nAuth-Cache-TTL: 30\r\n\r\n"), "imap", MethodPlain, false)
	f.Add([]byte(statusLine+"Auth-Status: OK\r\nAuth-Server: imap1.example\r\nAuth-Port: 143\r\nAuth-SSL-Backend: on\r\n\r\n "), "imap", MethodPlain, false)
	f.Fuzz(func(t *testing.T, head []byte, proto, method string, waiting bool) {
		// Host names in Auth-Server are allowed for odd lengths, so both
		// parsers are fuzzed without changing the corpus's signature.
		r := &Request{Protocol: proto, Method: method, Waiting: waiting, ServerNames: len(head)%2 == 1}
		resp, err := ParseResponse(head, r)
		if (resp == nil) == (err == nil) {
			t.Fatalf("response %v with error %v", resp, err)
		}
		var re *ResponseError
		var te *TransportError
		if err != nil && !errors.As(err, &re) && !errors.As(err, &te) {
			t.Fatalf("untyped error %T %v", err, err)
		}
		if err == nil {
			checkInvariants(t, resp, waiting)
		}

		// What Do relies on: a prefix is never judged differently.
		b := head[:min(len(head), MaxHeadSize)]
		end, full := scanHead(b, nil)
		step := max(1, len(b)/32) // keeps inputs fast; TestScanHeadPrefixes tries every prefix
		for k := 0; k < len(b); k += step {
			pend, perr := scanHead(b[:k], nil)
			switch {
			case perr == errNeedMore:
			case perr == nil:
				if full != nil || pend != end {
					t.Fatalf("prefix %d complete at %d, whole head (%d, %v)", k, pend, end, full)
				}
			case full == nil || perr.Error() != full.Error():
				t.Fatalf("prefix %d gives %v, whole head %v", k, perr, full)
			}
		}
		if full == nil {
			// Bytes after the head never matter.
			again, err2 := ParseResponse(append(b[:end:end], "garbage\x00"...), r)
			if (err == nil) != (err2 == nil) || (err == nil && *again != *resp) {
				t.Fatalf("trailing bytes changed the result: %v/%v vs %v/%v", resp, err, again, err2)
			}
		}
	})
}

func checkInvariants(t *testing.T, resp *Response, waiting bool) {
	t.Helper()
	switch resp.Status {
	case StatusOK:
		port := resp.Server.Port()
		if resp.Host != "" {
			// A host name: no address, a valid name, its own port.
			if resp.Server.IsValid() || !validHostname(resp.Host) || strings.ContainsAny(resp.Host, "\r\n :") {
				t.Fatalf("bad host %+v", *resp)
			}
			port = resp.Port
		} else if !resp.Server.IsValid() || resp.Port != 0 {
			t.Fatalf("bad OK %+v", *resp)
		}
		if waiting || port == 0 {
			t.Fatalf("bad OK %+v", *resp)
		}
		i := strings.LastIndexByte(resp.Upstream, ':')
		up, err := strconv.ParseUint(strings.TrimLeft(resp.Upstream[i+1:], "0"), 10, 16)
		if i < 1 || err != nil || uint16(up) != port {
			t.Fatalf("upstream %q for %v", resp.Upstream, resp.Server)
		}
		switch resp.SSLBackend {
		case "", "on", "off", "starttls":
		default:
			t.Fatalf("Auth-SSL-Backend %q", resp.SSLBackend)
		}
		if resp.SSLBackendName != "" && !validHostname(resp.SSLBackendName) {
			t.Fatalf("Auth-SSL-Backend-Name %q", resp.SSLBackendName)
		}
	case StatusFail, StatusWait:
		if resp.Server.IsValid() || resp.Upstream != "" {
			t.Fatalf("backend on %+v", *resp)
		}
	default:
		t.Fatalf("status %d", resp.Status)
	}
	if resp.BackendMethod != "" && (resp.Status != StatusOK || resp.BackendMethod != MethodXOAUTH2 && resp.BackendMethod != MethodOAuthBearer) {
		t.Fatalf("backend method %q on %+v", resp.BackendMethod, *resp)
	}
	for _, s := range []string{resp.Text, resp.ErrorCode, resp.User, resp.Pass, resp.ErrorSASL} {
		if strings.ContainsAny(s, "\r\n") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
			t.Fatalf("value %q not trimmed to one line", s)
		}
	}
	if resp.Wait < 0 {
		t.Fatalf("negative wait %v", resp.Wait)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "alice", "john doe", "p%ss", "a\tb", "\xc3\xbc", "\x00\x1f\x20\x7f\xff", "%%%", "+&=:\"'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendEscape([]byte("x"), s)
		if out[0] != 'x' {
			t.Fatal("prefix lost")
		}
		out = out[1:]
		if Escape(s) != string(out) {
			t.Fatalf("Escape and AppendEscape differ for %q", s)
		}
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] == '%' {
				n++
			}
		}
		if len(out) != len(s)+2*n {
			t.Fatalf("escaped %q to %q", s, out)
		}
		if n == 0 && string(out) != s {
			t.Fatalf("changed %q to %q", s, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' {
				t.Fatalf("control byte left in %q", out)
			}
		}
		if got := unescape(t, out); got != s {
			t.Fatalf("unescape(%q) = %q, want %q", out, got, s)
		}
	})
}

// unescape decodes %XX (upper-case hex only, as AppendEscape writes).
func unescape(t *testing.T, b []byte) string {
	var out bytes.Buffer
	for i := 0; i < len(b); i++ {
		if b[i] != '%' {
			out.WriteByte(b[i])
			continue
		}
		if i+2 >= len(b) {
			t.Fatalf("truncated escape in %q", b)
		}
		hex := string(b[i+1 : i+3])
		if strings.ToUpper(hex) != hex {
			t.Fatalf("lower-case hex in %q", b)
		}
		v, err := strconv.ParseUint(hex, 16, 8)
		if err != nil {
			t.Fatalf("bad escape in %q", b)
		}
		out.WriteByte(byte(v))
		i += 2
	}
	return out.String()
}

// FuzzParseURL checks that ParseURL never panics, refuses with a
// *URLError naming the input, and that an accepted URL gives a request
// line without white space or control bytes and a target to dial.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9000/auth", "http://[::1]/x", "HTTP://[::1]/x", "unix:/s:/a", "auth.internal?x", "[::1", "::1:80", "ftp://x", "1..2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseURL(raw)
		if err != nil {
			var ue *URLError
			if !errors.As(err, &ue) || ue.URL != raw || ue.Reason == "" || u != (URL{}) {
				t.Fatalf("ParseURL(%q) = %+v, %v", raw, u, err)
			}
			return
		}
		if u.String() != raw || u.Host() == "" || u.URI() == "" {
			t.Fatalf("ParseURL(%q) = %+v", raw, u)
		}
		for _, s := range []string{u.Host(), u.URI()} {
			for i := 0; i < len(s); i++ {
				if s[i] <= ' ' || s[i] == 0x7f {
					t.Fatalf("ParseURL(%q): %q holds a control byte", raw, s)
				}
			}
		}
		tg, err := u.resolve(fakeLookup)
		if errors.As(err, new(*URLError)) {
			return // a name fakeLookup does not know
		}
		if err != nil || tg.network != u.Network() || tg.address == "" || tg.host != u.Host() || tg.uri != u.URI() {
			t.Fatalf("resolve(%q) = %+v, %v", raw, tg, err)
		}
	})
}
