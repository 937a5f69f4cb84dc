package tls

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509/pkix"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
)

// handshake runs one handshake between srv and a client with cli over a
// pipe; the server then writes a byte, so a TLS 1.3 client reads the
// session ticket. It returns the client's view.
func handshake(t *testing.T, srv, cli *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.SetDeadline(time.Now().Add(5 * time.Second))
	done := make(chan error, 1)
	go func() {
		s := tls.Server(a, srv)
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		_, err := s.Write([]byte{'x'})
		done <- err
	}()
	c := tls.Client(b, cli)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err != nil {
		return tls.ConnectionState{}, err
	}
	return c.ConnectionState(), <-done
}

// pair writes a certificate and key for name and returns their paths.
func pair(t *testing.T, dir, name string, useRSA bool) (string, string) {
	c := pkitest.SelfSigned(t, pkitest.Spec{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, Server: true, RSA: useRSA})
	return pkitest.Write(t, dir, name+".crt", c.CertPEM), pkitest.Write(t, dir, name+".key", c.KeyPEM)
}

func build(t *testing.T, s Settings) *tls.Config {
	t.Helper()
	cfg, _, err := NewServerConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRSAAndECDSA: with an RSA and an ECDSA certificate side by side, a
// TLS 1.2 client gets the one its cipher suites can use.
func TestRSAAndECDSA(t *testing.T) {
	dir := t.TempDir()
	rc, rk := pair(t, dir, "rsa.example", true)
	ec, ek := pair(t, dir, "ecdsa.example", false)
	srv := build(t, Settings{Certificates: []string{rc, ec}, Keys: []string{rk, ek}})
	for suite, wantRSA := range map[uint16]bool{
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:   true,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: false,
	} {
		cs, err := handshake(t, srv, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
		if err != nil {
			t.Fatal(err)
		}
		_, isRSA := cs.PeerCertificates[0].PublicKey.(*rsa.PublicKey)
		if isRSA != wantRSA {
			t.Errorf("suite %s: got RSA=%v", tls.CipherSuiteName(suite), isRSA)
		}
	}
	cs, err := handshake(t, srv, &tls.Config{InsecureSkipVerify: true})
	if err != nil || cs.Version != tls.VersionTLS13 {
		t.Fatalf("TLS 1.3: %v", err)
	}
}

// TestSNICertificates: exact names, then wildcards, then the default.
func TestSNICertificates(t *testing.T) {
	dir := t.TempDir()
	dc, dk := pair(t, dir, "default.example", false)
	mc, mk := pair(t, dir, "mail.example.org", false)
	mrc, mrk := pair(t, dir, "mail-rsa.example.org", true)
	wc, wk := pair(t, dir, "wild.example.net", false)
	srv := build(t, Settings{
		Certificates: []string{dc}, Keys: []string{dk},
		SNI: []NamedCertificates{
			{Names: []string{"mail.example.org", "IMAP.example.org."}, Certificates: []string{mc, mrc}, Keys: []string{mk, mrk}},
			{Names: []string{"*.example.net"}, Certificates: []string{wc}, Keys: []string{wk}},
		},
	})
	for sni, want := range map[string]string{
		"mail.example.org":     "mail.example.org",
		"imap.EXAMPLE.org":     "mail.example.org",
		"a.example.net":        "wild.example.net",
		"a.b.example.net":      "default.example",
		"example.net":          "default.example",
		"":                     "default.example",
		"other.example.org":    "default.example",
		"mail.example.org.rsa": "default.example",
	} {
		cs, err := handshake(t, srv, &tls.Config{InsecureSkipVerify: true, ServerName: sni})
		if err != nil {
			t.Fatal(err)
		}
		if got := cs.PeerCertificates[0].Subject.CommonName; got != want {
			t.Errorf("SNI %q: got %s, want %s", sni, got, want)
		}
	}
	// Within one name, the certificate the client can use.
	cs, err := handshake(t, srv, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org", MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}})
	if err != nil || cs.PeerCertificates[0].Subject.CommonName != "mail-rsa.example.org" {
		t.Fatalf("RSA under SNI: %v", err)
	}
	_, _, err = NewServerConfig(Settings{Certificates: []string{dc}, Keys: []string{dk}, SNI: []NamedCertificates{
		{Names: []string{"a.example"}, Certificates: []string{mc}, Keys: []string{mk}},
		{Names: []string{"A.example"}, Certificates: []string{wc}, Keys: []string{wk}},
	}})
	if err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, bad := range []string{"", "*", "a..b", "*.*.x", "a b", "x.*.y"} {
		if _, err := CheckServerName(bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

// ticketKeyFile writes a 48- or 80-byte key file.
func ticketKeyFile(t *testing.T, dir, name string, size int, fill byte) string {
	return pkitest.Write(t, dir, name, []byte(strings.Repeat(string(fill), size)))
}

// TestTicketKeysShared: two configurations built separately from the same
// key files (two instances, or a reload) resume each other's sessions; a
// configuration without the key does not.
func TestTicketKeysShared(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	k80 := ticketKeyFile(t, dir, "t80.key", 80, 'a')
	k48 := ticketKeyFile(t, dir, "t48.key", 48, 'b')
	base := Settings{Certificates: []string{c}, Keys: []string{k}}
	shared := base
	shared.SessionTicketKeys = []string{k80, k48}
	rotated := base
	rotated.SessionTicketKeys = []string{k48} // the old second key now encrypts; k80 tickets are gone
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4), MaxVersion: v}
		if cs, err := handshake(t, build(t, shared), cli); err != nil || cs.DidResume {
			t.Fatalf("first: %v", err)
		}
		if cs, err := handshake(t, build(t, shared), cli); err != nil || !cs.DidResume {
			t.Fatalf("version %x: a second configuration from the same key files did not resume (%v)", v, err)
		}
		if cs, err := handshake(t, build(t, base), cli); err != nil || cs.DidResume {
			t.Fatalf("version %x: resumed without the key (%v)", v, err)
		}
		if cs, err := handshake(t, build(t, rotated), cli); err != nil || cs.DidResume {
			t.Fatalf("version %x: resumed a ticket of a removed key (%v)", v, err)
		}
	}
	if _, _, err := NewServerConfig(Settings{Certificates: []string{c}, Keys: []string{k}, SessionTicketKeys: []string{ticketKeyFile(t, dir, "bad", 47, 'c')}}); err == nil || !strings.Contains(err.Error(), "48 or 80 bytes") {
		t.Fatalf("47-byte key: %v", err)
	}
}

// TestSessionTimeout: tickets older than ssl_session_timeout are not
// honoured; ssl_session_tickets off gives no resumption at all.
func TestSessionTimeout(t *testing.T) {
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	s := Settings{Certificates: []string{c}, Keys: []string{k}, SessionTimeout: time.Minute}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		now := time.Now()
		srv := build(t, s)
		srv.Time = func() time.Time { return now }
		cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4), MaxVersion: v}
		handshake(t, srv, cli)
		now = now.Add(50 * time.Second)
		if cs, err := handshake(t, srv, cli); err != nil || !cs.DidResume {
			t.Fatalf("version %x: not resumed within the timeout (%v)", v, err)
		}
		now = now.Add(2 * time.Minute)
		if cs, err := handshake(t, srv, cli); err != nil || cs.DidResume {
			t.Fatalf("version %x: resumed after the timeout (%v)", v, err)
		}
	}
	s.DisableSessionTickets = true
	srv := build(t, s)
	cli := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	handshake(t, srv, cli)
	if cs, err := handshake(t, srv, cli); err != nil || cs.DidResume {
		t.Fatalf("resumed with tickets off (%v)", err)
	}
}

