package tls

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/url"
	"os/exec"
	"testing"

	"mailproxy/internal/pkitest"
)

// nc builds a template edit that sets name constraints.
type nc struct {
	dns, exDNS     []string
	email, exEmail []string
	uri, exURI     []string
	ip, exIP       []string // CIDRs
	raw            []byte   // a raw NameConstraints extension instead
}

func (c nc) apply(t *x509.Certificate) {
	if c.raw != nil {
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{Id: oidNameConstraints, Critical: true, Value: c.raw})
		return
	}
	t.PermittedDNSDomainsCritical = true
	t.PermittedDNSDomains, t.ExcludedDNSDomains = c.dns, c.exDNS
	t.PermittedEmailAddresses, t.ExcludedEmailAddresses = c.email, c.exEmail
	t.PermittedURIDomains, t.ExcludedURIDomains = c.uri, c.exURI
	t.PermittedIPRanges, t.ExcludedIPRanges = cidrs(c.ip), cidrs(c.exIP)
}

func cidrs(list []string) []*net.IPNet {
	var out []*net.IPNet
	for _, s := range list {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}

func uris(list ...string) []*url.URL {
	var out []*url.URL
	for _, s := range list {
		u, err := url.Parse(s)
		if err != nil {
			panic(err)
		}
		out = append(out, u)
	}
	return out
}

// der is a DER element: tag and content.
func der(tag byte, parts ...[]byte) []byte {
	var content []byte
	for _, p := range parts {
		content = append(content, p...)
	}
	return derTLV(int(tag), content)
}

// orgName is the DER of a one-RDN-per-attribute name (O, then CN).
func orgName(t *testing.T, o, cn string) []byte {
	var seq pkix.RDNSequence
	if o != "" {
		seq = append(seq, []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: o}})
	}
	if cn != "" {
		seq = append(seq, []pkix.AttributeTypeAndValue{{Type: oidCommonName, Value: cn}})
	}
	b, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ia5Email is a subject with CN and an IA5String emailAddress, as
// OpenSSL requires for name constraints (Go would write a UTF8String).
func ia5Email(t *testing.T, cn, email string) []byte {
	seq := pkix.RDNSequence{
		{{Type: oidCommonName, Value: cn}},
		{{Type: oidEmailAddress, Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagIA5String, Bytes: []byte(email)}}},
	}
	b, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type ncCase struct {
	name  string
	root  nc  // the root's constraints
	inter *nc // an intermediate between root and leaf, with these constraints
	ispec pkitest.Spec
	leaf  pkitest.Spec
	want  int
}

