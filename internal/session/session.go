// Package session is the pre-login engine every protocol runs on, and the
// types the proxy and the protocol front ends exchange. A front end is a
// Core (grammar, dispatch, reply texts) that Run drives: Run owns the
// client buffer and its limits, the `timeout` deadline, reads and writes,
// STARTTLS, max_errors and the auth verdict (Auth-Wait, retries); the
// front end returns a Login whose Handover does its backend login.
package session

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"mailproxy/authhttp"
)

// Conn is the client side of one session, lent by the proxy to a front end
// for the pre-auth dialogue. The front end reads and writes Conn.Conn
// directly and never closes it: the proxy owns and closes it.
type Conn struct {
	// Conn is the current client connection; StartTLS replaces it.
	Conn net.Conn
	// TLS tells whether Conn is a TLS connection (implicit or STARTTLS).
	TLS bool
	// Client is the client's address after realip (SPEC §12.2): what
	// Client-IP, the SMTP client host lookup and XCLIENT ADDR= use.
	Client netip.AddrPort
	// Local is the address the client connected to: the destination of
	// a trusted PROXY header, else mailproxy's own side of the
	// connection. The backend login forwards it (proxy_forward).
	Local netip.AddrPort
	// SessionID names the session to the backend (IMAP ID
	// x-session-id, POP3 XCLIENT SESSION=) and in the summary line;
	// empty unless proxy_forward is on.
	SessionID string
	// Timeout is the `timeout` directive: the pre-auth deadline is armed
	// at the greeting (not re-armed by commands) and every reply write is
	// bounded by it.
	Timeout time.Duration
	Log     *slog.Logger

	// Authenticate completes req with the connection's facts (client
	// address, PROXY and TLS details), sends it to the auth service,
	// repeats it on Auth-Status: WAIT, and returns the verdict. An error
	// means the front end must send its internal-error reply and end;
	// ErrLimited, its LimitConn reply (a connection limit refused the
	// login the auth service accepted).
	Authenticate func(ctx context.Context, req *authhttp.Request) (*authhttp.Response, error)
	// StartTLS runs the server TLS handshake on Conn, bounded by
	// deadline, and replaces Conn with the TLS connection. The front end
	// must have discarded its buffered plaintext before calling it.
	StartTLS func(deadline time.Time) error
}

// Login is what a front end returns once the auth service accepted the
// credentials: where to log in, as whom, the client bytes that follow the
// authenticating command, and the protocol's own backend login.
type Login struct {
	Backend netip.AddrPort
	// Host and Port name the backend when Auth-Server was a host name
	// (proxy_resolve); Backend is then invalid.
	Host     string
	Port     uint16
	Upstream string // Auth-Server:Auth-Port as nginx logs it
	User     string // after the auth service's Auth-User override
	Pass     string // after the auth service's Auth-Pass override
	// Pipelined holds client bytes read after the authenticating
	// command; they go to the backend once the login succeeded.
	Pipelined []byte
	// Handover runs the backend login dialogue; it carries whatever the
	// protocol needs from the pre-login dialogue (the IMAP tag, SMTP's
	// HELO and envelope…).
	Handover Handover

	// SSLBackend and SSLBackendName are the auth answer's choice of TLS
	// to the backend (Auth-SSL-Backend, Auth-SSL-Backend-Name; "" when
	// absent), which the proxy applies.
	SSLBackend, SSLBackendName string
	// StartTLS, set by the proxy when the backend must be asked for TLS
	// (proxy_ssl starttls), makes the backend login send the protocol's
	// STARTTLS (IMAP STARTTLS, POP3 STLS, SMTP STARTTLS after EHLO,
	// ManageSieve STARTTLS) right after the greeting, refuse any byte
	// the backend sent after its reply, and call StartTLS with the
	// plaintext connection; the dialogue then goes on over the
	// connection it returns. No credential is sent before StartTLS
	// returned; a backend that does not offer or refuses STARTTLS fails
	// with ErrNoStartTLS (BackendError.Reply nil: never relayed), and a
	// StartTLS error ends the login with it.
	StartTLS func(plain net.Conn) (net.Conn, error)
}

// ErrNoStartTLS is a backend that does not offer STARTTLS, refuses it or
// sends bytes after its answer to it (which a man in the middle could
// have injected into the plaintext).
var ErrNoStartTLS = errors.New("the backend does not offer STARTTLS")

// ErrClosed reports a session the front end ended on purpose (LOGOUT,
// QUIT, too many errors, a refused login): nothing more to send.
var ErrClosed = errors.New("session closed")

// BackendError is a failed backend login dialogue.
type BackendError struct {
	// Text is the log text (nginx's `upstream sent invalid response: "…"`
	// tail, or the transport error).
	Text string
	// Reply holds the backend bytes to pass to the client when
	// proxy_pass_error_message is on; nil when the failure was not a
	// rejection by the backend (connection error, timeout, overlong line).
	Reply []byte
	Err   error
	// Greeting marks a refusal in the backend's greeting: nothing of the
	// login was sent, so another backend may be tried (failover).
	Greeting bool
}

func (e *BackendError) Error() string {
	if e.Err != nil {
		return e.Text + ": " + e.Err.Error()
	}
	return e.Text
}

func (e *BackendError) Unwrap() error { return e.Err }
