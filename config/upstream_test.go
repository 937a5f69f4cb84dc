package config

import (
	"strings"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
)

// TestUpstreamDefaults: a configuration without the upstream keys gets
// nginx's behaviour: no TLS to backends, one backend per login, IP
// literals only, one plain-HTTP auth service, no cache.
func TestUpstreamDefaults(t *testing.T) {
	cfg, err := Parse("test.yaml", []byte(y("mail:", "  auth_http: 127.0.0.1:9000", "servers:", "  - listen: [143]")))
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.Servers[0].Upstreams
	if u.ProxySSL != "off" || u.ProxySSLVerify || u.ProxySSLServerName || !u.ProxySSLSessionReuse ||
		u.ProxySSLCiphers != "DEFAULT" || strings.Join(u.ProxySSLProtocols, " ") != "TLSv1.2 TLSv1.3" ||
		u.ProxyNextUpstreamTries != 1 || u.ProxyResolve || len(u.AuthHTTPURLs) != 1 ||
		u.AuthHTTPFailTimeout != 10*time.Second || !u.AuthHTTPSSLVerify || u.AuthHTTPCache ||
		u.AuthHTTPCacheSize != 10000 || u.AuthHTTPCacheValid != time.Minute || u.AuthHTTPCacheFailValid != 10*time.Second ||
		!u.AuthHTTPCacheClientIP || u.BackendTLS == nil || u.AuthTLS != nil {
		t.Errorf("defaults: %+v", u)
	}
}

func TestUpstreamKeys(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewRoot(t, "Upstream CA")
	client := ca.Issue(pkitest.Spec{})
	caFile := pkitest.Write(t, dir, "ca.pem", ca.PEM())
	crt := pkitest.Write(t, dir, "client.crt", client.CertPEM)
	key := pkitest.Write(t, dir, "client.key", client.KeyPEM)
	text := y(
		"mail:",
		"  auth_http: [https://auth1.example:8443/auth, http://127.0.0.1:9000/auth]",
		"  auth_http_ssl_trusted_certificate: "+caFile,
		"  auth_http_ssl_certificate: "+crt,
		"  auth_http_ssl_certificate_key: "+key,
		"  auth_http_fail_timeout: 30s",
		"  proxy_ssl: starttls",
		"  proxy_ssl_trusted_certificate: "+caFile,
		"  proxy_ssl_name: IMAP.backend.example",
		"  proxy_ssl_server_name: on",
		"  proxy_ssl_certificate: "+crt,
		"  proxy_ssl_certificate_key: "+key,
		"  proxy_ssl_protocols: [TLSv1.3]",
		"  proxy_ssl_ciphers: HIGH",
		"  proxy_ssl_session_reuse: off",
		"  proxy_next_upstream_tries: 3",
		"  proxy_resolve: on",
		"  auth_http_cache: on",
		"  auth_http_cache_size: 500",
		"  auth_http_cache_valid: 5m",
		"  auth_http_cache_fail_valid: 0",
		"  auth_http_cache_client_ip: off",
		"servers:",
		"  - listen: [143]",
		"  - listen: [110]",
		"    proxy_ssl: on",
		"    proxy_ssl_verify: off",
	)
	cfg, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.Servers[0].Upstreams
	if u.ProxySSL != "starttls" || !u.ProxySSLVerify || u.ProxySSLName != "imap.backend.example" || !u.ProxySSLServerName ||
		u.ProxySSLTrustedCertificate != caFile || u.ProxySSLCertificate != crt || u.ProxySSLCertificateKey != key ||
		strings.Join(u.ProxySSLProtocols, " ") != "TLSv1.3" || u.ProxySSLCiphers != "HIGH" || u.ProxySSLSessionReuse ||
		u.ProxyNextUpstreamTries != 3 || !u.ProxyResolve || len(u.AuthHTTPURLs) != 2 || u.AuthHTTPURLs[1].String() != "http://127.0.0.1:9000/auth" ||
		cfg.Servers[0].AuthHTTP.String() != "https://auth1.example:8443/auth" || u.AuthHTTPFailTimeout != 30*time.Second ||
		u.AuthHTTPSSLTrustedCertificate != caFile || !u.AuthHTTPSSLVerify || !u.AuthHTTPCache || u.AuthHTTPCacheSize != 500 ||
		u.AuthHTTPCacheValid != 5*time.Minute || u.AuthHTTPCacheFailValid != 0 || u.AuthHTTPCacheClientIP ||
		u.BackendTLS == nil || !u.BackendTLS.Verify() || u.AuthTLS == nil || !u.AuthTLS.Verify() {
		t.Errorf("server 1: %+v", u)
	}
	u2 := cfg.Servers[1].Upstreams
	if u2.ProxySSL != "on" || u2.ProxySSLVerify || u2.BackendTLS.Verify() {
		t.Errorf("server 2: %+v", u2)
	}
	if cfg := u.BackendTLS.For("imap.backend.example", "imap.backend.example"); len(cfg.Certificates) != 1 || cfg.MinVersion != cfg.MaxVersion {
		t.Errorf("backend TLS: %d certificates, versions %x-%x", len(cfg.Certificates), cfg.MinVersion, cfg.MaxVersion)
	}
}

