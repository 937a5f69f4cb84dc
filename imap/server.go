// Package imap is the IMAP side of the proxy: the pre-auth dialogue with
// the client exactly as nginx's mail module speaks it (SPEC.md §4, §7,
// §10.4) as a session.Core, and nginx's LOGIN dialogue with the backend
// (§11.2) as its hand-over.
//
// The package never dials, never talks HTTP and never splices: the
// session engine drives it and the proxy runs the login it returns.
package imap

import (
	"context"
	"slices"
	"strings"

	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// Fixed replies (SPEC §2.2, §4).
const (
	greeting      = "* OK IMAP4 ready\r\n"
	internalError = "* BAD internal server error\r\n"
	okCompleted   = "OK completed\r\n"
	badCommand    = "BAD invalid command\r\n"
	contOK        = "+ OK\r\n"
	bye           = "* BYE\r\n"
)

// Replies are the IMAP texts the engine and the proxy send (SPEC §2.2).
var Replies = &session.Replies{
	InternalError: []byte(internalError),
	CertError:     []byte("* BYE SSL certificate error\r\n"),
	NoCert:        []byte("* BYE No required SSL certificate\r\n"),
	// TryLater and TooManyConnections replace the greeting (RFC 3501
	// §7.1.5 BYE, RFC 5530 UNAVAILABLE); LimitConn is freenginx's tagged
	// reply; TooManyCommands is nginx's invalid-command reply.
	TryLater:           []byte("* BYE [UNAVAILABLE] Too many connections, try again later\r\n"),
	TooManyConnections: []byte("* BYE [UNAVAILABLE] Too many connections\r\n"),
	LimitConn:          []byte("NO [UNAVAILABLE] Too many connections\r\n"),
	TooManyCommands:    []byte(badCommand),
	Tagged:             true,
}

// Options are the IMAP directives of one server.
type Options struct {
	ServerName   string
	Capabilities []string // imap_capabilities, verbatim
	Auth         []string // imap_auth methods and sasl-ir, lower case
	StartTLS     session.StartTLS
	ClientBuffer int // imap_client_buffer
	MaxErrors    int
	// ID is the server's answer to ID (imap_id, beyond nginx): nil for
	// NIL. ID is answered (and CAPABILITY lists it) when ID is not nil,
	// Forward or PassID is set; otherwise it is an unknown command, as
	// for nginx.
	ID []IDField
	// Forward sends the client's ID fields and its address to the
	// backend in an ID command before LOGIN (proxy_forward imap_id).
	Forward bool
	// PassID sends the client's ID fields to the auth service as
	// Client-IMAP-ID (auth_http_pass_client_details).
	PassID      bool
	MaxCommands int // max_commands; 0: session.DefaultMaxCommands
}

// Server holds what is computed once per configuration: the capability
// lines for each connection state.
type Server struct {
	bufs         *session.BufPool // client buffers
	opts         Options
	mechs        sasl.Mechanisms
	capsTLS      []byte // starttls off, or the connection is TLS
	capsStartTLS []byte // starttls on, not TLS yet
	capsOnly     []byte // starttls only, not TLS yet
	answerID     bool   // ID is a command
	idReply      []byte // "* ID ...\r\n"
}

// NewServer precomputes the capability lines (SPEC §4.4).
func NewServer(o Options) *Server {
	s := &Server{opts: o, mechs: sasl.Enabled(o.Auth)}
	if s.opts.ClientBuffer <= 0 {
		s.opts.ClientBuffer = 4096
	}
	if s.opts.MaxCommands <= 0 {
		s.opts.MaxCommands = session.DefaultMaxCommands
	}
	s.bufs = session.NewBufPool(s.opts.ClientBuffer)
	var base, auth strings.Builder
	base.WriteString("* CAPABILITY")
	for _, c := range o.Capabilities {
		base.WriteString(" " + c)
	}
	s.answerID = o.ID != nil || o.Forward || o.PassID
	if s.answerID {
		s.idReply = []byte("* ID " + formatID(o.ID) + "\r\n")
		if !slices.ContainsFunc(o.Capabilities, func(c string) bool { return strings.EqualFold(c, "ID") }) {
			base.WriteString(" ID")
		}
	}
	if slices.Contains(o.Auth, "sasl-ir") {
		// RFC 4959: the initial response nginx's parser always took.
		auth.WriteString(" SASL-IR")
	}
	for _, name := range s.mechs.Names() {
		auth.WriteString(" AUTH=" + name)
	}
	s.capsTLS = []byte(base.String() + auth.String() + "\r\n")
	s.capsStartTLS = []byte(base.String() + auth.String() + " STARTTLS\r\n")
	s.capsOnly = []byte(base.String() + " STARTTLS LOGINDISABLED\r\n")
	return s
}

// Name is the protocol's name in Auth-Protocol, logs and metrics.
func (s *Server) Name() string { return "imap" }

// Replies returns the protocol's fixed replies.
func (s *Server) Replies() *session.Replies { return Replies }

// Serve runs the pre-auth dialogue on c until the auth service accepts a
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

// capabilities returns the CAPABILITY line for the connection's state.
func (s *Server) capabilities(tls bool) []byte {
	return s.opts.StartTLS.Pick(tls, s.capsTLS, s.capsStartTLS, s.capsOnly)
}