func ncCases(t *testing.T) []ncCase {
	dept := nc{dns: []string{"dept.example.com"}, email: []string{"dept.example.com"}}
	return []ncCase{
		// The probe that found the flaw: a CA for dept.example.com issued a
		// certificate for an address of corp.example.com.
		{name: "issue probe: email outside the CA's domain", root: dept, leaf: pkitest.Spec{Emails: []string{"admin@corp.example.com"}}, want: errPermittedViolation},
		{name: "email inside the CA's domain", root: dept, leaf: pkitest.Spec{Emails: []string{"admin@dept.example.com"}}, want: VerifyOK},

		{name: "dns permitted, inside", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"host.dept.example.com"}}, want: VerifyOK},
		{name: "dns permitted, the domain itself", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"DEPT.example.com"}}, want: VerifyOK},
		{name: "dns permitted, outside", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"host.corp.example.com"}}, want: errPermittedViolation},
		{name: "dns permitted, not on a label boundary", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"xdept.example.com"}}, want: errPermittedViolation},
		{name: "dns permitted, leading dot: subdomains only", root: nc{dns: []string{".dept.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"a.dept.example.com"}}, want: VerifyOK},
		{name: "dns excluded", root: nc{exDNS: []string{"corp.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"a.corp.example.com"}}, want: errExcludedViolation},
		{name: "dns excluded, elsewhere", root: nc{exDNS: []string{"corp.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"a.dept.example.com"}}, want: VerifyOK},
		{name: "dns permitted and a subtree of it excluded", root: nc{dns: []string{"dept.example.com"}, exDNS: []string{"secret.dept.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"x.secret.dept.example.com"}}, want: errExcludedViolation},
		{name: "dns constraint, email name not constrained", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{Emails: []string{"a@corp.example.com"}}, want: VerifyOK},
		{name: "dns permitted, common name checked without a DNS name", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{Subject: pkix.Name{CommonName: "host.corp.example.com"}}, want: errPermittedViolation},
		{name: "dns permitted, common name not checked with a DNS name", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{Subject: pkix.Name{CommonName: "host.corp.example.com"}, DNSNames: []string{"a.dept.example.com"}}, want: VerifyOK},
		{name: "dns permitted, one-label common name not a host name", root: nc{dns: []string{"dept.example.com"}}, leaf: pkitest.Spec{Subject: pkix.Name{CommonName: "alice"}}, want: VerifyOK},

		{name: "email permitted mailbox", root: nc{email: []string{"admin@dept.example.com"}}, leaf: pkitest.Spec{Emails: []string{"admin@DEPT.example.com"}}, want: VerifyOK},
		{name: "email permitted mailbox, local part differs in case", root: nc{email: []string{"admin@dept.example.com"}}, leaf: pkitest.Spec{Emails: []string{"Admin@dept.example.com"}}, want: errPermittedViolation},
		{name: "email permitted subdomains", root: nc{email: []string{".dept.example.com"}}, leaf: pkitest.Spec{Emails: []string{"a@mx.dept.example.com"}}, want: VerifyOK},
		{name: "email permitted subdomains, the domain itself", root: nc{email: []string{".dept.example.com"}}, leaf: pkitest.Spec{Emails: []string{"a@dept.example.com"}}, want: errPermittedViolation},
		{name: "email excluded", root: nc{exEmail: []string{"corp.example.com"}}, leaf: pkitest.Spec{Emails: []string{"ceo@corp.example.com"}}, want: errExcludedViolation},
		{name: "email in the subject, outside", root: dept, leaf: pkitest.Spec{RawSubject: ia5Email(t, "alice", "alice@corp.example.com")}, want: errPermittedViolation},
		{name: "email in the subject, inside", root: dept, leaf: pkitest.Spec{RawSubject: ia5Email(t, "alice", "alice@dept.example.com")}, want: VerifyOK},
		{name: "email in the subject as UTF8String", root: dept, leaf: pkitest.Spec{Subject: pkix.Name{CommonName: "alice", ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidEmailAddress, Value: "alice@dept.example.com"}}}}, want: errUnsupportedNameSyntax},

		{name: "ip permitted, inside", root: nc{ip: []string{"192.0.2.0/24"}}, leaf: pkitest.Spec{Hosts: []string{"192.0.2.5"}}, want: VerifyOK},
		{name: "ip permitted, outside", root: nc{ip: []string{"192.0.2.0/24"}}, leaf: pkitest.Spec{Hosts: []string{"198.51.100.1"}}, want: errPermittedViolation},
		{name: "ip permitted IPv4, an IPv6 address", root: nc{ip: []string{"192.0.2.0/24"}}, leaf: pkitest.Spec{Hosts: []string{"2001:db8::1"}}, want: errPermittedViolation},
		{name: "ip permitted IPv6, inside", root: nc{ip: []string{"2001:db8::/32"}}, leaf: pkitest.Spec{Hosts: []string{"2001:db8::1"}}, want: VerifyOK},
		{name: "ip excluded", root: nc{exIP: []string{"10.0.0.0/8"}}, leaf: pkitest.Spec{Hosts: []string{"10.1.2.3"}}, want: errExcludedViolation},

		{name: "uri permitted host", root: nc{uri: []string{"mail.example.com"}}, leaf: pkitest.Spec{URIs: uris("https://mail.example.com:8443/x")}, want: VerifyOK},
		{name: "uri permitted subdomains", root: nc{uri: []string{".example.com"}}, leaf: pkitest.Spec{URIs: uris("imap://mx.example.com/INBOX")}, want: VerifyOK},
		{name: "uri permitted, outside", root: nc{uri: []string{".example.com"}}, leaf: pkitest.Spec{URIs: uris("https://evil.example.org/")}, want: errPermittedViolation},
		{name: "uri excluded", root: nc{exURI: []string{"evil.example.com"}}, leaf: pkitest.Spec{URIs: uris("ldap://EVIL.example.com:389/")}, want: errExcludedViolation},
		{name: "uri without a host", root: nc{uri: []string{".example.com"}}, leaf: pkitest.Spec{URIs: uris("urn:example:x")}, want: errUnsupportedNameSyntax},

		{name: "directory name permitted, inside", root: nc{raw: der(0x30, der(0xa0, der(0x30, der(0xa4, orgName(t, "Example  Dept", ""))))) /* canonical: case and spaces */}, leaf: pkitest.Spec{RawSubject: orgName(t, "example dept", "alice")}, want: VerifyOK},
		{name: "directory name permitted, outside", root: nc{raw: der(0x30, der(0xa0, der(0x30, der(0xa4, orgName(t, "Example Dept", "")))))}, leaf: pkitest.Spec{RawSubject: orgName(t, "Example Corp", "alice")}, want: errPermittedViolation},
		{name: "directory name excluded", root: nc{raw: der(0x30, der(0xa1, der(0x30, der(0xa4, orgName(t, "Example Corp", "")))))}, leaf: pkitest.Spec{RawSubject: orgName(t, "Example Corp", "alice")}, want: errExcludedViolation},
		{name: "subtree with a maximum", root: nc{raw: der(0x30, der(0xa0, der(0x30, der(0x82, []byte("dept.example.com")), der(0x81, []byte{2}))))}, leaf: pkitest.Spec{DNSNames: []string{"a.dept.example.com"}}, want: errSubtreeMinMax},
		{name: "registered ID constraint on a registered ID name", root: nc{raw: der(0x30, der(0xa0, der(0x30, der(0x88, []byte{0x2a, 0x03}))))}, leaf: pkitest.Spec{Template: func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: oidSubjectAltName, Value: der(0x30, der(0x88, []byte{0x2a, 0x03}))})
		}}, want: errUnsupportedConstraintType},

		// A violation at each depth.
		{name: "leaf against the root, through an intermediate", root: nc{dns: []string{"dept.example.com"}}, inter: &nc{}, leaf: pkitest.Spec{DNSNames: []string{"x.corp.example.com"}}, want: errPermittedViolation},
		{name: "leaf against the intermediate", root: nc{dns: []string{"example.com"}}, inter: &nc{exDNS: []string{"secret.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"a.secret.example.com"}}, want: errExcludedViolation},
		{name: "intermediate against the root", root: nc{dns: []string{"dept.example.com"}}, inter: &nc{}, ispec: pkitest.Spec{DNSNames: []string{"ca.corp.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"a.dept.example.com"}}, want: errPermittedViolation},
		{name: "intermediate and leaf both violate: the leaf's is last", root: nc{dns: []string{"example.com"}}, inter: &nc{exDNS: []string{"secret.example.com"}}, ispec: pkitest.Spec{DNSNames: []string{"ca.example.org"}}, leaf: pkitest.Spec{DNSNames: []string{"a.secret.example.com"}}, want: errExcludedViolation},
		{name: "through an intermediate, every level inside", root: nc{dns: []string{"example.com"}}, inter: &nc{dns: []string{"dept.example.com"}}, ispec: pkitest.Spec{DNSNames: []string{"ca.example.com"}}, leaf: pkitest.Spec{DNSNames: []string{"a.dept.example.com"}}, want: VerifyOK},
	}
}

// TestNameConstraints checks name constraints on client certificates
// against the results OpenSSL gives nginx (and, when the openssl command
// is there, against openssl s_server verifying the same chain).
func TestNameConstraints(t *testing.T) {
	bin, _ := exec.LookPath("openssl")
	srvDir := t.TempDir()
	srv := pkitest.SelfSigned(t, pkitest.Spec{Server: true})
	pkitest.Write(t, srvDir, "srv.pem", srv.CertPEM)
	pkitest.Write(t, srvDir, "srv.key", srv.KeyPEM)
	for _, c := range ncCases(t) {
		t.Run(c.name, func(t *testing.T) {
			root := pkitest.NewRootCA(t, pkitest.Spec{Subject: pkix.Name{CommonName: "Constrained Root", Organization: []string{"mailproxy test"}}, Template: c.root.apply})
			issuer := root
			var extra []*x509.Certificate
			if c.inter != nil {
				s := c.ispec
				s.Subject = pkix.Name{CommonName: "Constrained Inter", Organization: []string{"mailproxy test"}}
				s.Template = c.inter.apply
				issuer = root.SubCA(s)
				extra = append(extra, issuer.Cert)
			}
			leaf := issuer.Issue(c.leaf)
			caFile := pkitest.Write(t, t.TempDir(), "ca.pem", root.PEM())
			auth, err := new(Loader).newClientAuth(Settings{VerifyClient: "on", VerifyDepth: 2, ClientCertificate: caFile}, &tls.Config{})
			if err != nil {
				t.Fatal(err)
			}
			r, _ := auth.Check(tls.ConnectionState{PeerCertificates: append([]*x509.Certificate{leaf.Cert}, extra...)})
			if r.Code != c.want {
				t.Errorf("code %d (%s), want %d (%s)", r.Code, VerifyText(r.Code), c.want, VerifyText(c.want))
			}
			if bin != "" {
				if got := opensslVerifyResult(t, bin, srvDir, caFile, "", 2, leaf.TLS(extra...)); got != c.want {
					t.Errorf("openssl s_server ends with %d (%s), want %d", got, VerifyText(got), c.want)
				}
			}
		})
	}
}

// TestPunycode: A-labels in a name constraint are compared in their
// Unicode form for SmtpUTF8Mailbox addresses.
func TestPunycode(t *testing.T) {
	for in, want := range map[string]string{
		"xn--mnchen-3ya.example": "münchen.example",
		"XN--bcher-kva.de":       "bücher.de",
		"plain.example":          "plain.example",
		"xn--ls8h.la":            "💩.la",
	} {
		if got, ok := aToULabel(in); !ok || got != want {
			t.Errorf("aToULabel(%q) = %q, %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"xn--a-é", "xn--99999999999999"} {
		if got, ok := aToULabel(bad); ok {
			t.Errorf("aToULabel(%q) = %q, want failure", bad, got)
		}
	}
}