// TestUpstreamErrors: `mailproxy -t` reports every bad value and every
// bad combination of the upstream keys at its line.
func TestUpstreamErrors(t *testing.T) {
	f := newFixtures(t)
	srv := func(lines ...string) string {
		return f.sub(y(append([]string{"mail:", "  auth_http: 127.0.0.1:9000", "servers:", "  - listen: [143]"}, lines...)...))
	}
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"proxy_ssl value", srv("    proxy_ssl: tls"), []string{at(5, `proxy_ssl: invalid value "tls", expected off, on or starttls`)}},
		{"certificate without key", srv("    proxy_ssl_certificate: CERT"), []string{at(5, `no "proxy_ssl_certificate_key" is defined for proxy_ssl_certificate "CERT"`)}},
		{"key without certificate", srv("    proxy_ssl_certificate_key: KEY"), []string{at(5, `no "proxy_ssl_certificate" is defined for proxy_ssl_certificate_key "KEY"`)}},
		{"verify without CA", srv("    proxy_ssl_verify: on"), []string{at(5, `no proxy_ssl_trusted_certificate for proxy_ssl_verify`)}},
		{"unreadable CA", srv("    proxy_ssl_trusted_certificate: MISSING"), []string{at(5, `proxy_ssl_trusted_certificate: stat MISSING: no such file or directory`)}},
		{"CA not a certificate", srv("    proxy_ssl_trusted_certificate: GARBAGE"), []string{at(5, `proxy_ssl_trusted_certificate: GARBAGE: no PEM certificate found`)}},
		{"pair does not load", srv("    proxy_ssl_certificate: CERT", "    proxy_ssl_certificate_key: KEY2"), []string{at(5, `proxy_ssl_certificate: cannot load certificate "CERT" with key "KEY2": tls: private key does not match public key`)}},
		{"protocols gap", srv("    proxy_ssl_protocols: [TLSv1, TLSv1.2]"), []string{at(5, `proxy_ssl_protocols: a list with a gap (TLSv1.1 missing) cannot be honoured`)}},
		{"protocols sslv3", srv("    proxy_ssl_protocols: [SSLv3]"), []string{at(5, `proxy_ssl_protocols: SSLv3 is not supported`)}},
		{"ciphers unknown", srv("    proxy_ssl_ciphers: NOPE-CIPHER"), []string{at(5, `proxy_ssl_ciphers: "NOPE-CIPHER" is not a cipher Go implements`)}},
		{"ssl name", srv("    proxy_ssl_name: 'a b'"), []string{at(5, `proxy_ssl_name: "a b" is not a host name or an IP address`)}},
		{"tries zero", srv("    proxy_next_upstream_tries: 0"), []string{at(5, `proxy_next_upstream_tries: 0 is out of range, expected 1 to 16`)}},
		{"tries many", srv("    proxy_next_upstream_tries: 17"), []string{at(5, `proxy_next_upstream_tries: 17 is out of range, expected 1 to 16`)}},
		{"cache size zero", srv("    auth_http_cache_size: 0"), []string{at(5, `auth_http_cache_size: must be at least 1`)}},
		{"cache valid zero", srv("    auth_http_cache_valid: 0"), []string{at(5, `auth_http_cache_valid: invalid duration "0", must be a positive number of seconds`)}},
		{"auth ssl without https", srv("    auth_http_ssl_verify: off", "    auth_http_ssl_trusted_certificate: CERT"), []string{
			at(5, `auth_http_ssl_verify: no auth_http URL of this server is https://`),
			at(6, `auth_http_ssl_trusted_certificate: no auth_http URL of this server is https://`),
		}},
		{"auth ssl certificate without key", srv("    auth_http: https://127.0.0.1/auth", "    auth_http_ssl_certificate: CERT"), []string{
			at(6, `no "auth_http_ssl_certificate_key" is defined for auth_http_ssl_certificate "CERT"`),
		}},
		{"auth ssl unreadable CA", srv("    auth_http: [http://127.0.0.1/a, https://127.0.0.1/b]", "    auth_http_ssl_trusted_certificate: MISSING"), []string{
			at(6, `auth_http_ssl_trusted_certificate: stat MISSING: no such file or directory`),
		}},
		{"auth_http list", srv("    auth_http:", "      - http://127.0.0.1/a", "      - ftp://x", "      - http://127.0.0.1/a"), []string{
			at(7, `auth_http: invalid URL "ftp://x": only http:// and https:// are supported`),
			at(8, `auth_http: "http://127.0.0.1/a" is listed twice (first at line 6)`),
		}},
		{"auth_http empty list", srv("    auth_http: []"), []string{at(5, `auth_http: must not be empty`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.text)
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = f.sub(w)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("input:\n%s got:\n  %s\nwant:\n  %s", numbered(tc.text), strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}
