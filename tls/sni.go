package tls

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// NamedCertificates is one sni_certificates entry: the certificates (one
// key per certificate, e.g. an RSA and an ECDSA one) served to clients
// whose server name indication matches one of Names.
type NamedCertificates struct {
	// Names are host names, matched case-insensitively, or wildcards
	// "*.example.org" matching exactly one more label.
	Names        []string
	Certificates []string
	Keys         []string
}

// certPicker picks a certificate for each handshake: by server name from
// the sni_certificates entries, else from the server's own list. It is
// immutable once built.
type certPicker struct {
	defaults []tls.Certificate
	exact    map[string][]tls.Certificate
	wildcard map[string][]tls.Certificate // by the part after "*."
}

// CheckServerName validates one sni_certificates name: a host name or a
// "*." wildcard followed by a host name, letters, digits, '-', '_' and
// dots only. It returns the lower-cased name.
func CheckServerName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	host := strings.TrimPrefix(n, "*.")
	if host == "" || len(n) > 253 {
		return "", fmt.Errorf("invalid server name %q", name)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("invalid server name %q", name)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("invalid server name %q", name)
			}
		}
	}
	return n, nil
}

// newCertPicker loads every entry's certificates with l. A name given
// twice is an error.
func (l *Loader) newCertPicker(defaults []tls.Certificate, entries []NamedCertificates, passwords []string) (*certPicker, error) {
	t := &certPicker{defaults: defaults, exact: map[string][]tls.Certificate{}, wildcard: map[string][]tls.Certificate{}}
	for _, e := range entries {
		certs, err := l.loadPairs(e.Certificates, e.Keys, passwords)
		if err != nil {
			return nil, fmt.Errorf("sni_certificates: %w", err)
		}
		if len(e.Names) == 0 {
			return nil, fmt.Errorf("sni_certificates: an entry without names")
		}
		for _, name := range e.Names {
			n, err := CheckServerName(name)
			if err != nil {
				return nil, fmt.Errorf("sni_certificates: %w", err)
			}
			m, key := t.exact, n
			if strings.HasPrefix(n, "*.") {
				m, key = t.wildcard, n[2:]
			}
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("sni_certificates: server name %q is given twice", name)
			}
			m[key] = certs
		}
	}
	return t, nil
}

// getCertificate is tls.Config.GetCertificate (Go calls it when the
// client sends a server name): the entry matching the name, exact names
// first, then a wildcard, else the server's own certificates.
func (t *certPicker) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	certs, ok := t.exact[name]
	if !ok {
		if i := strings.IndexByte(name, '.'); i > 0 {
			certs, ok = t.wildcard[name[i+1:]]
		}
	}
	if !ok {
		certs = t.defaults
	}
	return pick(hello, certs), nil
}

// pick returns the first of certs the client can use (key type,
// signature schemes, cipher suites, curves), else the first one. As with
// OpenSSL, whether the certificate names the requested server is not
// considered: the configuration chose it for that name.
func pick(hello *tls.ClientHelloInfo, certs []tls.Certificate) *tls.Certificate {
	anyName := *hello
	anyName.ServerName = ""
	for i := range certs {
		if anyName.SupportsCertificate(&certs[i]) == nil {
			return &certs[i]
		}
	}
	return &certs[0]
}
