package config

import (
	stdtls "crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	mailtls "mailproxy/tls"
)

// FuzzParse checks that Parse never panics and always returns exactly one
// of a config that keeps the package's promises or an *Error with
// positioned problems. Certificate loading is stubbed: fuzzed paths must
// not touch the file system.
func FuzzParse(f *testing.F) {
	old := newTLSLoader
	newTLSLoader = func() tlsLoader { return stubLoader{} }
	f.Cleanup(func() { newTLSLoader = old })

	f.Add([]byte(y(
		"mail:",
		"  auth_http: http://127.0.0.1:9000/auth",
		"  auth_http_header: {X-Auth-Key: shared-secret}",
		"  ssl_certificate: /etc/mailproxy/cert.pem",
		"  ssl_certificate_key: /etc/mailproxy/key.pem",
		"servers:",
		"  - protocol: imap",
		"    starttls: on",
		"    imap_auth: [plain, login, cram-md5]",
		"    listen:",
		"      - 0.0.0.0:143",
		`      - {address: "0.0.0.0:993", ssl: true}`,
		`      - {address: "127.0.0.1:10143", proxy_protocol: true}`,
		"    set_real_ip_from: [127.0.0.1/32]",
	)))
	f.Add([]byte(srv("    timeout: 1h30m", "    proxy_buffer: 4k", "    imap_capabilities: [IMAP4rev1]")))
	f.Add([]byte(y("mail: &m {auth_http: a, timeout: 5}", "servers:", "  - listen: [110, \"[::1]:995 ssl\"]", "    ssl_certificate: [bad, x]", "    ssl_certificate_key: [k]")))
	f.Add([]byte("servers:\n  - <<: *x\n"))
	f.Add([]byte(""))
	f.Add([]byte("- [a, {b: c}]\n---\nx: 1\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", cfg, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T without problems: %v", err, err)
			}
			for _, p := range e.Problems {
				if p.File != "fuzz.yaml" || p.Line < 0 || p.Msg == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			return
		}
		if len(cfg.Servers) == 0 {
			t.Fatal("config without servers")
		}
		for _, s := range cfg.Servers {
			switch {
			case len(s.Listen) == 0:
				t.Fatal("server without listen")
			case s.Protocol != "imap" && s.Protocol != "pop3" && s.Protocol != "smtp":
				t.Fatalf("protocol %q", s.Protocol)
			case s.AuthHTTP.Network() == "" || s.AuthHTTP.URI() == "" || s.AuthHTTP.Host() == "":
				t.Fatalf("auth_http not parsed: %+v", s)
			case s.Timeout <= 0 || s.AuthHTTPTimeout <= 0 || s.ProxyTimeout <= 0:
				t.Fatal("non-positive timeout")
			case s.ProxyBuffer <= 0 || s.IMAPClientBuffer <= 0:
				t.Fatal("non-positive buffer")
			case s.NeedsTLS() && len(s.SSLCertificate) == 0:
				t.Fatal("TLS without certificate")
			case len(s.SSLCertificate) != len(s.SSLCertificateKey):
				t.Fatal("certificate and key counts differ")
			case len(s.IMAPAuth) == 0 || len(s.SSLProtocols) == 0 || s.ServerName == "":
				t.Fatalf("missing default: %+v", s)
			}
		}
	})
}

// stubLoader loads no file: every pair loads unless its certificate path
// contains "bad", every other file loads, and the TLS settings are empty.
type stubLoader struct{}

func (stubLoader) PasswordFile(string) ([]string, error) { return nil, nil }

func (stubLoader) KeyPair(cert, _ string, _ []string) (stdtls.Certificate, error) {
	if strings.Contains(cert, "bad") {
		return stdtls.Certificate{}, errors.New("bad pair")
	}
	return stdtls.Certificate{}, nil
}

func (stubLoader) Certificates(string) ([]*x509.Certificate, error) { return nil, nil }
func (stubLoader) CRLs(string) ([]*x509.RevocationList, error)      { return nil, nil }
func (stubLoader) TicketKeys([]string) ([][32]byte, error)          { return nil, nil }
func (stubLoader) ServerConfig(mailtls.Settings) (*stdtls.Config, *mailtls.ClientAuth, error) {
	return &stdtls.Config{}, nil, nil
}

func (stubLoader) ServerConfigSessions(mailtls.Settings) (*stdtls.Config, *mailtls.ClientAuth, *mailtls.Sessions, error) {
	return &stdtls.Config{}, nil, nil, nil
}

func (stubLoader) ClientTLS(mailtls.ClientSettings) (*mailtls.ClientTLS, error) {
	return new(mailtls.ClientTLS), nil
}