func TestCurves(t *testing.T) {
	got, err := ParseCurves("X25519:prime256v1:P-384:?X448:secp521r1")
	if err != nil || len(got) != 4 || got[0] != tls.X25519 || got[1] != tls.CurveP256 || got[2] != tls.CurveP384 || got[3] != tls.CurveP521 {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := ParseCurves("auto"); got != nil || err != nil {
		t.Fatal("auto")
	}
	if got, err := ParseCurves("X25519MLKEM768"); err != nil || got[0] != tls.X25519MLKEM768 {
		t.Fatal("hybrid")
	}
	for _, bad := range []string{"X448", "brainpoolP256r1", "nosuch", "?X448"} {
		if _, err := ParseCurves(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseCurves("ffdhe2048"); err == nil || !strings.Contains(err.Error(), `"ffdhe2048"`) {
		t.Errorf("message does not name the curve: %v", err)
	}
	dir := t.TempDir()
	c, k := pair(t, dir, "mail.example", false)
	cs, err := handshake(t, build(t, Settings{Certificates: []string{c}, Keys: []string{k}, ECDHCurve: "secp384r1"}), &tls.Config{InsecureSkipVerify: true})
	if err != nil || cs.CurveID != tls.CurveP384 {
		t.Fatalf("negotiated %v (%v)", cs.CurveID, err)
	}
}

// TestEncryptedKeyInConfig: NewServerConfig decrypts with the password
// file.
func TestEncryptedKeyInConfig(t *testing.T) {
	dir := t.TempDir()
	c := pkitest.SelfSigned(t, pkitest.Spec{Server: true})
	out := dir + "/enc.pem"
	bin := openssl(t)
	plain := pkitest.Write(t, dir, "plain.pem", c.KeyPEM)
	if b, err := runOpenSSL(bin, "pkey", "-in", plain, "-out", out, "-aes256", "-passout", "pass:pw2"); err != nil {
		t.Fatalf("%v %s", err, b)
	}
	cert := pkitest.Write(t, dir, "c.pem", c.CertPEM)
	s := Settings{Certificates: []string{cert}, Keys: []string{out}, PasswordFile: pkitest.Write(t, dir, "pw", []byte("pw1\npw2\n"))}
	cfg := build(t, s)
	if _, ok := cfg.Certificates[0].PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Fatal("key not loaded")
	}
	s.PasswordFile = ""
	if _, _, err := NewServerConfig(s); err == nil {
		t.Fatal("encrypted key loaded without passwords")
	}
}

func runOpenSSL(bin string, args ...string) ([]byte, error) {
	return exec.Command(bin, args...).CombinedOutput()
}

// TestDefaultCipherSuites: without ssl_ciphers the server offers Go's
// default TLS 1.2 suites, so a client offering only RSA key exchange or
// only a CBC-SHA256 suite is refused; nginx's default string, written
// out, keeps today's mapping and lets both in.
func TestDefaultCipherSuites(t *testing.T) {
	dir := t.TempDir()
	rc, rk := pair(t, dir, "rsa.example", true)
	def := build(t, Settings{Certificates: []string{rc}, Keys: []string{rk}})
	if def.CipherSuites != nil {
		t.Fatalf("default suites %v, want Go's (nil)", def.CipherSuites)
	}
	nginx := build(t, Settings{Certificates: []string{rc}, Keys: []string{rk}, Ciphers: "HIGH:!aNULL:!MD5"})
	for _, suite := range []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256} {
		cli := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}}
		if _, err := handshake(t, def, cli); err == nil {
			t.Errorf("default: %s accepted", tls.CipherSuiteName(suite))
		}
		if cs, err := handshake(t, nginx, cli); err != nil || cs.CipherSuite != suite {
			t.Errorf("HIGH:!aNULL:!MD5: %s: %v", tls.CipherSuiteName(suite), err)
		}
	}
	cs, err := handshake(t, def, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
	if err != nil || cs.CipherSuite != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 && cs.CipherSuite != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 && cs.CipherSuite != tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Fatalf("default TLS 1.2 handshake: %v, suite %s", err, tls.CipherSuiteName(cs.CipherSuite))
	}
}
