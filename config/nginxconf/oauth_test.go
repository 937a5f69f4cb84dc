package nginxconf

import (
	"reflect"
	"strings"
	"testing"
)

// TestTranslateOAuthKeywords: a freenginx configuration's xoauth2 and
// oauthbearer carry over to every *_auth list; sasl-ir, mailproxy's own
// keyword, is not an nginx one.
func TestTranslateOAuthKeywords(t *testing.T) {
	conf := `mail {
    auth_http 127.0.0.1:9000/auth;
    imap_auth plain xoauth2 OAUTHBEARER;
    pop3_auth xoauth2;
    smtp_auth oauthbearer login;
    server { listen 143; protocol imap; }
}
`
	cfg, _, err := loadMem(t, map[string]string{"/etc/nginx/nginx.conf": conf}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servers[0]
	for name, got := range map[string][]string{"imap_auth": s.IMAPAuth, "pop3_auth": s.POP3Auth, "smtp_auth": s.SMTPAuth} {
		want := map[string][]string{
			"imap_auth": {"plain", "xoauth2", "oauthbearer"},
			"pop3_auth": {"xoauth2"},
			"smtp_auth": {"oauthbearer", "login"},
		}[name]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	_, _, err = loadMem(t, map[string]string{"/etc/nginx/nginx.conf": strings.Replace(conf, "OAUTHBEARER", "sasl-ir", 1)}, Options{})
	if err == nil || !strings.Contains(err.Error(), "sasl-ir") {
		t.Errorf("sasl-ir in nginx's imap_auth: %v", err)
	}
}
