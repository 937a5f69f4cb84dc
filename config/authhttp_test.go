package config

import (
	"errors"
	"strings"
	"testing"

	"mailproxy/authhttp"
)

// authHTTPSamples are auth_http values on both sides of the line, among
// them the ones the two former parsers judged differently.
var authHTTPSamples = []string{
	"127.0.0.1:9000/auth", "http://127.0.0.1", "127.0.0.1?x=1", "127.000.0.1:81/x", "1..2.3",
	"auth.internal", "http://auth.example:8080/a/b?c=1", "localhost:9000",
	"[::1]:9000/auth", "http://[::1]/x", "[2001:db8::1]:81",
	"unix:/run/auth.sock", "http://unix:/run/auth.sock:/auth", "UNIX:/s:", "unix:/x:uri", "unix://run/s",
	"HTTP://[::1]/x", "HTTP://127.0.0.1/auth", "Http://a", "https://a/auth", "HTTPS://a", "ftp://x",
	"::1:80", "::1/auth", "[::1", "[::1]x", "[::1]:/x", "[]:80", "[1.2.3.4]:80", "[::g]",
	"host:0", "host:65536", "host:http", "host:", ":80", "/auth", "ho$t", "a..b", "a b",
	"unix:", "unix::/auth", "unix:/" + strings.Repeat("a", 107),
}

// TestAuthHTTPSameParserAsClient: auth_http is judged by the auth
// client's own parser (authhttp.ParseURL): a value passes exactly when
// ParseURL takes it, the server gets ParseURL's result, and a refusal is
// reported at the key's line with ParseURL's reason.
func TestAuthHTTPSameParserAsClient(t *testing.T) {
	for _, raw := range authHTTPSamples {
		text := y("servers:", "  - listen: [143]", "    auth_http: '"+strings.ReplaceAll(raw, "'", "''")+"'")
		cfg, err := Parse("test.yaml", []byte(text))
		u, perr := authhttp.ParseURL(raw)
		if perr != nil {
			var ue *authhttp.URLError
			if !errors.As(perr, &ue) {
				t.Fatalf("ParseURL(%q): %T %v, want a *URLError", raw, perr, perr)
			}
			want := `test.yaml:3: auth_http: invalid URL "` + raw + `": ` + ue.Reason
			if err == nil || err.Error() != want {
				t.Errorf("auth_http %q: config says %v, the client's parser %q", raw, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("auth_http %q: config refuses it (%v), the client's parser takes it", raw, err)
			continue
		}
		if got := cfg.Servers[0].AuthHTTP; got != u || got.String() != raw {
			t.Errorf("auth_http %q: stored %+v, want %+v", raw, got, u)
		}
	}
}
