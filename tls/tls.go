// Package tls builds the TLS settings of a mail server from its nginx-style
// directives (ssl_*, SPEC.md §1.5) and describes a TLS connection with
// OpenSSL's names, as nginx reports them to the auth service
// (Auth-SSL-*, §9.2): protocol and cipher names, the client certificate's
// verification result (verified the way OpenSSL does, §8.3) and its
// subject, issuer, serial and fingerprint in OpenSSL's formats.
//
// Building is side-effect free: it reads files and returns new values, so
// a reload can build a new configuration and drop it on error.
//
// The package shadows crypto/tls; importers alias it (mailtls).
package tls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// DefaultSessionTimeout is nginx's ssl_session_timeout default.
const DefaultSessionTimeout = 5 * time.Minute

// Settings are the TLS directives of one server. Paths are used as given.
type Settings struct {
	Certificates []string // ssl_certificate: PEM files, one per key
	Keys         []string // ssl_certificate_key
	PasswordFile string   // ssl_password_file: passphrases for encrypted keys
	Protocols    []string // ssl_protocols names
	Ciphers      string   // ssl_ciphers, an OpenSSL cipher string; "": Go's default suites
	ECDHCurve    string   // ssl_ecdh_curve: "auto" or OpenSSL group names joined by ':'
	ALPN         string   // imap, pop3, smtp or managesieve

	// DisableSessionTickets is ssl_session_tickets off.
	DisableSessionTickets bool
	// SessionTicketKeys are ssl_session_ticket_key files; none: Go's own
	// rotating random keys.
	SessionTicketKeys []string
	// SessionTimeout is ssl_session_timeout, the longest a ticket is
	// honoured; 0 means DefaultSessionTimeout.
	SessionTimeout time.Duration

	// SNI lists certificates chosen by the client's server name
	// (sni_certificates); Certificates stay the default.
	SNI []NamedCertificates

	VerifyClient       string // ssl_verify_client: off (or ""), on, optional, optional_no_ca
	VerifyDepth        int    // ssl_verify_depth: most intermediate CAs allowed
	ClientCertificate  string // ssl_client_certificate: trusted CAs, also sent as acceptable
	TrustedCertificate string // ssl_trusted_certificate: trusted CAs, not sent
	CRL                string // ssl_crl: CRLs; every CA level must be covered
}

// NewServerConfig loads every file s names and returns the server's TLS
// configuration and its client-certificate policy (nil for
// ssl_verify_client off). A setting Go cannot honour is an error naming
// it, never a downgrade. The result shares nothing with earlier results.
func NewServerConfig(s Settings) (*tls.Config, *ClientAuth, error) {
	return new(Loader).ServerConfig(s)
}

// ServerConfig is NewServerConfig with the files loaded through l: a
// file l has already read (to check it) is not read again. Results built
// with one Loader may share certificates, which are never modified.
func (l *Loader) ServerConfig(s Settings) (*tls.Config, *ClientAuth, error) {
	if len(s.Certificates) == 0 {
		return nil, nil, errors.New("no ssl_certificate")
	}
	passwords, err := l.PasswordFile(s.PasswordFile)
	if err != nil {
		return nil, nil, fmt.Errorf("ssl_password_file: %w", err)
	}
	cfg := &tls.Config{}
	if cfg.Certificates, err = l.loadPairs(s.Certificates, s.Keys, passwords); err != nil {
		return nil, nil, err
	}
	if len(s.SNI) > 0 || len(cfg.Certificates) > 1 {
		p, err := l.newCertPicker(cfg.Certificates, s.SNI, passwords)
		if err != nil {
			return nil, nil, err
		}
		cfg.GetCertificate = p.getCertificate
	}
	if cfg.MinVersion, cfg.MaxVersion, err = versionRange(s.Protocols); err != nil {
		return nil, nil, err
	}
	if cfg.CipherSuites, err = ParseCiphers(s.Ciphers); err != nil {
		return nil, nil, err
	}
	if cfg.CurvePreferences, err = ParseCurves(s.ECDHCurve); err != nil {
		return nil, nil, err
	}
	if s.ALPN != "" {
		cfg.NextProtos = []string{s.ALPN}
	}
	if err := l.setSessions(cfg, s); err != nil {
		return nil, nil, err
	}
	auth, err := l.newClientAuth(s, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, auth, nil
}

// setSessions applies ssl_session_tickets, ssl_session_ticket_key and
// ssl_session_timeout.
func (l *Loader) setSessions(cfg *tls.Config, s Settings) error {
	if s.DisableSessionTickets {
		cfg.SessionTicketsDisabled = true
		return nil
	}
	keys, err := l.TicketKeys(s.SessionTicketKeys)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		cfg.SetSessionTicketKeys(keys)
	}
	timeout := s.SessionTimeout
	if timeout <= 0 {
		timeout = DefaultSessionTimeout
	}
	limitSessionLifetime(cfg, timeout)
	return nil
}

// loadPairs loads certificate/key pairs, one key per certificate.
func (l *Loader) loadPairs(certs, keys []string, passwords []string) ([]tls.Certificate, error) {
	if len(certs) == 0 {
		return nil, errors.New("no ssl_certificate")
	}
	if len(certs) != len(keys) {
		return nil, errors.New("each ssl_certificate needs one ssl_certificate_key")
	}
	var out []tls.Certificate
	for i := range certs {
		c, err := l.KeyPair(certs[i], keys[i], passwords)
		if err != nil {
			return nil, fmt.Errorf("ssl_certificate %q: %w", certs[i], err)
		}
		out = append(out, c)
	}
	return out, nil
}

var versionNames = map[string]uint16{
	"TLSv1":   tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

// ProtocolRange checks an ssl_protocols list (OpenSSL's names) as
// ServerConfig does and returns Go's range: SSLv2 and SSLv3, which Go
// does not implement, and a list with a gap are errors naming them.
func ProtocolRange(names []string) (min, max uint16, err error) { return versionRange(names) }

// versionRange turns an ssl_protocols list into Go's contiguous range.
func versionRange(names []string) (min, max uint16, err error) {
	if len(names) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	set := map[uint16]bool{}
	for _, n := range names {
		v, ok := versionNames[n]
		if !ok {
			return 0, 0, fmt.Errorf("ssl_protocols: %s is not supported", n)
		}
		set[v] = true
		if min == 0 || v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	for v := min; v <= max; v++ {
		if !set[v] {
			return 0, 0, fmt.Errorf("ssl_protocols: a list with a gap (%s missing) cannot be honoured", VersionName(v))
		}
	}
	return min, max, nil
}

// VersionName is OpenSSL's name of a TLS version: TLSv1, TLSv1.1, ….
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// Handshake runs the server handshake of conn until deadline.
func Handshake(conn *tls.Conn, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return conn.HandshakeContext(ctx)
}

// Server wraps c as the server side of a TLS connection.
func Server(c net.Conn, cfg *tls.Config) *tls.Conn { return tls.Server(c, cfg) }

// Describe returns OpenSSL's protocol and cipher names of a handshaken
// connection.
func Describe(cs tls.ConnectionState) (protocol, cipher string) {
	return VersionName(cs.Version), CipherName(cs.CipherSuite)
}
