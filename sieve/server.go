// Package sieve is the ManageSieve side of the proxy (RFC 5804): the
// pre-login dialogue with the client — the capability greeting,
// CAPABILITY, NOOP, LOGOUT, STARTTLS and AUTHENTICATE — as a
// session.Core, and the backend login (AUTHENTICATE "PLAIN" with the
// auth service's user and password) as its hand-over.
//
// nginx has no ManageSieve; the dialogue follows the RFC, with the
// engine's nginx rules for everything protocol-neutral: the `timeout`
// deadline, max_errors, Auth-Wait and retries.
package sieve

import (
	"context"
	"slices"
	"strings"

	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// Fixed replies.
const (
	okCapability   = "OK \"Capability completed.\"\r\n"
	okNoop         = "OK \"NOOP completed.\"\r\n"
	okLogout       = "OK \"Logout completed.\"\r\n"
	okStartTLS     = "OK \"Begin TLS negotiation now.\"\r\n"
	okTLS          = "OK \"TLS negotiation successful.\"\r\n"
	noSyntax       = "NO \"Syntax error.\"\r\n"
	noUnknown      = "NO \"Unknown command.\"\r\n"
	noLoginFirst   = "NO \"Log in first.\"\r\n"
	noStartTLS     = "NO \"STARTTLS not available.\"\r\n"
	noPlaintext    = "NO \"Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\"\r\n"
	noMechanism    = "NO \"Unsupported authentication mechanism.\"\r\n"
	noSASL         = "NO \"Invalid SASL response.\"\r\n"
	noAborted      = "NO \"Authentication aborted by client.\"\r\n"
	byeTooLong     = "BYE \"Command too long.\"\r\n"
	byeInternal    = "BYE \"Internal server error.\"\r\n"
	implementation = "mailproxy"
	defaultBuffer  = 4096
	// DefaultSieveExt is Dovecot Pigeonhole's list without enotify, which
	// clients expect with a NOTIFY capability the proxy cannot know.
	DefaultSieveExt = "fileinto reject envelope encoded-character vacation subaddress comparator-i;ascii-numeric relational regex imap4flags copy include variables body environment mailbox date index ihave duplicate mime foreverypart extracttext"
)

// Replies are the ManageSieve texts the engine and the proxy send.
var Replies = &session.Replies{
	InternalError: []byte(byeInternal),
	CertError:     []byte("BYE \"SSL certificate error\"\r\n"),
	NoCert:        []byte("BYE \"No required SSL certificate\"\r\n"),
	// RFC 5804 §1.3 TRYLATER; every limit closes the connection, so each
	// reply is a BYE.
	TryLater:           []byte("BYE (TRYLATER) \"Too many connections, try again later.\"\r\n"),
	TooManyConnections: []byte("BYE (TRYLATER) \"Too many connections.\"\r\n"),
	LimitConn:          []byte("BYE (TRYLATER) \"Too many connections.\"\r\n"),
	TooManyCommands:    []byte("BYE \"Too many commands.\"\r\n"),
}

// Options are the ManageSieve directives of one server.
type Options struct {
	// Capabilities are the SIEVE extensions advertised
	// (sieve_capabilities); empty means DefaultSieveExt.
	Capabilities []string
	Auth         []string // sieve_auth: plain login external (lower case)
	StartTLS     session.StartTLS
	ClientBuffer int // bytes; 4096 when not positive
	MaxErrors    int
	MaxCommands  int // max_commands; 0: session.DefaultMaxCommands
}

// Server holds what is computed once per configuration.
type Server struct {
	bufs     *session.BufPool
	opts     Options
	mechs    sasl.Mechanisms
	login    bool   // LOGIN is enabled (PLAIN always is)
	capsTLS  []byte // starttls off, or TLS already
	capsSTLS []byte // starttls on, not TLS yet
	capsOnly []byte // starttls only, not TLS yet: no SASL mechanism
}

// NewServer precomputes the capability listings (RFC 5804 §1.7).
func NewServer(o Options) *Server {
	// CRAM-MD5 needs a salt and a digest the backend login cannot use:
	// never offered here.
	var auth []string
	for _, a := range o.Auth {
		if a = strings.ToLower(a); a != "cram-md5" {
			auth = append(auth, a)
		}
	}
	s := &Server{opts: o, mechs: sasl.Enabled(auth), login: slices.Contains(auth, "login")}
	if s.opts.ClientBuffer <= 0 {
		s.opts.ClientBuffer = defaultBuffer
	}
	if s.opts.MaxCommands <= 0 {
		s.opts.MaxCommands = session.DefaultMaxCommands
	}
	s.bufs = session.NewBufPool(s.opts.ClientBuffer)
	ext := DefaultSieveExt
	if len(o.Capabilities) > 0 {
		ext = strings.Join(o.Capabilities, " ")
	}
	// PLAIN is always offered; the others when sieve_auth lists them.
	names := []string{sasl.Plain}
	for _, n := range s.mechs.Names() {
		if n != sasl.Plain {
			names = append(names, n)
		}
	}
	listing := func(saslNames string, starttls bool) []byte {
		var b strings.Builder
		b.WriteString("\"IMPLEMENTATION\" " + quote(implementation) + "\r\n")
		b.WriteString("\"SASL\" " + quote(saslNames) + "\r\n")
		b.WriteString("\"SIEVE\" " + quote(ext) + "\r\n")
		if starttls {
			b.WriteString("\"STARTTLS\"\r\n")
		}
		b.WriteString("\"VERSION\" \"1.0\"\r\n")
		return []byte(b.String())
	}
	all := strings.Join(names, " ")
	s.capsTLS = listing(all, false)
	s.capsSTLS = listing(all, true)
	s.capsOnly = listing("", true)
	return s
}

// Name is the protocol's name in Auth-Protocol, logs and metrics.
func (s *Server) Name() string { return "sieve" }

// Replies returns the protocol's fixed replies.
func (s *Server) Replies() *session.Replies { return Replies }

// Serve runs the pre-login dialogue on c until the auth service accepts a
// login, which it returns, or the session is over (see session.Run). The
// caller owns and closes c.Conn.
func (s *Server) Serve(ctx context.Context, c *session.Conn) (*session.Login, error) {
	buf := s.bufs.Get()
	defer s.bufs.Put(buf)
	return session.Run(ctx, c, session.Dialogue{
		Core:        &core{s: s, c: c},
		Buf:         buf,
		MaxErrors:   s.opts.MaxErrors,
		MaxCommands: s.opts.MaxCommands,
		Replies:     Replies,
	})
}

// capabilities returns the capability listing for the connection's
// state, without the final OK.
func (s *Server) capabilities(tls bool) []byte {
	return s.opts.StartTLS.Pick(tls, s.capsTLS, s.capsSTLS, s.capsOnly)
}

// quote renders s as a ManageSieve string: quoted, with '"' and '\'
// escaped, or a literal when s holds CR, LF or NUL or is long.
func quote(s string) string {
	if len(s) > 1024 || strings.ContainsAny(s, "\r\n\x00") {
		return "{" + itoa(len(s)) + "}\r\n" + s
	}
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d [20]byte
	i := len(d)
	for n > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return string(d[i:])
}
