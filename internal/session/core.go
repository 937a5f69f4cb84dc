package session

import (
	"context"
	"net"
	"time"

	"mailproxy/authhttp"
)

// Core is one protocol's pre-login dialogue as a state machine without
// I/O: it is fed the buffered client bytes and answers with an Action.
// The driver (Run) owns the socket, the buffer, the deadline, STARTTLS,
// max_errors and the auth round trip; a Core owns the grammar, the
// dispatch and the reply texts. A Core is used by one session at a time.
type Core interface {
	// Greeting returns the bytes sent first.
	Greeting() []byte
	// Next looks at the unconsumed buffered bytes (in, possibly empty),
	// consumes n of them and says what to do. in is valid only until
	// Next returns: a Core keeps copies. A Next that consumes bytes and
	// neither answers a parser error (Counted) nor asks for more has
	// taken one command or SASL response line: the driver counts it for
	// max_commands and, past the limit, sends the TooManyCommands reply
	// instead of a.Reply and ends the session, as nginx does.
	Next(in []byte) (n int, a Action)
	// TooLong is called instead of reading when the last Action was
	// NeedMore and the buffer is full: the command starting in (the
	// unconsumed bytes) does not fit.
	TooLong(in []byte) Action
	// TLSStarted is called once a STARTTLS handshake succeeded; it
	// returns the bytes to send then (nil for none).
	TLSStarted() []byte
	// Refused returns the reply to a login the auth service refused
	// (Auth-Status other than OK); the driver sends it, after the
	// Auth-Wait delay when one was given.
	Refused(resp *authhttp.Response) []byte
	// SASLError is called, after Refused, when the refusal carries an
	// Auth-Error-SASL challenge (freenginx's XOAUTH2 and OAUTHBEARER
	// failure dialogue). It returns the challenge text framed as the
	// protocol frames SASL challenges, and the Core then takes the
	// client's next line as the answer to it: the mechanism's
	// acknowledgement is answered with an Action whose Do is Refuse,
	// anything else with the protocol's error. It returns nil when the
	// refused login used no mechanism with that dialogue; the refusal is
	// then answered as any other.
	SASLError(text string) []byte
	// Accepted completes l, the login the auth service accepted (resp)
	// for the last Authenticate action (backend, user and password after
	// the answer's overrides, pipelined bytes), with the protocol's
	// hand-over: the backend login dialogue.
	Accepted(l *Login, resp *authhttp.Response)
}

// Do is what the driver does after sending an Action's Reply.
type Do uint8

const (
	// Continue calls Next again on the remaining buffered bytes.
	Continue Do = iota
	// NeedMore reads more client bytes, then calls Next again (TooLong
	// instead when the buffer is full).
	NeedMore
	// NeedMoreCompact is NeedMore for a line that may be moved to the
	// front of the buffer to make room (IMAP's SASL responses).
	NeedMoreCompact
	// UpgradeTLS discards every buffered byte (command injection), runs
	// the TLS handshake under the running deadline, then calls
	// TLSStarted.
	UpgradeTLS
	// Authenticate sends Auth to the auth service and acts on the
	// verdict: Accepted ends the dialogue with a login; a refusal is
	// answered with Refused's reply and, after a positive Auth-Wait, the
	// dialogue goes on with a fresh deadline; otherwise it ends.
	Authenticate
	// End ends the dialogue with Err (ErrClosed for a deliberate end).
	End
	// Refuse sends the failure reply of the refused login whose
	// Auth-Error-SASL challenge the client has just acknowledged (see
	// Core.SASLError) in place of Reply.
	Refuse
)

// Action is a Core's answer: bytes to send, then what to do.
type Action struct {
	Reply []byte
	Do    Do
	// Counted marks Reply as the answer to a parser error, counted for
	// max_errors: at the limit the session ends after the reply.
	Counted bool
	// Auth is the request for Authenticate; the driver sets its
	// Auth-Login-Attempt and the connection's facts.
	Auth *authhttp.Request
	// Err is End's reason.
	Err error
	// Tag is the tag of the command the action answers, for a protocol
	// whose replies are tagged (Replies.Tagged): the driver's own replies
	// to that command (too many commands, a login over a connection
	// limit) carry it. It may point into the bytes Next was given: the
	// driver uses it before reading again.
	Tag []byte
}

// Handover runs a protocol's backend login dialogue on conn for l and
// returns the bytes to relay to the client before splicing. bufSize is
// proxy_buffer; the dialogue must end by deadline. Failures are
// *BackendError. The caller owns conn.
type Handover interface {
	LoginBackend(conn net.Conn, l *Login, bufSize int, deadline time.Time) ([]byte, error)
}

// Replies are a protocol's fixed replies that the engine and the proxy
// send on its behalf, each ending in CRLF.
type Replies struct {
	// InternalError is sent before closing on an infrastructure failure
	// (auth service, backend).
	InternalError []byte
	// CertError and NoCert end a session whose client certificate failed
	// verification or is missing (ssl_verify_client).
	CertError, NoCert []byte
	// TryLater is sent instead of the greeting to a client refused at
	// connect because the server is at max_connections, or out of
	// descriptors; the connection is then closed.
	TryLater []byte
	// TooManyConnections is sent instead of the greeting to a client
	// over a limit_conn limit counted from connect ($remote_addr).
	TooManyConnections []byte
	// LimitConn answers a login that a limit_conn limit refuses
	// (freenginx's reply); the session ends.
	LimitConn []byte
	// TooManyCommands answers the command past max_commands (freenginx:
	// the invalid-command reply); the session ends.
	TooManyCommands []byte
	// Tagged: LimitConn and TooManyCommands follow the tag of the command
	// they answer and a space ("*" when there is none), as IMAP's tagged
	// replies do.
	Tagged bool
}

// DefaultMaxCommands is nginx's default max_commands: commands (and SASL
// response lines) a client may send before login.
const DefaultMaxCommands = 1000

// StartTLS is the starttls directive, as every front end reads it.
type StartTLS uint8

const (
	StartTLSOff  StartTLS = iota // STARTTLS not offered
	StartTLSOn                   // offered
	StartTLSOnly                 // required before any login
)

// Protocol is a front end as the proxy sees it: one per configured
// server, shared by its sessions.
type Protocol interface {
	// Name is the protocol's name in logs, metrics and Auth-Protocol.
	Name() string
	// Serve runs the pre-login dialogue on c until the auth service
	// accepts a login, which it returns, or the session is over (see
	// Run). The caller owns and closes c.Conn.
	Serve(ctx context.Context, c *Conn) (*Login, error)
	// Replies returns the protocol's fixed replies.
	Replies() *Replies
}

// Pick chooses a capability listing for the connection's state: off
// when STARTTLS is not offered or TLS is already up, on while it is
// offered, only while it is required before any login.
func (s StartTLS) Pick(tls bool, off, on, only []byte) []byte {
	switch {
	case tls || s == StartTLSOff:
		return off
	case s == StartTLSOnly:
		return only
	}
	return on
}
