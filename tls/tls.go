// Package tls builds the TLS settings of a mail server from its nginx-style
// directives (ssl_certificate, ssl_protocols, ssl_ciphers, SPEC.md §1.5)
// and describes a TLS connection with OpenSSL's names, as nginx reports
// them to the auth service (Auth-SSL-Protocol, Auth-SSL-Cipher, §9.2).
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

// Settings are the TLS directives of one server.
type Settings struct {
	Certificates []string // PEM files, one per key
	Keys         []string
	Protocols    []string // ssl_protocols names
	Ciphers      string   // ssl_ciphers, an OpenSSL cipher string
	ALPN         string   // imap, pop3 or smtp
}

// NewServerConfig loads the certificates and returns the server config.
// A setting Go cannot honour is an error naming it, never a downgrade.
func NewServerConfig(s Settings) (*tls.Config, error) {
	if len(s.Certificates) == 0 {
		return nil, errors.New("no ssl_certificate")
	}
	if len(s.Certificates) != len(s.Keys) {
		return nil, errors.New("each ssl_certificate needs one ssl_certificate_key")
	}
	cfg := &tls.Config{}
	for i := range s.Certificates {
		c, err := tls.LoadX509KeyPair(s.Certificates[i], s.Keys[i])
		if err != nil {
			return nil, fmt.Errorf("ssl_certificate %q: %w", s.Certificates[i], err)
		}
		cfg.Certificates = append(cfg.Certificates, c)
	}
	min, max, err := versionRange(s.Protocols)
	if err != nil {
		return nil, err
	}
	cfg.MinVersion, cfg.MaxVersion = min, max
	suites, err := ParseCiphers(s.Ciphers)
	if err != nil {
		return nil, err
	}
	cfg.CipherSuites = suites
	if s.ALPN != "" {
		cfg.NextProtos = []string{s.ALPN}
	}
	return cfg, nil
}

var versionNames = map[string]uint16{
	"TLSv1":   tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

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
