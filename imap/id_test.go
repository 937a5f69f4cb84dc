package imap

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailproxy/authhttp"
	"mailproxy/internal/session"
)

// TestParseID: RFC 2971's grammar, strings quoted or literal, NIL values
// and lists, RFC 2971's limits.
func TestParseID(t *testing.T) {
	f := func(kv ...string) []IDField {
		out := []IDField{}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "\x00NIL" {
				out = append(out, IDField{Name: kv[i], Nil: true})
			} else {
				out = append(out, IDField{Name: kv[i], Value: kv[i+1]})
			}
		}
		return out
	}
	cases := []struct {
		in     string
		cont   int
		st     parseStatus
		fields []IDField
	}{
		{in: "a ID NIL\r\n", st: parseOK},
		{in: "a id nil\n", st: parseOK},
		{in: "a ID ()\r\n", st: parseOK, fields: []IDField{}},
		{in: `a ID ("name" "Thunderbird" "version" "115.3.1")` + "\r\n", st: parseOK, fields: f("name", "Thunderbird", "version", "115.3.1")},
		{in: `a ID ("name" NIL "os" "")` + "\r\n", st: parseOK, fields: f("name", "\x00NIL", "os", "")},
		{in: `a ID ("x" "a\"b\\c")` + "\r\n", st: parseOK, fields: f("x", `a"b\c`)},
		{in: "a ID (\"name\" {4+}\r\nab\r\n)\r\n", st: parseOK, fields: f("name", "ab\r\n")},
		{in: "a ID ({4}\r\nname \"x\")\r\n", cont: 100, st: parseOK, fields: f("name", "x")},
		{in: "a ID ({4}\r\nname \"x\")\r\n", st: parseCont},
		{in: "a ID (\"name\" {0}\r\n)\r\n", cont: 100, st: parseOK, fields: f("name", "")},
		{in: `a ID ("name" "x"`, st: parseAgain},
		{in: "a ID NI", st: parseAgain},
		{in: "a ID", st: parseAgain},
		{in: "a ID NIL\r", st: parseAgain},
		{in: "a ID\r\n", st: parseInvalid},
		{in: "a ID NILL\r\n", st: parseInvalid},
		{in: "a ID NIL x\r\n", st: parseInvalid},
		{in: `a ID ("name")` + "\r\n", st: parseInvalid},
		{in: `a ID ("name" "x" )` + "\r\n", st: parseInvalid},
		{in: `a ID (NIL "x")` + "\r\n", st: parseInvalid},
		{in: `a ID ("" "x")` + "\r\n", st: parseInvalid},
		{in: `a ID (name "x")` + "\r\n", st: parseInvalid},
		{in: `a ID ("name" "x` + "\r\n", st: parseInvalid},
		{in: `a ID ("name" "a\x")` + "\r\n", st: parseInvalid},
		{in: `a ID ("` + strings.Repeat("n", 31) + `" "x")` + "\r\n", st: parseInvalid},
		{in: `a ID ("name" "` + strings.Repeat("v", 1025) + `")` + "\r\n", st: parseInvalid},
		{in: `a ID ("name" "` + strings.Repeat("v", 1024) + `")` + "\r\n", st: parseOK, fields: f("name", strings.Repeat("v", 1024))},
		{in: "a ID (" + strings.TrimSpace(strings.Repeat(`"n" "v" `, 31)) + ")\r\n", st: parseInvalid},
		{in: `a ID ("name" "x") extra` + "\r\n", st: parseInvalid},
	}
	for _, c := range cases {
		cmd, st := parseCommandWith([]byte(c.in), c.cont, true)
		if st != c.st || st == parseOK && (cmd.verb != "ID" || cmd.n != len(c.in) || !reflect.DeepEqual(cmd.id, c.fields)) {
			t.Errorf("%q: st %d verb %q n %d id %#v; want st %d id %#v", c.in, st, cmd.verb, cmd.n, cmd.id, c.st, c.fields)
		}
		if st == parseInvalid && cmd.lineEnd != len(c.in) {
			t.Errorf("%q: lineEnd %d", c.in, cmd.lineEnd)
		}
	}
}

