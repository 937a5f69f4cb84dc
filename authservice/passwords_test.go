package authservice

import (
	"bytes"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
)

// SHA-crypt strings made by other programs, each recorded with the command
// that printed it:
//
//	openssl passwd -6 -salt saltstring 'Hello world!'
//	openssl passwd -6 -salt 'rounds=10000$saltstringsaltstring' 'Hello world!'
//	openssl passwd -6 -salt abc secret
//	openssl passwd -5 -salt saltstring 'Hello world!'
//	doveadm pw -s SHA512-CRYPT -p secret          (Dovecot 2.3.19)
//	doveadm pw -s SHA512-CRYPT -r 20000 -p secret
//	doveadm pw -s SHA256-CRYPT -p 'p@ss wörd'
//
// The first two are also the examples of the SHA-crypt specification.
var shaCryptVectors = []struct{ password, hash string }{
	{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"secret", "$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1"},
	{"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
	{"secret", "$6$Wj9e57OI91h.dyRo$ogGbKOTJpjD1fRLLJjkEWdjFH2ghI0uKDrM/.O17F63EsqFftsWUN9ADcqytUMYo5BG0Y8vnJZSPNRbAe.wDs1"},
	{"secret", "$6$rounds=20000$BPZFZzd8fNz3S9wG$RRIlf.UgIr6689no5InStJecN1Pc6ahsEE1AQOJOC/Tce06Nr0hPNHC4qb77Joqo4VfGsveDgVPLcUKOYhNrQ."},
	{"p@ss wörd", "$5$El0NEXElJjo.l4tM$f79mdDBUTUaLxkZa6JVYNd3xAsl.J5P4gTt7jQvPX10"},
}

func TestSHACryptVectors(t *testing.T) {
	for _, v := range shaCryptVectors {
		got, err := shaCrypt(v.password, v.hash)
		if err != nil || got != v.hash {
			t.Errorf("shaCrypt(%q, %q) = %q, %v", v.password, v.hash, got, err)
		}
		if err := checkSHACrypt(v.hash); err != nil {
			t.Errorf("checkSHACrypt(%q): %v", v.hash, err)
		}
	}
	// The setting's salt is cut to 16 characters; rounds are clamped.
	if got, _ := shaCrypt("x", "$6$rounds=10$0123456789abcdefXYZ"); !strings.HasPrefix(got, "$6$rounds=1000$0123456789abcdef$") {
		t.Errorf("clamping: %q", got)
	}
}

// TestSHACryptMatchesOpenSSL: for passwords of every length around the
// digest sizes (the spec's block loops) and salts of every length, the
// hash is the one `openssl passwd` computes (crypt(3)'s algorithm).
func TestSHACryptMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed (Debian package openssl)")
	}
	for _, variant := range []string{"-5", "-6"} {
		for _, n := range []int{1, 7, 31, 32, 33, 63, 64, 65, 130} {
			pw := strings.Repeat("pässwörd", 20)[:n]
			salt := "./09AZaz"[:n%8+1] + strings.Repeat("s", n%9)
			if n == 130 {
				salt = "rounds=1234$" + salt
			}
			out, err := exec.Command("openssl", "passwd", variant, "-salt", salt, pw).Output()
			if err != nil {
				t.Fatalf("openssl passwd %s: %v", variant, err)
			}
			want := strings.TrimSpace(string(out))
			got, err := shaCrypt(pw, "$"+variant[1:]+"$"+salt)
			if err != nil || got != want {
				t.Errorf("%s %q %q:\n got %q %v\nwant %q", variant, pw, salt, got, err, want)
			}
		}
	}
}

// Bcrypt hashes made by Dovecot (`doveadm pw -s BLF-CRYPT -p secret`,
// Dovecot 2.3.19) and by htpasswd's $2y$ form.
const doveadmBcrypt = "{BLF-CRYPT}$2y$05$EzY.CFjOIHwtQ1Epy9wuwOdMwRD7E5HX5d.7w.VQe4Ko4Mp.U66Ti"

