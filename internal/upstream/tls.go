package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	mailtls "mailproxy/tls"
)

// TLSError is a failed TLS handshake with a backend: its certificate did
// not verify, it is not a TLS server, no common version or cipher…
type TLSError struct{ Err error }

func (e *TLSError) Error() string { return "backend TLS handshake failed: " + e.Err.Error() }

func (e *TLSError) Unwrap() error { return e.Err }

// Handshake runs the client TLS handshake with cfg on plain by deadline.
// It returns the TLS connection, or a *TLSError.
func Handshake(plain net.Conn, cfg *tls.Config, deadline time.Time) (*tls.Conn, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	mailtls.NoDelay(plain)
	tc := tls.Client(plain, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, &TLSError{Err: err}
	}
	return tc, nil
}

// ServerName returns the name a backend's certificate must carry: the
// auth answer's Auth-SSL-Backend-Name, else proxy_ssl_name, else the
// backend's host name, else its address.
func ServerName(answer, configured, host string, addr string) string {
	switch {
	case answer != "":
		return answer
	case configured != "":
		return configured
	case host != "":
		return host
	}
	return addr
}
