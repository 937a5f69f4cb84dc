package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTLSKeys(t *testing.T) {
	cfg, err := Parse("/etc/mp/test.yaml", []byte(srv(
		"    ssl_password_file: pw.txt",
		"    ssl_prefer_server_ciphers: on",
		"    ssl_ecdh_curve: X25519:prime256v1",
		"    ssl_session_cache: builtin:1000 shared:MAIL:10m",
		"    ssl_session_timeout: 10m",
		"    ssl_session_tickets: off",
		"    ssl_session_ticket_key: [a.key, /k/b.key]",
		"    ssl_verify_client: optional",
		"    ssl_verify_depth: 3",
		"    ssl_client_certificate: ca.pem",
		"    ssl_trusted_certificate: /ca/trusted.pem",
		"    ssl_crl: crl.pem",
		"    auth_http_pass_client_cert: on",
	)))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servers[0]
	got := []any{s.SSLPasswordFile, s.SSLPreferServerCiphers, s.SSLECDHCurve, s.SSLSessionCache, s.SSLSessionTimeout,
		s.SSLSessionTickets, s.SSLSessionTicketKey, s.SSLVerifyClient, s.SSLVerifyDepth, s.SSLClientCertificate,
		s.SSLTrustedCertificate, s.SSLCRL, s.AuthHTTPPassClientCert}
	want := []any{filepath.FromSlash("/etc/mp/pw.txt"), true, "X25519:prime256v1", []string{"builtin:1000", "shared:MAIL:10m"}, 10 * time.Minute,
		false, []string{"/etc/mp/a.key", "/k/b.key"}, "optional", 3, "/etc/mp/ca.pem",
		"/ca/trusted.pem", "/etc/mp/crl.pem", true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestTLSKeyErrors(t *testing.T) {
	cases := map[string]string{
		"    ssl_verify_client: maybe":           `ssl_verify_client: invalid value "maybe"`,
		"    ssl_verify_client: on":              `no ssl_client_certificate or ssl_trusted_certificate`,
		"    ssl_session_cache: [none, builtin]": `"none" cannot be combined`,
		"    ssl_session_cache: shared:x":        `must be shared:NAME:SIZE`,
		"    ssl_session_cache: lots":            `ssl_session_cache: invalid value "lots"`,
		"    ssl_session_timeout: never":         `ssl_session_timeout: invalid duration`,
	}
	for line, want := range cases {
		_, err := Parse("test.yaml", []byte(srv(line)))
		if err == nil || !strings.Contains(err.Error(), "test.yaml:5: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want test.yaml:5: …%s…", line, err, want)
		}
	}
}

func TestGlobals(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(filepath.Join(dir, "test.yaml"), []byte("shutdown_timeout: 30s\nlog_format: json\nlog_level: debug\nmetrics_listen: 127.0.0.1:9100\npid: run/mp.pid\nerror_log: log/mp.log\n"+srv()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ShutdownTimeout != 30*time.Second || cfg.WorkerShutdownTimeout != 0 || cfg.LogFormat != "json" || cfg.LogLevel != "debug" || cfg.MetricsListen != "127.0.0.1:9100" ||
		cfg.PID != filepath.Join(dir, "run/mp.pid") || len(cfg.ErrorLog) != 1 || cfg.ErrorLog[0] != (LogSink{Destination: filepath.Join(dir, "log/mp.log"), Line: 6}) {
		t.Fatalf("%+v", cfg)
	}
	cfg, err = Parse("test.yaml", []byte(srv()))
	if err != nil || cfg.LogFormat != "text" || cfg.LogLevel != "info" || cfg.ShutdownTimeout != 0 || cfg.MetricsListen != "" {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	for in, want := range map[string]string{
		"log_format: xml\n":           `test.yaml:1: log_format: invalid value "xml"`,
		"metrics_listen: nowhere\n":   `test.yaml:1: metrics_listen: "nowhere" is not an IP:PORT address`,
		"shutdown_timeout: forever\n": `test.yaml:1: shutdown_timeout: invalid duration`,
		"log_level: loud\n":           `test.yaml:1: log_level: invalid value "loud"`,
	} {
		if _, err := Parse("test.yaml", []byte(in+srv())); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v", in, err)
		}
	}
}