func TestParseStored(t *testing.T) {
	good := map[string]struct{ scheme, check string }{
		"secret":       {SchemePlain, "secret"},
		"{PLAIN}$tart": {SchemePlain, "$tart"},
		"{plain}{x}":   {SchemePlain, "{x}"},
		doveadmBcrypt:  {SchemeBLFCrypt, "secret"},
		"{CRYPT}" + doveadmBcrypt[len("{BLF-CRYPT}"):]: {SchemeBLFCrypt, "secret"},
		doveadmBcrypt[len("{BLF-CRYPT}"):]:             {SchemeBLFCrypt, "secret"},
		"{SHA512-CRYPT}" + shaCryptVectors[4].hash:     {SchemeSHA512Crypt, "secret"},
		"{sha512-crypt}" + shaCryptVectors[5].hash:     {SchemeSHA512Crypt, "secret"},
		shaCryptVectors[2].hash:                        {SchemeSHA512Crypt, "secret"},
		"{SHA256-CRYPT}" + shaCryptVectors[6].hash:     {SchemeSHA256Crypt, "p@ss wörd"},
		"{CRYPT}" + shaCryptVectors[3].hash:            {SchemeSHA256Crypt, "Hello world!"},
	}
	for field, want := range good {
		s, err := parseStored(field)
		if err != nil || s.scheme != want.scheme {
			t.Errorf("parseStored(%q) = %+v, %v", field, s, err)
			continue
		}
		if !s.check(want.check) || s.check(want.check+"x") || s.check("") {
			t.Errorf("%q: check wrong", field)
		}
		if s.hashed() != (want.scheme != SchemePlain) {
			t.Errorf("%q: hashed() = %v", field, s.hashed())
		}
	}
	bad := map[string]string{
		"{MD5}abc":                              "unknown password scheme {MD5}",
		"{SSHA}abc":                             "unknown password scheme {SSHA}",
		"{PLAIN":                                `"{" without "}"`,
		"$1$abc$def":                            `"$1$abc$def" is not a $2y$ (bcrypt), $6$ or $5$ (SHA-crypt) hash: write a plaintext password that starts with "$" as {PLAIN}…`,
		"{BLF-CRYPT}" + shaCryptVectors[2].hash: "{BLF-CRYPT}: \"$6$abc$IdWKNKTJEb8LxY7CG…\" is not a $2y$ (bcrypt), $6$ or $5$ (SHA-crypt) hash of that scheme",
		"{SHA512-CRYPT}" + shaCryptVectors[3].hash: "{SHA512-CRYPT}: ",
		"$2y$05$short":    "{BLF-CRYPT}: crypto/bcrypt",
		"$6$abc$tooShort": "{SHA512-CRYPT}: \"$6$abc$tooShort\": the hash part must be 86 characters",
		"$6$rounds=x$abc$" + strings.Repeat("a", 86):      "invalid rounds=x",
		"$6$rounds=1$abc$" + strings.Repeat("a", 86):      "bad salt or rounds",
		"$6$0123456789abcdefg$" + strings.Repeat("a", 86): "bad salt or rounds",
	}
	for field, want := range bad {
		if _, err := parseStored(field); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseStored(%q) = %v, want …%s…", field, err, want)
		}
	}
}