func TestFormatID(t *testing.T) {
	if got := formatID(nil); got != "NIL" {
		t.Errorf("nil: %q", got)
	}
	got := formatID([]IDField{{Name: "name", Value: `a"b\c`}, {Name: "drop", Value: "a\r\nb"}, {Name: "os", Nil: true}})
	if want := `("name" "a\"b\\c" "os" NIL)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestIDCommand: ID is nginx's unknown command unless configured; then
// it is answered with imap_id's fields, listed in CAPABILITY, counted for
// max_errors only when malformed, and the client's fields reach the auth
// service with PassID, forgotten after STARTTLS.
func TestIDCommand(t *testing.T) {
	h := serve(t, Options{}, &fakeAuth{})
	h.Play("S: * OK IMAP4 ready\r\n", `C: a ID ("name" "x")`+"\r\n", "S: a BAD invalid command\r\n",
		"C: b CAPABILITY\r\n", "S: * CAPABILITY IMAP4 IMAP4rev1 UIDPLUS AUTH=PLAIN\r\n", "S: b OK completed\r\n")

	id := []IDField{{Name: "name", Value: "mailproxy"}, {Name: "support-url", Nil: true}}
	h = serve(t, Options{ID: id, MaxErrors: 2}, &fakeAuth{})
	h.Play("S: * OK IMAP4 ready\r\n",
		"C: a CAPABILITY\r\n", "S: * CAPABILITY IMAP4 IMAP4rev1 UIDPLUS ID AUTH=PLAIN\r\n", "S: a OK completed\r\n",
		`C: b ID ("name" "Thunderbird")`+"\r\n", `S: * ID ("name" "mailproxy" "support-url" NIL)`+"\r\n", "S: b OK completed\r\n",
		"C: c ID NIL\r\n", `S: * ID ("name" "mailproxy" "support-url" NIL)`+"\r\n", "S: c OK completed\r\n",
		"C: d ID (\"name\")\r\n", "S: d BAD invalid command\r\n",
		"C: e ID x\r\n", "S: e BAD invalid command\r\n")
	h.CloseWith(session.ErrClosed)

	// Listed once when imap_capabilities has it.
	h = serve(t, Options{ID: []IDField{}, Capabilities: []string{"IMAP4rev1", "id"}}, &fakeAuth{})
	h.Play("S: * OK IMAP4 ready\r\n", "C: a CAPABILITY\r\n", "S: * CAPABILITY IMAP4rev1 id AUTH=PLAIN\r\n", "S: a OK completed\r\n",
		"C: b ID NIL\r\n", "S: * ID NIL\r\n", "S: b OK completed\r\n")

	auth := &fakeAuth{Answers: []*authhttp.Response{{Status: authhttp.StatusFail, Text: "No", Wait: 10 * time.Millisecond}, ok("127.0.0.1:143")}}
	h = serve(t, Options{PassID: true}, auth)
	h.Play("S: * OK IMAP4 ready\r\n",
		`C: a ID ("name" "Thunderbird" "version" "1 2")`+"\r\n", "S: * ID NIL\r\n", "S: a OK completed\r\n",
		"C: b LOGIN u p\r\n", "S: b NO No\r\n",
		"C: c ID NIL\r\n", "S: * ID NIL\r\n", "S: c OK completed\r\n",
		"C: d LOGIN u p\r\n")
	h.Login()
	if q := auth.Requests(); q[0].IMAPID != `("name" "Thunderbird" "version" "1 2")` || q[1].IMAPID != "" {
		t.Fatalf("Client-IMAP-ID %q then %q", q[0].IMAPID, q[1].IMAPID)
	}

	upgraded := make(chan struct{})
	h = serve(t, Options{PassID: true, StartTLS: session.StartTLSOn}, &fakeAuth{}, func(sc *session.Conn) {
		sc.StartTLS = func(time.Time) error { close(upgraded); return errors.New("no TLS here") }
	})
	h.Play("S: * OK IMAP4 ready\r\n", `C: a ID ("name" "x")`+"\r\n", "S: * ID NIL\r\n", "S: a OK completed\r\n",
		"C: b STARTTLS\r\n", "S: b OK completed\r\n")
	<-upgraded
	h.Ended(nil)
}

// TestIDForgottenAfterSTARTTLS looks at the core directly: the ID a
// client gave in plaintext does not survive STARTTLS.
func TestIDForgottenAfterSTARTTLS(t *testing.T) {
	x := &core{s: NewServer(Options{PassID: true, StartTLS: session.StartTLSOn, MaxErrors: 5}), c: &session.Conn{}}
	x.Next([]byte(`a ID ("name" "x")` + "\r\n"))
	if x.id == nil {
		t.Fatal("ID not kept")
	}
	if _, a := x.Next([]byte("b STARTTLS\r\n")); a.Do != session.UpgradeTLS || x.id != nil {
		t.Fatalf("after STARTTLS: %+v, id %v", a, x.id)
	}
}

// TestForwardID: the client's fields but its x- ones, then the
// forwarded address, under Dovecot's names.
func TestForwardID(t *testing.T) {
	c := &session.Conn{
		Client:    netip.MustParseAddrPort("192.0.2.7:51234"),
		Local:     netip.MustParseAddrPort("[2001:db8::1]:143"),
		SessionID: "c2Vzc2lvbg",
	}
	client := []IDField{{Name: "name", Value: "Thunderbird"}, {Name: "X-Originating-IP", Value: "10.0.0.1"}, {Name: "os", Nil: true}}
	got := forwardID(client, c)
	want := `("name" "Thunderbird" "os" NIL "x-originating-ip" "192.0.2.7" "x-originating-port" "51234" "x-connected-ip" "2001:db8::1" "x-connected-port" "143" "x-session-id" "c2Vzc2lvbg")`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var many []IDField
	for range 30 {
		many = append(many, IDField{Name: "n", Value: "v"})
	}
	if n := strings.Count(forwardID(many, c), `"n" "v"`); n != 25 {
		t.Fatalf("%d client fields forwarded, want 25", n)
	}
}
