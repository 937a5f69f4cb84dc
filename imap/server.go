// Package imap is the IMAP side of the proxy: the pre-auth dialogue with
// the client exactly as nginx's mail module speaks it (SPEC.md §4, §7,
// §10.4) and nginx's LOGIN dialogue with the backend (§11.2).
//
// The package never dials, never talks HTTP and never splices: the proxy
// lends it a session.Conn and receives a session.Login.
package imap

import (
	"strings"

	"mailproxy/config"
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

// InternalError is the reply sent before closing on any infrastructure
// failure (auth service, backend).
var InternalError = []byte(internalError)

// Options are the IMAP directives of one server.
type Options struct {
	ServerName   string
	Capabilities []string // imap_capabilities, verbatim
	Auth         []string // imap_auth methods, lower case
	StartTLS     config.StartTLS
	ClientBuffer int // imap_client_buffer
	MaxErrors    int
}

// Server holds what is computed once per configuration: the capability
// lines for each connection state.
type Server struct {
	bufs         *session.BufPool // client buffers
	opts         Options
	cramMD5      bool
	external     bool
	capsTLS      []byte // starttls off, or the connection is TLS
	capsStartTLS []byte // starttls on, not TLS yet
	capsOnly     []byte // starttls only, not TLS yet
}

// NewServer precomputes the capability lines (SPEC §4.4).
func NewServer(o Options) *Server {
	s := &Server{opts: o}
	if s.opts.ClientBuffer <= 0 {
		s.opts.ClientBuffer = 4096
	}
	s.bufs = session.NewBufPool(s.opts.ClientBuffer)
	var base, auth strings.Builder
	base.WriteString("* CAPABILITY")
	for _, c := range o.Capabilities {
		base.WriteString(" " + c)
	}
	for _, m := range []string{"plain", "login", "cram-md5", "external"} {
		if has(o.Auth, m) {
			auth.WriteString(" AUTH=" + strings.ToUpper(m))
		}
	}
	s.cramMD5, s.external = has(o.Auth, "cram-md5"), has(o.Auth, "external")
	s.capsTLS = []byte(base.String() + auth.String() + "\r\n")
	s.capsStartTLS = []byte(base.String() + auth.String() + " STARTTLS\r\n")
	s.capsOnly = []byte(base.String() + " STARTTLS LOGINDISABLED\r\n")
	return s
}

// capabilities returns the CAPABILITY line for the connection's state.
func (s *Server) capabilities(tls bool) []byte {
	switch {
	case tls || s.opts.StartTLS == config.StartTLSOff:
		return s.capsTLS
	case s.opts.StartTLS == config.StartTLSOnly:
		return s.capsOnly
	}
	return s.capsStartTLS
}

func has(list []string, m string) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}

const (
	configOff  = config.StartTLSOff
	configOnly = config.StartTLSOnly
)
