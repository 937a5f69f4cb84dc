package tls

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os/exec"
	"strings"
	"testing"

	"mailproxy/internal/pkitest"
)

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"one\r\ntwo\n\nthree":  "one|two|three",
		"":                     "",
		"\n\r\n":               "",
		" spaced \n":           " spaced ",
		"last line no newline": "last line no newline",
	} {
		got, err := ReadPasswordFile(pkitest.Write(t, dir, "pw", []byte(content)))
		if err != nil || strings.Join(got, "|") != want || len(got) == 0 {
			t.Errorf("%q: %q %v", content, got, err)
		}
	}
	if pw, err := ReadPasswordFile(""); pw != nil || err != nil {
		t.Error("no file")
	}
	if _, err := ReadPasswordFile(dir + "/missing"); err == nil {
		t.Error("missing file accepted")
	}
}

// TestLegacyEncryptedKey: a "Proc-Type: 4,ENCRYPTED" key loads with the
// right line of the password file, and not without it.
func TestLegacyEncryptedKey(t *testing.T) {
	c := pkitest.SelfSigned(t, pkitest.Spec{Server: true, RSA: true})
	der := x509.MarshalPKCS1PrivateKey(c.Key.(*rsa.PrivateKey))
	//lint:ignore SA1019 making a legacy encrypted key is the point
	block, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", der, []byte("right"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(block)
	if _, err := X509KeyPair(c.CertPEM, keyPEM, nil); err == nil || !strings.Contains(err.Error(), "no ssl_password_file") {
		t.Fatalf("no passwords: %v", err)
	}
	if _, err := X509KeyPair(c.CertPEM, keyPEM, []string{"wrong", "also wrong"}); err == nil || !strings.Contains(err.Error(), "any line of ssl_password_file") {
		t.Fatalf("wrong passwords: %v", err)
	}
	kp, err := X509KeyPair(c.CertPEM, keyPEM, []string{"wrong", "right"})
	if err != nil || kp.Leaf == nil {
		t.Fatalf("right password: %v", err)
	}
}

// TestPBES2Keys decrypts keys encrypted by the openssl command the ways
// it offers: genpkey -aes256 (PBKDF2-HMAC-SHA256), pkcs8 -v2 with
// HMAC-SHA1, AES-128 and 3DES.
func TestPBES2Keys(t *testing.T) {
	bin := openssl(t)
	dir := t.TempDir()
	c := pkitest.SelfSigned(t, pkitest.Spec{Server: true})
	plain := pkitest.Write(t, dir, "plain.pem", c.KeyPEM)
	cases := map[string][]string{
		"pkcs8-aes256-sha256": {"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"},
		"pkcs8-aes256-sha1":   {"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1"},
		"pkcs8-aes128-sha512": {"pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"},
		"pkcs8-des3":          {"pkcs8", "-topk8", "-v2", "des3"},
		"pkey-aes256":         {"pkey", "-aes256"},
	}
	for name, args := range cases {
		out := dir + "/" + name + ".pem"
		args = append(args, "-in", plain, "-out", out, "-passout", "pass:s3cret pass")
		if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if _, err := LoadKeyPair(pkitest.Write(t, dir, "cert.pem", c.CertPEM), out, []string{"nope", "s3cret pass"}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := LoadKeyPair(dir+"/cert.pem", out, []string{"nope"}); err == nil {
			t.Errorf("%s: wrong password accepted", name)
		}
	}
	// PBES1 (pkcs8 -v1) is refused with a message that says so.
	out := dir + "/v1.pem"
	if b, err := exec.Command(bin, "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", plain, "-out", out, "-passout", "pass:x").CombinedOutput(); err != nil {
		t.Fatalf("v1: %v\n%s", err, b)
	}
	if _, err := LoadKeyPair(dir+"/cert.pem", out, []string{"x"}); err == nil || !strings.Contains(err.Error(), "only PBES2") {
		t.Errorf("PBES1: %v", err)
	}
}

func TestPBKDF2Fallback(t *testing.T) {
	want, _ := pbkdf2.Key(sha256.New, "password", []byte("saltsaltsalt"), 1000, 32)
	if got := pbkdf2HMAC(sha256.New, "password", []byte("saltsaltsalt"), 1000, 32); string(got) != string(want) {
		t.Fatal("sha256 differs")
	}
	want, _ = pbkdf2.Key(sha1.New, "pw", []byte("saltsaltsalt"), 3, 45)
	if got := pbkdf2HMAC(sha1.New, "pw", []byte("saltsaltsalt"), 3, 45); string(got) != string(want) {
		t.Fatal("sha1 multi-block differs")
	}
}

func TestUnpad(t *testing.T) {
	for in, ok := range map[string]bool{"abc\x01": true, "ab\x02\x02": true, "abc\x00": false, "a\x03\x02": false, "": false, "\x05\x05": false} {
		if _, got := unpad([]byte(in), 16); got != ok {
			t.Errorf("unpad(%q) = %v", in, got)
		}
	}
}
