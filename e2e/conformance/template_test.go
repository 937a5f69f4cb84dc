package conformance

import (
	"encoding/base64"
	"testing"
)

func known() *Vars {
	return NewVars(map[string]string{"BACKEND_PORT": "14102", "LISTEN_PORT": "14100"})
}

func TestSubst(t *testing.T) {
	v := known()
	got, err := v.Subst([]byte("Auth-Port: ${BACKEND_PORT}\r\n${LISTEN_PORT}$"))
	if err != nil || string(got) != "Auth-Port: 14102\r\n14100$" {
		t.Errorf("Subst = %q, %v", got, err)
	}
	if _, err := v.Subst([]byte("${SALT}")); err == nil {
		t.Error("unbound placeholder substituted")
	}
	if !v.HasCapture([]byte("x ${SALT}")) || v.HasCapture([]byte("x ${BACKEND_PORT}")) {
		t.Error("HasCapture")
	}
}

func TestMatchLiteral(t *testing.T) {
	v := known()
	for _, tc := range []struct {
		tmpl, got string
		ok        bool
	}{
		{"a.b*c\r\n", "a.b*c\r\n", true},
		{"a.b*c\r\n", "aXb*c\r\n", false},
		{"port ${BACKEND_PORT}\n", "port 14102\n", true},
		{"port ${BACKEND_PORT}\n", "port 14103\n", false},
		{"x\n", "x\n\n", false}, // full match: no trailing bytes
		{"x\n", "x", false},
		{"\xff\x00(\n", "\xff\x00(\n", true}, // arbitrary bytes
		{"\xff\n", "\xfe\n", false},
	} {
		ok, err := v.Match([]byte(tc.tmpl), []byte(tc.got))
		if err != nil || ok != tc.ok {
			t.Errorf("Match(%q, %q) = %v, %v; want %v", tc.tmpl, tc.got, ok, err, tc.ok)
		}
	}
}

func TestMatchSalt(t *testing.T) {
	v := known()
	salt := "<3517.1700000000@mx.example.com>"
	ok, err := v.Match([]byte("+OK POP3 ready ${SALT}\r\n"), []byte("+OK POP3 ready "+salt+"\r\n"))
	if err != nil || !ok {
		t.Fatalf("salt: %v %v", ok, err)
	}
	if b, _ := v.Get("SALT"); string(b) != salt {
		t.Errorf("SALT = %q", b)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(salt))
	if b, _ := v.Get("SALT_B64"); string(b) != b64 {
		t.Errorf("SALT_B64 = %q", b)
	}
	// Later occurrences must equal the bound value.
	ok, _ = v.Match([]byte("Auth-Salt: ${SALT}\r\n"), []byte("Auth-Salt: <1.2@x>\r\n"))
	if ok {
		t.Error("different salt matched a bound ${SALT}")
	}
	ok, _ = v.Match([]byte("+ ${SALT_B64}\r\n"), []byte("+ "+b64+"\r\n"))
	if !ok {
		t.Error("bound ${SALT_B64} did not match")
	}
}

func TestMatchSaltPattern(t *testing.T) {
	for _, tc := range []struct {
		got string
		ok  bool
	}{
		{"<1.2@a>", true},
		{"<12345.67890@mx.example.com>", true},
		{"<1.2@>", false},
		{"<1@a>", false},
		{"<a.2@a>", false},
		{"<1.2@a>>", false},
		{"<1.2@a\rb>", false},
		{"1.2@a", false},
	} {
		v := known()
		ok, err := v.Match([]byte("s ${SALT}\r\n"), []byte("s "+tc.got+"\r\n"))
		if err != nil || ok != tc.ok {
			t.Errorf("salt %q: %v %v, want %v", tc.got, ok, err, tc.ok)
		}
	}
}

func TestMatchSaltB64(t *testing.T) {
	salt := "<99.1@mx.example.com>"
	b64 := base64.StdEncoding.EncodeToString([]byte(salt))
	v := known()
	ok, err := v.Match([]byte("334 ${SALT_B64}\r\n"), []byte("334 "+b64+"\r\n"))
	if err != nil || !ok {
		t.Fatalf("b64: %v %v", ok, err)
	}
	if b, _ := v.Get("SALT"); string(b) != salt {
		t.Errorf("SALT = %q", b)
	}
	// Base64 whose decoding is not a salt does not match.
	v = known()
	bad := base64.StdEncoding.EncodeToString([]byte("not a salt"))
	if ok, _ := v.Match([]byte("+ ${SALT_B64}\r\n"), []byte("+ "+bad+"\r\n")); ok {
		t.Error("non-salt base64 matched")
	}
	if _, bound := v.Get("SALT_B64"); bound {
		t.Error("failed match bound a value")
	}
	// Invalid base64 does not match.
	if ok, _ := v.Match([]byte("+ ${SALT_B64}\r\n"), []byte("+ PDE=uMkA\r\n")); ok {
		t.Error("invalid base64 matched")
	}
	if ok, _ := v.Match([]byte("+ ${SALT_B64}\r\n"), []byte("+ PDE\r\n")); ok {
		t.Error("unpadded base64 matched")
	}
	// A salt bound first must agree with SALT_B64 (bound with it).
	v = known()
	v.Bind("SALT", []byte("<1.1@a>"))
	if b, _ := v.Get("SALT_B64"); string(b) != base64.StdEncoding.EncodeToString([]byte("<1.1@a>")) {
		t.Errorf("binding SALT did not bind SALT_B64: %q", b)
	}
	other := base64.StdEncoding.EncodeToString([]byte("<1.2@a>"))
	if ok, _ := v.Match([]byte("+ ${SALT_B64}\r\n"), []byte("+ "+other+"\r\n")); ok {
		t.Error("base64 of another salt matched")
	}
}

func TestMatchTLS(t *testing.T) {
	tmpl := []byte("Auth-SSL: on\r\nAuth-SSL-Protocol: ${TLS_PROTOCOL}\r\nAuth-SSL-Cipher: ${TLS_CIPHER}\r\n\r\n")
	for _, tc := range []struct {
		proto, cipher string
		ok            bool
	}{
		{"TLSv1.3", "TLS_AES_128_GCM_SHA256", true},
		{"TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", true},
		{"TLSv1", "AES128-SHA", true},
		{"TLSv1.4", "X", false},
		{"TLS1.2", "X", false},
		{"TLSv1.2", "ECDHE RSA", false},
		{"TLSv1.2", "", false},
	} {
		v := known()
		got := "Auth-SSL: on\r\nAuth-SSL-Protocol: " + tc.proto + "\r\nAuth-SSL-Cipher: " + tc.cipher + "\r\n\r\n"
		ok, err := v.Match(tmpl, []byte(got))
		if err != nil || ok != tc.ok {
			t.Errorf("%s/%s: %v %v, want %v", tc.proto, tc.cipher, ok, err, tc.ok)
			continue
		}
		if ok {
			if p, _ := v.Get("TLS_PROTOCOL"); string(p) != tc.proto {
				t.Errorf("TLS_PROTOCOL = %q", p)
			}
			if c, _ := v.Get("TLS_CIPHER"); string(c) != tc.cipher {
				t.Errorf("TLS_CIPHER = %q", c)
			}
		}
	}
}

func TestMatchErrors(t *testing.T) {
	v := known()
	if _, err := v.Match([]byte("${NOPE}"), []byte("x")); err == nil {
		t.Error("unknown placeholder accepted")
	}
	if _, err := v.Match([]byte("${SALT} ${SALT}"), []byte("<1.1@a> <1.1@a>")); err == nil {
		t.Error("capture twice in one template accepted")
	}
}
