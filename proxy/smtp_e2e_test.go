package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailproxy/internal/mailtest"
)

const smtpYAML = `
mail:
  auth_http: http://AUTH/auth
  ssl_certificate: CERT
  ssl_certificate_key: KEY
servers:
  - protocol: smtp
    server_name: mx.example.com
    starttls: on
    smtp_auth: [plain, login, none]
    smtp_capabilities: [PIPELINING, "SIZE 10485760", 8BITMIME]
    XCLIENT_SETTING
    listen:
      - 127.0.0.1:0
      - {address: "127.0.0.1:0", ssl: true}
`

// TestSMTPSubmissionThroughXCLIENT sends a 1 MiB message with go-smtp's
// client over plain, STARTTLS and implicit TLS with AUTH PLAIN and LOGIN,
// and checks the message and the exact XCLIENT line the backend received.
func TestSMTPSubmissionThroughXCLIENT(t *testing.T) {
	be, err := mailtest.StartXCLIENTBackend("127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { be.Close() })
	auth := startAuth(t, okTo(be.Addr()))
	_, addrs := startProxy(t, strings.Replace(smtpYAML, "XCLIENT_SETTING", "xclient: on", 1), auth.addr())
	msg := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz.\r\n"), 1<<20/39)
	msg = append([]byte("Subject: test\r\n\r\n"), msg...)
	tlsCfg := &tls.Config{InsecureSkipVerify: true}

	dials := map[string]func() (*gosmtp.Client, error){
		"plain":    func() (*gosmtp.Client, error) { return gosmtp.Dial(addrs[0]) },
		"starttls": func() (*gosmtp.Client, error) { return gosmtp.DialStartTLS(addrs[0], tlsCfg) },
		"implicit": func() (*gosmtp.Client, error) { return gosmtp.DialTLS(addrs[1], tlsCfg) },
	}
	sent := 0
	for name, dial := range dials {
		for _, mech := range []string{"plain", "login"} {
			t.Run(name+"-"+mech, func(t *testing.T) {
				c, err := dial()
				must(t, err)
				defer c.Close()
				must(t, c.Hello("client.example.org"))
				if mech == "plain" {
					must(t, c.Auth(sasl.NewPlainClient("", "carol", "secret")))
				} else {
					must(t, c.Auth(sasl.NewLoginClient("carol", "secret")))
				}
				must(t, c.SendMail("carol@example.com", []string{"dave@example.net"}, bytes.NewReader(msg)))
				must(t, c.Quit())
				sent++
			})
		}
	}
	msgs := be.Messages()
	if len(msgs) != sent {
		t.Fatalf("backend got %d messages, want %d", len(msgs), sent)
	}
	for _, m := range msgs {
		if sha256.Sum256(m.Data) != sha256.Sum256(msg) || m.From != "carol@example.com" || len(m.To) != 1 {
			t.Fatalf("message changed: from %q to %v, %d bytes", m.From, m.To, len(m.Data))
		}
		if m.XCLIENT != "XCLIENT ADDR=127.0.0.1 LOGIN=carol NAME=[UNAVAILABLE]\r\n" {
			t.Fatalf("XCLIENT line %q", m.XCLIENT)
		}
		if m.Helo != "client.example.org" {
			t.Fatalf("replayed HELO name %q", m.Helo)
		}
	}
}

// TestSMTPRelayWithoutAuth: under smtp_auth none, MAIL and RCPT reach the
// auth service as Auth-SMTP-* and are replayed to the backend (go-smtp,
// xclient off); the message is delivered.
func TestSMTPRelayWithoutAuth(t *testing.T) {
	be, err := mailtest.StartSMTPBackend("127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { be.Close() })
	auth := startAuth(t, okTo(be.Addr()))
	_, addrs := startProxy(t, strings.Replace(smtpYAML, "XCLIENT_SETTING", "xclient: off", 1), auth.addr())
	c, err := gosmtp.Dial(addrs[0])
	must(t, err)
	defer c.Close()
	must(t, c.Hello("relay.example.org"))
	msg := []byte("Subject: relayed\r\n\r\nhello\r\n")
	must(t, c.SendMail("a@example.org", []string{"b@example.com"}, bytes.NewReader(msg)))
	must(t, c.Quit())
	msgs := be.Messages()
	if len(msgs) != 1 || !bytes.Equal(msgs[0].Data, msg) || msgs[0].From != "a@example.org" {
		t.Fatalf("backend messages: %+v", msgs)
	}
	req := auth.requests()[0]
	for _, want := range []string{"Auth-Method: none\r\n", "Auth-User: \r\nAuth-Pass: \r\n", "Client-Host: [UNAVAILABLE]\r\n",
		"Auth-SMTP-Helo: relay.example.org\r\n", "Auth-SMTP-From: MAIL FROM:<a@example.org>", "Auth-SMTP-To: RCPT TO:<b@example.com>"} {
		if !strings.Contains(req, want) {
			t.Errorf("auth request lacks %q:\n%s", want, req)
		}
	}
}
