package tls

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/pkitest"
)

// verifyCase is one client certificate chain and the CA setup it is
// verified against.
type verifyCase struct {
	name  string
	chain []*pkitest.Cert // leaf first
	extra []*x509.Certificate
	crl   [][]byte // ssl_crl content; nil: no ssl_crl
	depth int
	want  int
}

func verifyCases(t *testing.T) (root *pkitest.CA, cases []verifyCase) {
	root = pkitest.NewRoot(t, "Root CA")
	inter := root.Intermediate("Inter CA")
	deep := inter.Intermediate("Deep CA")
	other := pkitest.NewRoot(t, "Other CA")
	now := time.Now()
	leaf := root.Issue(pkitest.Spec{})
	viaInter := inter.Issue(pkitest.Spec{})
	viaDeep := deep.Issue(pkitest.Spec{})
	revoked := root.Issue(pkitest.Spec{})
	otherLeaf := other.Issue(pkitest.Spec{})
	cases = []verifyCase{
		{name: "valid", chain: []*pkitest.Cert{leaf}, depth: 1, want: VerifyOK},
		{name: "via intermediate", chain: []*pkitest.Cert{viaInter}, extra: []*x509.Certificate{inter.Cert}, depth: 1, want: VerifyOK},
		{name: "intermediate missing", chain: []*pkitest.Cert{viaInter}, depth: 1, want: errUnableToVerifyLeafSig},
		{name: "expired", chain: []*pkitest.Cert{root.Issue(pkitest.Spec{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})}, depth: 1, want: errCertHasExpired},
		{name: "not yet valid", chain: []*pkitest.Cert{root.Issue(pkitest.Spec{NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)})}, depth: 1, want: errCertNotYetValid},
		{name: "self-signed", chain: []*pkitest.Cert{pkitest.SelfSigned(t, pkitest.Spec{})}, depth: 1, want: errDepthZeroSelfSigned},
		{name: "unknown CA", chain: []*pkitest.Cert{otherLeaf}, depth: 1, want: errUnableToVerifyLeafSig},
		{name: "unknown CA sent along", chain: []*pkitest.Cert{otherLeaf}, extra: []*x509.Certificate{other.Cert}, depth: 1, want: errSelfSignedCertInChain},
		{name: "revoked", chain: []*pkitest.Cert{revoked}, crl: [][]byte{root.CRL(time.Time{}, time.Time{}, revoked.Cert)}, depth: 1, want: errCertRevoked},
		{name: "not revoked", chain: []*pkitest.Cert{leaf}, crl: [][]byte{root.CRL(time.Time{}, time.Time{}, revoked.Cert)}, depth: 1, want: VerifyOK},
		{name: "CRL of a level missing", chain: []*pkitest.Cert{viaInter}, extra: []*x509.Certificate{inter.Cert}, crl: [][]byte{root.CRL(time.Time{}, time.Time{})}, depth: 1, want: errUnableToGetCRL},
		{name: "CRLs of every level", chain: []*pkitest.Cert{viaInter}, extra: []*x509.Certificate{inter.Cert}, crl: [][]byte{root.CRL(time.Time{}, time.Time{}), inter.CRL(time.Time{}, time.Time{})}, depth: 1, want: VerifyOK},
		{name: "CRL expired", chain: []*pkitest.Cert{leaf}, crl: [][]byte{root.CRL(now.Add(-48*time.Hour), now.Add(-24*time.Hour))}, depth: 1, want: errCRLHasExpired},
		{name: "deeper than ssl_verify_depth", chain: []*pkitest.Cert{viaDeep}, extra: []*x509.Certificate{deep.Cert, inter.Cert}, depth: 1, want: errUnableToGetIssuerLocal},
		{name: "as deep as ssl_verify_depth", chain: []*pkitest.Cert{viaDeep}, extra: []*x509.Certificate{deep.Cert, inter.Cert}, depth: 2, want: VerifyOK},
		{name: "depth 0", chain: []*pkitest.Cert{leaf}, depth: 0, want: VerifyOK},
		{name: "server certificate", chain: []*pkitest.Cert{root.Issue(pkitest.Spec{Server: true})}, depth: 1, want: errInvalidPurpose},
	}
	return root, cases
}

