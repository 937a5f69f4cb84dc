// Package smtp is the SMTP side of the proxy: the pre-auth dialogue with
// the client exactly as nginx's mail module speaks it (SPEC.md §6, §7,
// §10.4), including the client host lookup and the greeting delay, and
// nginx's login dialogue with the backend (§11.4): its own EHLO/HELO,
// XCLIENT, the client's HELO/EHLO replayed, AUTH PLAIN for
// proxy_smtp_auth, and MAIL/RCPT for `smtp_auth none`.
//
// The package never dials, never talks HTTP and never splices: the
// session engine drives its Core and the proxy runs the login it returns.
package smtp

import (
	"slices"
	"strings"
	"time"

	"mailproxy/internal/resolver"
	"mailproxy/internal/sasl"
	"mailproxy/internal/session"
)

// Fixed replies (SPEC §2.2, §6.1).
const (
	replyOK              = "250 2.0.0 OK\r\n"
	replyBye             = "221 2.0.0 Bye\r\n"
	replyStartTLS        = "220 2.0.0 Start TLS\r\n"
	replyNext            = "334 \r\n"
	replyUsername        = "334 VXNlcm5hbWU6\r\n"
	replyPassword        = "334 UGFzc3dvcmQ6\r\n"
	replyInvalidCommand  = "500 5.5.1 Invalid command\r\n"
	replyInvalidArgument = "501 5.5.4 Invalid argument\r\n"
	replyBadSequence     = "503 5.5.1 Bad sequence of commands\r\n"
	replyAuthRequired    = "530 5.7.1 Authentication required\r\n"
	replyPipelining      = "503 5.5.0 Improper use of SMTP command pipelining\r\n"
	replyAuthOK          = "235 2.0.0 OK\r\n"
	internalError        = "451 4.3.2 Internal server error\r\n"
)

// Replies are the SMTP texts the engine and the proxy send (SPEC §2.2).
var Replies = &session.Replies{
	InternalError: []byte(internalError),
	CertError:     []byte("421 4.7.1 SSL certificate error\r\n"),
	NoCert:        []byte("421 4.7.1 No required SSL certificate\r\n"),
	// TryLater and TooManyConnections replace the greeting (421 closes the
	// channel, RFC 5321 §3.8); LimitConn is freenginx's reply;
	// TooManyCommands is nginx's invalid-command reply.
	TryLater:           []byte("421 4.3.2 Too many connections, try again later\r\n"),
	TooManyConnections: []byte("421 4.7.0 Too many connections\r\n"),
	LimitConn:          []byte("454 4.7.0 Too many connections\r\n"),
	TooManyCommands:    []byte(replyInvalidCommand),
}

// Options are the SMTP directives of one server.
type Options struct {
	ServerName    string
	Capabilities  []string // smtp_capabilities, verbatim
	Auth          []string // smtp_auth: plain login cram-md5 external none
	StartTLS      session.StartTLS
	ClientBuffer  int // smtp_client_buffer
	MaxErrors     int
	MaxCommands   int                // max_commands; 0: session.DefaultMaxCommands
	GreetingDelay time.Duration      // smtp_greeting_delay
	XClient       bool               // xclient (default on)
	ProxySMTPAuth bool               // proxy_smtp_auth
	Resolver      *resolver.Resolver // nil: resolver off
}

// Server holds what is computed once per configuration: the greeting, the
// HELO reply and the EHLO reply for each connection state.
type Server struct {
	bufs         *session.BufPool // client buffers
	opts         Options
	mechs        sasl.Mechanisms
	none         bool
	chunking     bool // CHUNKING advertised: BDAT chunks are discarded before login
	greeting     []byte
	helo         []byte
	ehloTLS      []byte // starttls off, or the connection is TLS
	ehloStartTLS []byte // starttls on, not TLS yet
	ehloOnly     []byte // starttls only, not TLS yet
}

// NewServer precomputes the fixed replies (SPEC §6.1, §6.5). A
// non-positive ClientBuffer means one page (4096 bytes).
func NewServer(o Options) *Server {
	s := &Server{opts: o}
	if s.opts.ClientBuffer <= 0 {
		s.opts.ClientBuffer = 4096
	}
	if s.opts.MaxCommands <= 0 {
		s.opts.MaxCommands = session.DefaultMaxCommands
	}
	s.bufs = session.NewBufPool(s.opts.ClientBuffer)
	s.mechs, s.none = sasl.Enabled(o.Auth), slices.Contains(o.Auth, "none")
	s.chunking = hasChunking(o.Capabilities)
	s.greeting = []byte("220 " + o.ServerName + " ESMTP ready\r\n")
	s.helo = []byte("250 " + o.ServerName + "\r\n")

	base := append([]string{o.ServerName}, o.Capabilities...)
	auth := "AUTH"
	for _, name := range s.mechs.Names() {
		auth += " " + name
	}
	withAuth := base
	if auth != "AUTH" {
		withAuth = append(append([]string(nil), base...), auth)
	}
	s.ehloTLS = ehloReply(withAuth)
	s.ehloStartTLS = ehloReply(append(append([]string(nil), withAuth...), "STARTTLS"))
	s.ehloOnly = ehloReply(append(append([]string(nil), base...), "STARTTLS"))
	return s
}

// ehloReply joins lines as a multi-line 250 reply: "250-" before every
// line but the last, "250 " before the last.
func ehloReply(lines []string) []byte {
	var b strings.Builder
	for i, l := range lines {
		if i == len(lines)-1 {
			b.WriteString("250 ")
		} else {
			b.WriteString("250-")
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// ehlo returns the EHLO reply for the connection's state: STARTTLS is
// offered after AUTH while TLS is possible, and `starttls only` hides the
// AUTH line until TLS is up.
func (s *Server) ehlo(tls bool) []byte {
	return s.opts.StartTLS.Pick(tls, s.ehloTLS, s.ehloStartTLS, s.ehloOnly)
}

// Name is the protocol's name in Auth-Protocol, logs and metrics.
func (s *Server) Name() string { return "smtp" }

// Replies returns the protocol's fixed replies.
func (s *Server) Replies() *session.Replies { return Replies }
