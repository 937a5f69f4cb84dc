package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// demoUser is an account of the demo backend.
type demoUser struct{ name, password string }

// demoUsers are the demo accounts, in the order they are printed.
var demoUsers = []demoUser{{"demo", "demo"}, {"alice", "secret"}}

// writeUsers writes the auth service's users file to dir, pointing every
// demo user's IMAP at backend ("ip:port"), and returns its path.
func writeUsers(dir, backend string) (string, error) {
	var b strings.Builder
	b.WriteString("# Users of the mailproxy demo (format: go doc mailproxy/authservice.Users)\n")
	b.WriteString("# NAME  PASSWORD  BACKEND  [PROTOCOLS]\n")
	for _, u := range demoUsers {
		fmt.Fprintf(&b, "%s\t%s\t%s\timap\n", u.name, u.password, backend)
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
	imapAddr     string // plain listener with STARTTLS
	imapsAddr    string // implicit-TLS listener
}

// yamlString quotes s as a YAML double-quoted scalar (JSON strings are
// valid YAML), so paths and secrets need no further care.
func yamlString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// render returns the configuration as mailproxy YAML.
func (c *proxyConfig) render() string {
	return "# Written by mailproxy-demo; removed when the demo stops.\n" +
		"mail:\n" +
		"  auth_http: " + yamlString(c.authURL) + "\n" +
		"  auth_http_header: {" + c.secretHeader + ": " + yamlString(c.secret) + "}\n" +
		"  ssl_certificate: " + yamlString(c.certFile) + "\n" +
		"  ssl_certificate_key: " + yamlString(c.keyFile) + "\n" +
		"servers:\n" +
		"  - protocol: imap\n" +
		"    starttls: on\n" +
		"    imap_auth: [plain, login, cram-md5]\n" +
		"    listen:\n" +
		"      - " + yamlString(c.imapAddr) + "\n" +
		"      - {address: " + yamlString(c.imapsAddr) + ", ssl: true}\n"
}

// write writes the configuration to dir/mailproxy.yaml and returns the path.
func (c *proxyConfig) write(dir string) (string, error) {
	path := filepath.Join(dir, "mailproxy.yaml")
	if err := os.WriteFile(path, []byte(c.render()), 0o600); err != nil {
		return "", err
	}
	return path, nil
}