// TestVerifyChains checks the verification results, and (when the
// openssl command is there) that OpenSSL's s_server, verifying the same
// chain with nginx's settings, ends with the same result.
func TestVerifyChains(t *testing.T) {
	root, cases := verifyCases(t)
	dir := t.TempDir()
	caFile := pkitest.Write(t, dir, "ca.pem", root.PEM())
	bin, _ := exec.LookPath("openssl")
	srv := pkitest.SelfSigned(t, pkitest.Spec{Server: true})
	pkitest.Write(t, dir, "srv.pem", srv.CertPEM)
	pkitest.Write(t, dir, "srv.key", srv.KeyPEM)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Settings{VerifyClient: "on", VerifyDepth: c.depth, ClientCertificate: caFile}
			if c.crl != nil {
				s.CRL = pkitest.Write(t, t.TempDir(), "crl.pem", c.crl...)
			}
			auth, err := new(Loader).newClientAuth(s, &tls.Config{})
			if err != nil {
				t.Fatal(err)
			}
			peer := []*x509.Certificate{c.chain[0].Cert}
			peer = append(peer, c.extra...)
			r, d := auth.Check(tls.ConnectionState{PeerCertificates: peer})
			if r.Code != c.want {
				t.Errorf("code %d (%s), want %d (%s)", r.Code, VerifyText(r.Code), c.want, VerifyText(c.want))
			}
			if (d == Accept) != (c.want == VerifyOK) {
				t.Errorf("decision %v for code %d", d, r.Code)
			}
			if bin != "" {
				tc := c.chain[0].TLS(c.extra...)
				if got := opensslVerifyResult(t, bin, dir, caFile, s.CRL, c.depth, tc); got != c.want {
					t.Errorf("openssl s_server ends with %d (%s), want %d", got, VerifyText(got), c.want)
				}
			}
		})
	}
}

var verifyErrorLine = regexp.MustCompile(`verify error:num=(\d+):`)

// opensslVerifyResult runs `openssl s_server` set up as nginx sets up
// OpenSSL (SSL_VERIFY_PEER with a callback that accepts every error,
// SSL_CTX_set_verify_depth, CRL_CHECK_ALL with ssl_crl), presents cert
// to it, and returns the last error its callback saw: what
// SSL_get_verify_result gives nginx.
func opensslVerifyResult(t *testing.T, bin, srvDir, caFile, crlFile string, depth int, cert tls.Certificate) int {
	t.Helper()
	args := []string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", srvDir + "/srv.pem", "-key", srvDir + "/srv.key",
		"-verify", "100", "-verify_depth", strconv.Itoa(depth), "-CAfile", caFile}
	if crlFile != "" {
		// s_server's -CRL loads one CRL; a CA file may hold several, as
		// nginx's ssl_crl does.
		ca, _ := ReadFile(caFile)
		crl, _ := ReadFile(crlFile)
		args[len(args)-1] = pkitest.Write(t, t.TempDir(), "ca-crl.pem", ca, crl)
		args = append(args, "-crl_check_all")
	}
	cmd := exec.Command(bin, args...)
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(out)
	var addr string
	for addr == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("s_server: %v", err)
		}
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), "ACCEPT "); ok {
			addr = a
		}
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{
		InsecureSkipVerify:   true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
	})
	if err != nil {
		t.Fatalf("dial s_server: %v", err)
	}
	c.Close()
	rest, _ := io.ReadAll(r)
	cmd.Wait()
	code := VerifyOK
	for _, m := range verifyErrorLine.FindAllStringSubmatch(string(rest), -1) {
		code, _ = strconv.Atoi(m[1])
	}
	return code
}

// TestVerifyModes: optional_no_ca lets the "unknown issuer" family
// through (the auth service sees FAILED:…), but not an expired
// certificate; optional lets no certificate through, on does not.
func TestVerifyModes(t *testing.T) {
	root := pkitest.NewRoot(t, "Root CA")
	ca := pkitest.Write(t, t.TempDir(), "ca.pem", root.PEM())
	self := pkitest.SelfSigned(t, pkitest.Spec{}).Cert
	expired := root.Issue(pkitest.Spec{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}).Cert
	for _, c := range []struct {
		mode, ca string
		peer     *x509.Certificate
		want     Decision
		verify   string
	}{
		{"optional_no_ca", "", self, Accept, "FAILED:self-signed certificate"},
		{"optional_no_ca", ca, expired, RefuseCertError, "FAILED:certificate has expired"},
		{"optional_no_ca", "", nil, Accept, "NONE"},
		{"optional", ca, nil, Accept, "NONE"},
		{"optional", ca, self, RefuseCertError, "FAILED:self-signed certificate"},
		{"on", ca, nil, RefuseNoCert, "NONE"},
	} {
		auth, err := new(Loader).newClientAuth(Settings{VerifyClient: c.mode, VerifyDepth: 1, ClientCertificate: c.ca}, &tls.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var cs tls.ConnectionState
		if c.peer != nil {
			cs.PeerCertificates = []*x509.Certificate{c.peer}
		}
		r, d := auth.Check(cs)
		if d != c.want || r.Verify() != c.verify {
			t.Errorf("%s %v: %v %q, want %v %q", c.mode, c.peer != nil, d, r.Verify(), c.want, c.verify)
		}
	}
	var off *ClientAuth
	if _, d := off.Check(tls.ConnectionState{}); d != Accept {
		t.Error("nil policy refuses")
	}
	if _, err := new(Loader).newClientAuth(Settings{VerifyClient: "on"}, &tls.Config{}); err == nil {
		t.Error("on without CAs accepted")
	}
}
