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
	// SessionCache is ssl_session_cache: with DisableSessionTickets, the
	// memory cache sessions resume from (stateful tickets).
	SessionCache SessionCache
	// SessionStore, when not nil, is ssl_session_store: with
	// DisableSessionTickets, sessions are kept there instead of the
	// memory cache, sealed with keys derived from SessionTicketKeys
	// (required), so that instances sharing both resume each other's.
	SessionStore SessionStore
	// NoSessions is ssl_session_cache off: no resumption when tickets
	// are off, whatever SessionStore says.
	NoSessions bool

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
	cfg, auth, _, err := l.ServerConfigSessions(s)
	return cfg, auth, err
}

// ServerConfigSessions is ServerConfig that also returns the server-side
// sessions the configuration resumes from (nil when it keeps none: see
// setSessions), to which the caller may attach an error reporter.
func (l *Loader) ServerConfigSessions(s Settings) (*tls.Config, *ClientAuth, *Sessions, error) {
	if len(s.Certificates) == 0 {
		return nil, nil, nil, errors.New("no ssl_certificate")
	}
	passwords, err := l.PasswordFile(s.PasswordFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ssl_password_file: %w", err)
	}
	cfg := &tls.Config{}
	if cfg.Certificates, err = l.loadPairs(s.Certificates, s.Keys, passwords); err != nil {
		return nil, nil, nil, err
	}
	if len(s.SNI) > 0 || len(cfg.Certificates) > 1 {
		p, err := l.newCertPicker(cfg.Certificates, s.SNI, passwords)
		if err != nil {
			return nil, nil, nil, err
		}
		cfg.GetCertificate = p.getCertificate
	}
	if cfg.MinVersion, cfg.MaxVersion, err = versionRange(s.Protocols); err != nil {
		return nil, nil, nil, err
	}
	if cfg.CipherSuites, err = ParseCiphers(s.Ciphers); err != nil {
		return nil, nil, nil, err
	}
	if cfg.CurvePreferences, err = ParseCurves(s.ECDHCurve); err != nil {
		return nil, nil, nil, err
	}
	if s.ALPN != "" {
		cfg.NextProtos = []string{s.ALPN}
	}
	sessions, err := l.setSessions(cfg, s)
	if err != nil {
		return nil, nil, nil, err
	}
	auth, err := l.newClientAuth(s, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, auth, sessions, nil
}

// setSessions applies ssl_session_tickets, ssl_session_ticket_key,
// ssl_session_timeout, ssl_session_cache and ssl_session_store:
//
//   - tickets on: stateless tickets (the session state, encrypted with the
//     ticket keys, kept by the client), as before; the cache and the
//     store are not used (nginx, too, serves ticket-sending clients from
//     tickets). Instances sharing the ticket key files resume each
//     other's sessions already.
//   - tickets off, with a store (and ssl_session_cache not off): stateful
//     tickets from the store, sealed with keys derived from the ticket
//     key files.
//   - tickets off, with a cache: stateful tickets from the memory cache.
//   - tickets off, no cache: no resumption.
//
// It returns the Sessions of a stateful configuration, else nil.
func (l *Loader) setSessions(cfg *tls.Config, s Settings) (*Sessions, error) {
	timeout := s.SessionTimeout
	if timeout <= 0 {
		timeout = DefaultSessionTimeout
	}
	now := func() time.Time {
		if cfg.Time != nil {
			return cfg.Time()
		}
		return time.Now()
	}
	var keys [][32]byte
	if !s.DisableSessionTickets || (s.SessionStore != nil && !s.NoSessions) {
		// The files are read only where they are used, as before.
		var err error
		if keys, err = l.TicketKeys(s.SessionTicketKeys); err != nil {
			return nil, err
		}
	}
	if !s.DisableSessionTickets {
		if len(keys) > 0 {
			cfg.SetSessionTicketKeys(keys)
		}
		limitSessionLifetime(cfg, timeout)
		return nil, nil
	}
	var sessions *Sessions
	var err error
	switch {
	case s.NoSessions:
	case s.SessionStore != nil:
		if len(keys) == 0 {
			return nil, errors.New("ssl_session_store needs ssl_session_ticket_key: the key sealing the stored sessions is derived from it")
		}
		sessions, err = newSessions(s.SessionStore, StoreKeys(keys), sessionContext(cfg, s), timeout, now)
	case s.SessionCache.Size > 0:
		ctx := sessionContext(cfg, s)
		m := memoryStoreFor(s.SessionCache, ctx)
		sessions, err = newSessions(m, [][32]byte{m.key}, ctx, timeout, now)
	}
	if err != nil {
		return nil, err
	}
	if sessions == nil {
		cfg.SessionTicketsDisabled = true
		return nil, nil
	}
	sessions.install(cfg)
	return sessions, nil
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

// Server wraps c as the server side of a TLS connection, with NoDelay.
func Server(c net.Conn, cfg *tls.Config) *tls.Conn {
	NoDelay(c)
	return tls.Server(c, cfg)
}

// NoDelay turns Nagle's algorithm off on the TCP socket under a TLS
// connection (an event loop's sockets have it on, as nginx's do). A
// record must not wait for the acknowledgement of the ones before it:
// a final reply written after the handshake would otherwise still be
// queued when the socket closes, and be lost to the reset that a close
// with unread client data sends.
func NoDelay(c net.Conn) {
	if nd, ok := c.(interface{ SetNoDelay(bool) error }); ok {
		nd.SetNoDelay(true)
	}
}

// Describe returns OpenSSL's protocol and cipher names of a handshaken
// connection.
func Describe(cs tls.ConnectionState) (protocol, cipher string) {
	return VersionName(cs.Version), CipherName(cs.CipherSuite)
}
