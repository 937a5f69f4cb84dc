// Package pop3 is the POP3 side of the proxy: the pre-auth dialogue with
// the client exactly as nginx's mail module speaks it (SPEC.md §5, §7,
// §10.4) and nginx's USER/PASS dialogue with the backend (§11.3).
//
// The package never dials, never talks HTTP and never splices: the
// session engine drives its Core and the proxy runs the login it returns.
package pop3

import (
	"context"
	"slices"
	"strings"

	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// bufferSize is nginx's fixed POP3 command buffer (SPEC §1.7, §3.3): it
// holds the unconsumed pipelined bytes plus the command being read.
const bufferSize = 128

// oauthBufferSize replaces bufferSize when pop3_auth enables XOAUTH2 or
// OAUTHBEARER: their messages carry a bearer token, commonly 1–3 kB once
// encoded, which freenginx's 128 bytes never hold.
const oauthBufferSize = 4096

// Fixed replies (SPEC §2.2, §5, §7).
const (
	greeting       = "+OK POP3 ready\r\n"
	greetingPrefix = "+OK POP3 ready " // followed by the salt when one is made
	internalError  = "-ERR internal server error\r\n"
	okReply        = "+OK\r\n"
	invalidCommand = "-ERR invalid command\r\n"
)

// Replies are the POP3 texts the engine and the proxy send (SPEC §2.2).
var Replies = &session.Replies{
	InternalError: []byte(internalError),
	CertError:     []byte("-ERR SSL certificate error\r\n"),
	NoCert:        []byte("-ERR No required SSL certificate\r\n"),
	// LimitConn is freenginx's reply (RFC 3206 SYS/TEMP); TooManyCommands
	// is nginx's invalid-command reply.
	TryLater:           []byte("-ERR [SYS/TEMP] Too many connections, try again later\r\n"),
	TooManyConnections: []byte("-ERR [SYS/TEMP] Too many connections\r\n"),
	LimitConn:          []byte("-ERR [SYS/TEMP] Too many connections\r\n"),
	TooManyCommands:    []byte(invalidCommand),
}

// Options are the POP3 directives of one server.
type Options struct {
	ServerName   string
	Capabilities []string         // pop3_capabilities, verbatim
	Auth         []string         // pop3_auth: plain apop cram-md5 external xoauth2 oauthbearer (lower case)
	StartTLS     session.StartTLS // starttls: off, on (STLS offered) or only
	// MaxErrors is max_errors: the session ends after this many parser
	// errors (the last one still answered).
	MaxErrors int
	// Forward sends "XCLIENT ADDR= PORT= SESSION=" to the backend before
	// the login (proxy_forward xclient).
	Forward bool
	// MaxCommands is max_commands; 0 means session.DefaultMaxCommands.
	MaxCommands int
}

// Server holds what is computed once per configuration: which methods are
// enabled and the CAPA and AUTH listings for each connection state.
type Server struct {
	bufs     *session.BufPool // client buffers
	opts     Options
	apop     bool
	mechs    sasl.Mechanisms
	salted   bool   // apop or cram-md5: the greeting carries a salt
	capa     []byte // starttls off, TLS already, or state "user"
	capaSTLS []byte // starttls on, not TLS yet
	capaOnly []byte // starttls only, not TLS yet: no USER item, no SASL line
	authList []byte // AUTH without an argument
}

// NewServer precomputes the CAPA variants and the AUTH listing (SPEC
// §5.5) from pop3_capabilities, pop3_auth and starttls.
func NewServer(o Options) *Server {
	s := &Server{opts: o, bufs: session.NewBufPool(bufferSize)}
	if s.opts.MaxCommands <= 0 {
		s.opts.MaxCommands = session.DefaultMaxCommands
	}
	s.apop, s.mechs = slices.Contains(o.Auth, "apop"), sasl.Enabled(o.Auth)
	if slices.Contains(o.Auth, sasl.MethodXOAUTH2) || slices.Contains(o.Auth, sasl.MethodOAuthBearer) {
		s.bufs = session.NewBufPool(oauthBufferSize)
	}
	s.salted = s.apop || slices.Contains(o.Auth, "cram-md5")

	const head = "+OK Capability list follows\r\n"
	var items, itemsNoUser strings.Builder
	for _, c := range o.Capabilities {
		items.WriteString(c + "\r\n")
		if !strings.EqualFold(c, "USER") {
			itemsNoUser.WriteString(c + "\r\n")
		}
	}
	saslLine := "SASL"
	list := "+OK methods supported:\r\n"
	// pop3_auth's plain lists PLAIN and LOGIN; apop is never listed
	// (SPEC §5.5).
	var names []string
	for _, n := range s.mechs.Names() {
		names = append(names, n)
		if n == sasl.Plain {
			names = append(names, sasl.Login)
		}
	}
	for _, n := range names {
		saslLine += " " + n
		list += n + "\r\n"
	}
	saslLine += "\r\n"
	s.capa = []byte(head + items.String() + saslLine + ".\r\n")
	s.capaSTLS = []byte(head + items.String() + saslLine + "STLS\r\n.\r\n")
	s.capaOnly = []byte(head + itemsNoUser.String() + "STLS\r\n.\r\n")
	s.authList = []byte(list + ".\r\n")
	return s
}

// capabilities returns the CAPA reply. In state "start" it depends on
// starttls and the TLS state; in state "user" nginx always sends the plain
// list (never STLS), which is what stls=false selects.
func (s *Server) capabilities(tls, stls bool) []byte {
	if !stls {
		return s.capa
	}
	return s.opts.StartTLS.Pick(tls, s.capa, s.capaSTLS, s.capaOnly)
}

// Name is the protocol's name in Auth-Protocol, logs and metrics.
func (s *Server) Name() string { return "pop3" }

// Replies returns the protocol's fixed replies.
func (s *Server) Replies() *session.Replies { return Replies }

// Serve runs the pre-auth dialogue on c until the auth service accepts a
// login, which it returns, or the session is over (see session.Run). The
// greeting carries a fresh salt when apop or cram-md5 is enabled. The
// caller owns and closes c.Conn.
func (s *Server) Serve(ctx context.Context, c *session.Conn) (*session.Login, error) {
	buf := s.bufs.Get()
	defer s.bufs.Put(buf)
	x := &core{s: s, c: c}
	if s.salted {
		x.salt = sasl.NewSalt(s.opts.ServerName)
	}
	return session.Run(ctx, c, session.Dialogue{Core: x, Buf: buf, MaxErrors: s.opts.MaxErrors, MaxCommands: s.opts.MaxCommands, Replies: Replies})
}
