package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestModernClientKeys: the OAuth keywords in every *_auth list, sasl-ir
// in imap_auth, imap_id, proxy_forward and auth_http_pass_client_details.
func TestModernClientKeys(t *testing.T) {
	cfg := mustParse(t, y(
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  auth_http_pass_client_details: on",
		"  imap_id:",
		"    name: mailproxy",
		"    vendor: \"Example, Inc.\"",
		"    support-url: ~",
		"    version: 2",
		"servers:",
		"  - listen: [143]",
		"    imap_auth: [plain, XOAUTH2, oauthbearer, SASL-IR]",
		"    proxy_forward: imap_id",
		"  - listen: [110]",
		"    pop3_auth: [plain, xoauth2, oauthbearer]",
		"    proxy_forward: xclient",
		"    imap_id: {}",
		"  - listen: [587]",
		"    smtp_auth: [oauthbearer, xoauth2, login]",
		"  - listen: [4190]",
		"    sieve_auth: [xoauth2, oauthbearer]",
		"    auth_http_pass_client_details: off",
	))
	imap, pop3, smtp, sieve := cfg.Servers[0], cfg.Servers[1], cfg.Servers[2], cfg.Servers[3]
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("IMAPAuth", imap.IMAPAuth, []string{"plain", "xoauth2", "oauthbearer", "sasl-ir"})
	check("POP3Auth", pop3.POP3Auth, []string{"plain", "xoauth2", "oauthbearer"})
	check("SMTPAuth", smtp.SMTPAuth, []string{"oauthbearer", "xoauth2", "login"})
	check("SieveAuth", sieve.SieveAuth, []string{"xoauth2", "oauthbearer"})
	check("IMAPID", imap.IMAPID, []IDField{
		{Name: "name", Value: "mailproxy"}, {Name: "vendor", Value: "Example, Inc."},
		{Name: "support-url", Nil: true}, {Name: "version", Value: "2"},
	})
	check("IMAPID {}", pop3.IMAPID, []IDField{})
	check("ProxyForward", [4]string{imap.ProxyForward, pop3.ProxyForward, smtp.ProxyForward, sieve.ProxyForward}, [4]string{"imap_id", "xclient", "", ""})
	check("AuthHTTPPassClientDetails", [4]bool{imap.AuthHTTPPassClientDetails, pop3.AuthHTTPPassClientDetails, smtp.AuthHTTPPassClientDetails, sieve.AuthHTTPPassClientDetails}, [4]bool{true, true, true, false})

	def := mustParse(t, srv()).Servers[0]
	if def.IMAPID != nil || def.ProxyForward != "" || def.AuthHTTPPassClientDetails {
		t.Errorf("defaults: %#v %q %v", def.IMAPID, def.ProxyForward, def.AuthHTTPPassClientDetails)
	}
}

// TestModernClientKeyErrors: every bad value is refused at its line.
func TestModernClientKeyErrors(t *testing.T) {
	long := strings.Repeat("x", 31)
	cases := map[string]string{
		"    imap_auth: [plain, sasl]":                           `imap_auth: unknown value "sasl"`,
		"    pop3_auth: [sasl-ir]":                               `pop3_auth: unknown value "sasl-ir"`,
		"    sieve_auth: [cram-md5]":                             `sieve_auth: unknown value "cram-md5"`,
		"    smtp_auth: [xoauth]":                                `smtp_auth: unknown value "xoauth"`,
		"    imap_id: NIL":                                       `imap_id: expected a map of ID field to value, got`,
		"    imap_id:":                                           `imap_id: missing value`,
		"    imap_id: {" + long + ": a}":                         `imap_id: field name "` + long + `" must be 1 to 30`,
		"    imap_id: {\"n\\u00e4me\": a}":                       `imap_id: field name "nä`,
		"    imap_id: {name: [a]}":                               `imap_id name: expected a string, got`,
		"    imap_id: {name: \"a\\r\\nb\"}":                      `contains a line break`,
		"    imap_id: {name: " + strings.Repeat("v", 1025) + "}": `imap_id: value of "name" is longer than 1024 bytes`,
		"    proxy_forward: on":                                  `proxy_forward: invalid value "on", expected`,
		"    proxy_forward: xclient":                             `proxy_forward: xclient is for pop3 servers, not imap`,
		"    auth_http_pass_client_details: maybe":               `auth_http_pass_client_details`,
	}
	for line, want := range cases {
		_, err := Parse("test.yaml", []byte(srv(line)))
		if err == nil || !strings.Contains(err.Error(), "test.yaml:5: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want test.yaml:5: …%s…", line, err, want)
		}
	}
	var fields []string
	for i := range 31 {
		fields = append(fields, "f"+string(rune('a'+i%26))+string(rune('a'+i/26))+": v")
	}
	_, err := Parse("test.yaml", []byte(srv("    imap_id: {"+strings.Join(fields, ", ")+"}")))
	if err == nil || !strings.Contains(err.Error(), "test.yaml:5: imap_id: 31 fields, at most 30") {
		t.Errorf("31 fields: %v", err)
	}
	// A mail-level mode a server's protocol has no use for is refused
	// at the mail-level line, naming the server.
	_, err = Parse("test.yaml", []byte(y("mail:", "  auth_http: 127.0.0.1:9000", "  proxy_forward: imap_id", "servers:", "  - listen: [143]", "  - listen: [110]")))
	if err == nil || !strings.Contains(err.Error(), "test.yaml:3: proxy_forward: imap_id is for imap servers, not pop3 (server at line 6)") || strings.Contains(err.Error(), "line 5") {
		t.Errorf("mail-level proxy_forward: %v", err)
	}
}