func TestHashPassword(t *testing.T) {
	for _, c := range []struct {
		scheme          string
		cost, rounds    int
		prefix, scheme2 string
	}{
		{"BLF-CRYPT", 4, 0, "{BLF-CRYPT}$2y$04$", SchemeBLFCrypt},
		{"blf-crypt", 0, 0, "{BLF-CRYPT}$2y$10$", SchemeBLFCrypt},
		{"SHA512-CRYPT", 0, 0, "{SHA512-CRYPT}$6$", SchemeSHA512Crypt},
		{"SHA512-CRYPT", 0, 6000, "{SHA512-CRYPT}$6$rounds=6000$", SchemeSHA512Crypt},
		{"SHA256-CRYPT", 0, 0, "{SHA256-CRYPT}$5$", SchemeSHA256Crypt},
	} {
		h, err := HashPassword("correct horse", c.scheme, c.cost, c.rounds)
		if err != nil || !strings.HasPrefix(h, c.prefix) {
			t.Errorf("%s: %q %v", c.scheme, h, err)
			continue
		}
		s, err := parseStored(h)
		if err != nil || s.scheme != c.scheme2 || !s.check("correct horse") || s.check("correct horsE") {
			t.Errorf("%s: %q does not check: %+v %v", c.scheme, h, s, err)
		}
		h2, _ := HashPassword("correct horse", c.scheme, c.cost, c.rounds)
		if h2 == h {
			t.Errorf("%s: two hashes with the same salt", c.scheme)
		}
	}
	if _, err := HashPassword("x", "MD5", 0, 0); err == nil {
		t.Error("scheme MD5 accepted")
	}
	if _, err := HashPassword("x", "SHA512-CRYPT", 0, 999); err == nil {
		t.Error("rounds 999 accepted")
	}
	if _, err := HashPassword(strings.Repeat("x", 73), "BLF-CRYPT", 4, 0); err == nil {
		t.Error("bcrypt of 73 bytes accepted (bcrypt reads 72)")
	}
}

// TestHashedUsers: a users file with hashes logs in PLAIN (and LOGIN,
// USER/PASS, which nginx sends as plain) with the right password only;
// CRAM-MD5, APOP and EXTERNAL, which need the plaintext, are refused with
// a reason in the log; plaintext users keep working.
func TestHashedUsers(t *testing.T) {
	users := mustParse(t, strings.Join([]string{
		"alice " + doveadmBcrypt + " 10.0.0.1:143",
		"bob {SHA512-CRYPT}" + shaCryptVectors[4].hash + " 10.0.0.2:143",
		"carol secret 10.0.0.3:143",
	}, "\n")+"\n")
	var logBuf bytes.Buffer
	s, err := New(Options{Users: users, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, ask(t, s, login("alice", "secret")), "OK", "10.0.0.1", "143", "", "", "")
	expect(t, ask(t, s, login("bob", "secret")), "OK", "10.0.0.2", "143", "", "", "")
	expect(t, ask(t, s, login("bob", "Secret")), "Invalid login or password", "", "", "", "3", "")
	expect(t, ask(t, s, login("alice", doveadmBcrypt)), "Invalid login or password", "", "", "", "3", "")
	cram := login("bob", CRAMMD5Digest("secret", "<1.2@x>")).with("Auth-Method", "cram-md5", "Auth-Salt", "<1.2@x>")
	expect(t, ask(t, s, cram), "Invalid login or password", "", "", "", "3", "")
	ext := login("alice", "").with("Auth-Method", "external", "Auth-SSL-Verify", "SUCCESS")
	expect(t, ask(t, s, ext), "Invalid login or password", "", "", "", "3", "")
	carol := login("carol", CRAMMD5Digest("secret", "<1.2@x>")).with("Auth-Method", "cram-md5", "Auth-Salt", "<1.2@x>")
	expect(t, ask(t, s, carol), "OK", "10.0.0.3", "143", "secret", "", "")
	for _, want := range []string{
		`reason="cram-md5 needs the plaintext password, and the users file holds a SHA512-CRYPT hash"`,
		`reason="external needs the plaintext password, and the users file holds a BLF-CRYPT hash"`,
	} {
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logBuf.String())
		}
	}
	// Users file errors name the line.
	_, err = ParseUsers(strings.NewReader("a secret 10.0.0.1:143\nb {MD5}x 10.0.0.1:143\n"), "users")
	if err == nil || !strings.Contains(err.Error(), `users:2: password of "b": unknown password scheme {MD5}`) {
		t.Errorf("%v", err)
	}
}
