// Package pop3 is the POP3 side of the proxy: the pre-auth dialogue with
// the client exactly as nginx's mail module speaks it (SPEC.md §5, §7,
// §10.4) and nginx's USER/PASS dialogue with the backend (§11.3).
//
// The package never dials, never talks HTTP and never splices: the proxy
// lends it a session.Conn and receives a session.Login.
package pop3

import (
	"strings"

	"mailproxy/config"
	"mailproxy/internal/session"
)

// bufferSize is nginx's fixed POP3 command buffer (SPEC §1.7, §3.3): it
// holds the unconsumed pipelined bytes plus the command being read.
const bufferSize = 128

// Fixed replies (SPEC §2.2, §5, §7).
const (
	greeting          = "+OK POP3 ready\r\n"
	greetingPrefix    = "+OK POP3 ready " // followed by the salt when one is made
	internalError     = "-ERR internal server error\r\n"
	okReply           = "+OK\r\n"
	invalidCommand    = "-ERR invalid command\r\n"
	plainChallenge    = "+ \r\n"
	usernameChallenge = "+ VXNlcm5hbWU6\r\n" // base64 "Username:"
	passwordChallenge = "+ UGFzc3dvcmQ6\r\n" // base64 "Password:"
)

// InternalError is the reply sent before closing on any infrastructure
// failure (auth service, backend).
var InternalError = []byte(internalError)

// Options are the POP3 directives of one server.
type Options struct {
	ServerName   string
	Capabilities []string        // pop3_capabilities, verbatim
	Auth         []string        // pop3_auth: plain apop cram-md5 external (lower case)
	StartTLS     config.StartTLS // starttls: off, on (STLS offered) or only
	// MaxErrors is max_errors: the session ends after this many parser
	// errors (the last one still answered).
	MaxErrors int
}

// Server holds what is computed once per configuration: which methods are
// enabled and the CAPA and AUTH listings for each connection state.
type Server struct {
	bufs     *session.BufPool // client buffers
	opts     Options
	apop     bool
	cramMD5  bool
	external bool
	salted   bool   // apop or cram-md5: the greeting carries a salt
	capa     []byte // starttls off, TLS already, or state "user"
	capaSTLS []byte // starttls on, not TLS yet
	capaOnly []byte // starttls only, not TLS yet: no USER item, no SASL line
	authList []byte // AUTH without an argument
}

// mechanisms maps each pop3_auth keyword to the SASL names it lists, in
// nginx's fixed order; apop is never listed (SPEC §5.5).
var mechanisms = []struct {
	method string
	names  []string
}{
	{"plain", []string{"PLAIN", "LOGIN"}},
	{"apop", nil},
	{"cram-md5", []string{"CRAM-MD5"}},
	{"external", []string{"EXTERNAL"}},
}

// NewServer precomputes the CAPA variants and the AUTH listing (SPEC
// §5.5) from pop3_capabilities, pop3_auth and starttls.
func NewServer(o Options) *Server {
	s := &Server{opts: o, bufs: session.NewBufPool(bufferSize)}
	s.apop, s.cramMD5, s.external = has(o.Auth, "apop"), has(o.Auth, "cram-md5"), has(o.Auth, "external")
	s.salted = s.apop || s.cramMD5

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
	for _, m := range mechanisms {
		if !has(o.Auth, m.method) {
			continue
		}
		for _, n := range m.names {
			saslLine += " " + n
			list += n + "\r\n"
		}
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
	if !stls || tls {
		return s.capa
	}
	switch s.opts.StartTLS {
	case config.StartTLSOn:
		return s.capaSTLS
	case config.StartTLSOnly:
		return s.capaOnly
	}
	return s.capa
}

func has(list []string, m string) bool {
	for _, x := range list {
		if x == m {
			return true
		}
	}
	return false
}
