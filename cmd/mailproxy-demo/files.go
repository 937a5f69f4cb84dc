package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mailproxy/authservice"
)

// demoUser is an account of the demo backend, with the OAuth 2.0 bearer
// token the auth service accepts for it (XOAUTH2, OAUTHBEARER).
type demoUser struct{ name, password, token string }

// demoUsers are the demo accounts, in the order they are printed.
var demoUsers = []demoUser{{"demo", "demo", "demo-token"}, {"alice", "secret", "alice-token"}}

// writeUsers writes the auth service's users file to dir, one line per
// demo user and protocol, pointing each protocol at its backend in
// backends (protocol to "ip:port"), and returns its path.
func writeUsers(dir string, backends map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("# Users of the mailproxy demo (format: go doc mailproxy/authservice.Users)\n")
	b.WriteString("# NAME  PASSWORD  BACKEND  [PROTOCOLS]\n")
	for _, u := range demoUsers {
		for _, p := range authservice.Protocols {
			if addr, ok := backends[p]; ok {
				fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", u.name, u.password, addr, p)
			}
		}
	}
	b.WriteString("# Bearer tokens (XOAUTH2, OAUTHBEARER): token:TOKEN NAME\n")
	for _, u := range demoUsers {
		fmt.Fprintf(&b, "token:%s\t%s\n", u.token, u.name)
	}
	path := filepath.Join(dir, "users")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// proxyConfig holds the values of the generated mailproxy configuration.
type proxyConfig struct {
	authURL      string // auth_http
	secretHeader string // auth_http_header name
	secret       string // auth_http_header value
	certFile     string
	keyFile      string
	listen       listenAddrs
}

// yamlString quotes s as a YAML double-quoted scalar (JSON strings are
// valid YAML), so paths and secrets need no further care.
func yamlString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// render returns the configuration as mailproxy YAML: the metrics
// listener, the mail-level auth_http, shared-secret header and
// certificate, then one server per mail protocol with a plain listener
// offering STARTTLS and an implicit-TLS one, and a ManageSieve server
// offering STARTTLS. The SMTP server has xclient off because the go-smtp
// backend does not understand XCLIENT.
func (c *proxyConfig) render() string {
	l := c.listen
	listen := func(plain, tls string) string {
		return "    listen:\n" +
			"      - " + yamlString(plain) + "\n" +
			"      - {address: " + yamlString(tls) + ", ssl: true}\n"
	}
	return "# Written by mailproxy-demo; removed when the demo stops.\n" +
		"# /metrics, /healthz and /readyz (the demo waits for /readyz).\n" +
		"metrics_listen: " + yamlString(l.metrics) + "\n" +
		"mail:\n" +
		"  auth_http: " + yamlString(c.authURL) + "\n" +
		"  auth_http_header: {" + c.secretHeader + ": " + yamlString(c.secret) + "}\n" +
		"  ssl_certificate: " + yamlString(c.certFile) + "\n" +
		"  ssl_certificate_key: " + yamlString(c.keyFile) + "\n" +
		"servers:\n" +
		"  - protocol: imap\n" +
		"    starttls: on\n" +
		"    imap_auth: [plain, login, cram-md5, xoauth2, oauthbearer, sasl-ir]\n" +
		"    imap_id: {name: mailproxy-demo}\n" +
		listen(l.imap, l.imaps) +
		"  - protocol: pop3\n" +
		"    starttls: on\n" +
		"    pop3_auth: [plain, apop, cram-md5, xoauth2, oauthbearer]\n" +
		listen(l.pop3, l.pop3s) +
		"  - protocol: smtp\n" +
		"    starttls: on\n" +
		"    smtp_auth: [plain, login, xoauth2, oauthbearer]\n" +
		"    xclient: false # the go-smtp backend does not understand XCLIENT\n" +
		listen(l.smtp, l.smtps) +
		"  - protocol: sieve\n" +
		"    starttls: on\n" +
		"    sieve_auth: [plain, login]\n" +
		"    listen: [" + yamlString(l.sieve) + "]\n"
}

// write writes the configuration to dir/mailproxy.yaml and returns the path.
func (c *proxyConfig) write(dir string) (string, error) {
	path := filepath.Join(dir, "mailproxy.yaml")
	if err := os.WriteFile(path, []byte(c.render()), 0o600); err != nil {
		return "", err
	}
	return path, nil
}
