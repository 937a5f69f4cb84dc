// Package proxy is mailproxy's engine: it owns the listeners, the accept
// loop, each connection's pipeline (PROXY header, TLS, the protocol's
// pre-auth dialogue, the auth request, the backend login) and the splice,
// and it logs one summary line per session. It never parses a protocol
// line itself: the imap package does.
package proxy

import (
	"context"
	stdtls "crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"mailproxy/authhttp"
	"mailproxy/config"
	"mailproxy/imap"
	"mailproxy/internal/resolver"
	"mailproxy/internal/session"
	"mailproxy/pop3"
	"mailproxy/smtp"
	mailtls "mailproxy/tls"
)

// protocol is what the proxy needs from one protocol package.
type protocol struct {
	name string
	// serve runs the pre-auth dialogue (see imap.Server.Serve).
	serve func(ctx context.Context, c *session.Conn) (*session.Login, error)
	// login runs the backend login dialogue (see imap.LoginBackend).
	login func(conn net.Conn, l *session.Login, bufSize int, deadline time.Time) ([]byte, error)
	// internalError is the reply sent before closing on infrastructure
	// failures.
	internalError []byte
	// certError and noCert end a session whose client certificate failed
	// verification or is missing (ssl_verify_client, SPEC §2.2).
	certError, noCert []byte
}

// The replies to a refused client certificate (SPEC §2.2), sent before
// the connection is closed.
var (
	imapCertError = []byte("* BYE SSL certificate error\r\n")
	imapNoCert    = []byte("* BYE No required SSL certificate\r\n")
	pop3CertError = []byte("-ERR SSL certificate error\r\n")
	pop3NoCert    = []byte("-ERR No required SSL certificate\r\n")
	smtpCertError = []byte("421 4.7.1 SSL certificate error\r\n")
	smtpNoCert    = []byte("421 4.7.1 No required SSL certificate\r\n")
)

// site is the runtime form of one server entry, built once per
// configuration load and shared by every connection it accepts.
type site struct {
	cfg  *config.Server
	auth *authhttp.Client
	tls  *stdtls.Config // nil when the server needs no TLS
	// clientAuth checks client certificates; nil for ssl_verify_client off.
	clientAuth *mailtls.ClientAuth
	proto      protocol
	realIP     []netip.Prefix
}

func newSite(cfg *config.Server) (*site, error) {
	s := &site{cfg: cfg, realIP: cfg.SetRealIPFrom}
	headers := make([]authhttp.Header, len(cfg.AuthHTTPHeader))
	for i, h := range cfg.AuthHTTPHeader {
		headers[i] = authhttp.Header{Name: h.Name, Value: h.Value}
	}
	var err error
	if s.auth, err = authhttp.NewClient(cfg.AuthHTTP, cfg.AuthHTTPTimeout, headers); err != nil {
		return nil, fmt.Errorf("auth_http: %w", err)
	}
	s.auth.SetKeepAlive(authhttp.KeepAlive{MaxIdle: cfg.AuthHTTPKeepalive, IdleTimeout: cfg.AuthHTTPKeepaliveTimeout})
	if cfg.NeedsTLS() {
		// Built by config.Parse, which read every file once.
		if cfg.TLS == nil {
			return nil, errors.New("the TLS settings were not loaded")
		}
		s.tls, s.clientAuth = cfg.TLS, cfg.ClientAuth
	}
	switch cfg.Protocol {
	case "imap":
		srv := imap.NewServer(imap.Options{
			ServerName:   cfg.ServerName,
			Capabilities: cfg.IMAPCapabilities,
			Auth:         cfg.IMAPAuth,
			StartTLS:     cfg.StartTLS,
			ClientBuffer: cfg.IMAPClientBuffer,
			MaxErrors:    cfg.MaxErrors,
		})
		s.proto = protocol{name: "imap", serve: srv.Serve, login: imap.LoginBackend, internalError: imap.InternalError, certError: imapCertError, noCert: imapNoCert}
	case "pop3":
		srv := pop3.NewServer(pop3.Options{
			ServerName:   cfg.ServerName,
			Capabilities: cfg.POP3Capabilities,
			Auth:         cfg.POP3Auth,
			StartTLS:     cfg.StartTLS,
			MaxErrors:    cfg.MaxErrors,
		})
		s.proto = protocol{name: "pop3", serve: srv.Serve, login: pop3.LoginBackend, internalError: pop3.InternalError, certError: pop3CertError, noCert: pop3NoCert}
	case "smtp":
		var res *resolver.Resolver
		if len(cfg.Resolver) > 0 {
			res = resolver.New(cfg.Resolver, cfg.ResolverIPv4, cfg.ResolverIPv6, cfg.ResolverTimeout)
		}
		srv := smtp.NewServer(smtp.Options{
			ServerName:    cfg.ServerName,
			Capabilities:  cfg.SMTPCapabilities,
			Auth:          cfg.SMTPAuth,
			StartTLS:      cfg.StartTLS,
			ClientBuffer:  cfg.SMTPClientBuffer,
			MaxErrors:     cfg.MaxErrors,
			GreetingDelay: cfg.SMTPGreetingDelay,
			XClient:       cfg.XClient,
			ProxySMTPAuth: cfg.ProxySMTPAuth,
			Resolver:      res,
		})
		s.proto = protocol{name: "smtp", serve: srv.Serve, login: srv.LoginBackend, internalError: smtp.InternalError, certError: smtpCertError, noCert: smtpNoCert}
	default:
		return nil, fmt.Errorf("unknown protocol %q", cfg.Protocol)
	}
	return s, nil
}

// trusted reports whether peer may set the client address with a PROXY
// header (set_real_ip_from).
func (s *site) trusted(peer netip.Addr) bool {
	peer = peer.Unmap()
	for _, p := range s.realIP {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}
