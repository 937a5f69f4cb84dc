package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPOP3SMTPKeys(t *testing.T) {
	cfg, err := Parse("test.yaml", []byte(srv(
		"    protocol: smtp",
		"    pop3_auth: [APOP, plain, cram-md5]",
		"    pop3_capabilities: [TOP, UIDL]",
		"    smtp_auth: plain login none",
		`    smtp_capabilities: ["SIZE 10485760", 8BITMIME]`,
		"    smtp_client_buffer: 8k",
		"    smtp_greeting_delay: 0",
		"    xclient: off",
		"    proxy_smtp_auth: on",
		`    resolver: ["127.0.0.1:5353", "::1", ipv6=off, valid=30s]`,
		"    resolver_timeout: 5s",
	)))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servers[0]
	check := func(name string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("POP3Auth", s.POP3Auth, []string{"apop", "plain", "cram-md5"})
	check("POP3Capabilities", s.POP3Capabilities, []string{"TOP", "UIDL"})
	check("SMTPAuth", s.SMTPAuth, []string{"plain", "login", "none"})
	check("SMTPCapabilities", s.SMTPCapabilities, []string{"SIZE 10485760", "8BITMIME"})
	check("SMTPClientBuffer", s.SMTPClientBuffer, 8192)
	check("SMTPGreetingDelay", s.SMTPGreetingDelay, time.Duration(0))
	check("XClient", s.XClient, false)
	check("ProxySMTPAuth", s.ProxySMTPAuth, true)
	check("Resolver", s.Resolver, []string{"127.0.0.1:5353", "[::1]:53"})
	check("ResolverIPv4/6", [2]bool{s.ResolverIPv4, s.ResolverIPv6}, [2]bool{true, false})
	check("ResolverTimeout", s.ResolverTimeout, 5*time.Second)

	cfg, err = Parse("test.yaml", []byte(srv("    smtp_greeting_delay: 2s", "    resolver: off")))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Servers[0]; s.SMTPGreetingDelay != 2*time.Second || len(s.Resolver) != 0 {
		t.Fatalf("delay %v resolver %v", s.SMTPGreetingDelay, s.Resolver)
	}
}

func TestPOP3SMTPKeyErrors(t *testing.T) {
	cases := map[string]string{
		"    pop3_auth: [login]":                    `pop3_auth`,
		"    smtp_auth: [apop]":                     `smtp_auth`,
		"    resolver: [dns.example]":               `resolver: "dns.example" is not an IP address`,
		"    resolver: [127.0.0.1, ipv4=maybe]":     `resolver: ipv4 must be on or off`,
		"    resolver: [127.0.0.1, nosuch=1]":       `resolver: unknown parameter "nosuch=1"`,
		"    resolver: [ipv4=off]":                  `resolver: no name servers given`,
		`    resolver: ["::1", ipv4=off, ipv6=off]`: `cannot both be "off"`,
		"    smtp_greeting_delay: soon":             `smtp_greeting_delay: invalid duration`,
		"    xclient: maybe":                        `xclient`,
	}
	for line, want := range cases {
		_, err := Parse("test.yaml", []byte(srv(line)))
		if err == nil || !strings.Contains(err.Error(), "test.yaml:5: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want test.yaml:5: …%s…", line, err, want)
		}
	}
}
