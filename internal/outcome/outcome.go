// Package outcome names how a client session ended. The proxy sets one
// Outcome (with the error that caused it) per session; the session's
// summary log line prints its text and the metrics count it under its
// label. Both come from the same value: no label is ever derived from
// text, so rewording a log message cannot move a metric.
//
// The package imports nothing of mailproxy, so that proxy and
// internal/metrics can both use it.
package outcome

// Outcome is why a session ended. The zero value, None, means that it has
// not ended (yet).
type Outcome uint8

// The outcomes, with their metric label and summary text:
//
//	None               error                (not ended; never logged)
//	ClientClosed       client_closed        client closed
//	BackendClosed      backend_closed       backend closed
//	IdleTimeout        idle_timeout         proxy_timeout
//	ClosedBeforeLogin  no_login             closed before login
//	EndedBeforeLogin   no_login             ended before login: <err>
//	Timeout            timeout              client timed out
//	BackendFailed      backend_failed       backend login failed
//	BadProxyHeader     bad_proxy_header     bad PROXY header
//	TLSFailed          tls_failed           TLS handshake failed
//	ClientCertRefused  client_cert_refused  client certificate refused
//	ClientError        client_error         client error: <err>
//	ClientWriteFailed  client_error         client write failed
//	BackendError       backend_error        backend error: <err>
//	BackendWriteFailed backend_error        backend write failed
//	Shutdown           shutdown             closed by server
//	Panic              error                panic
//	Limited            limited              too many connections
//	Throttled          throttled            login throttled
const (
	// None: the session has not ended. open and the relay's pumps
	// return it to mean "go on".
	None Outcome = iota
	// ClientClosed: the client closed its side after login.
	ClientClosed
	// BackendClosed: the backend closed its side after login.
	BackendClosed
	// IdleTimeout: the client sent nothing for proxy_timeout after login.
	IdleTimeout
	// ClosedBeforeLogin: the front end ended the session on purpose
	// before login (LOGOUT/QUIT, a refused login, too many errors).
	ClosedBeforeLogin
	// EndedBeforeLogin: an error ended the session before login (the
	// client went away, the auth service failed, …); the text carries
	// the error.
	EndedBeforeLogin
	// Timeout: `timeout` passed before login ended.
	Timeout
	// BackendFailed: connecting to the backend or its login dialogue
	// failed.
	BackendFailed
	// BadProxyHeader: a proxy_protocol listener got no valid PROXY header.
	BadProxyHeader
	// TLSFailed: the handshake of an ssl listener failed.
	TLSFailed
	// ClientCertRefused: ssl_verify_client refused the client.
	ClientCertRefused
	// ClientError: reading from or writing to the client failed after
	// login; the text carries the error.
	ClientError
	// ClientWriteFailed: the backend's login reply could not be written
	// to the client.
	ClientWriteFailed
	// BackendError: reading from or writing to the backend failed after
	// login; the text carries the error.
	BackendError
	// BackendWriteFailed: the commands the client pipelined after its
	// login could not be written to the backend.
	BackendWriteFailed
	// Shutdown: the server cut the session (a hard stop, or
	// shutdown_timeout ran out).
	Shutdown
	// Panic: the session's goroutine panicked.
	Panic
	// Limited: a connection limit (limit_conn) refused the session, at
	// connect or at login.
	Limited
	// Throttled: login_throttle refused the session's last login (its
	// refusal ended the session).
	Throttled

	count // number of outcomes; keep last
)

// ErrorLabel is the label of None, Panic and any value not listed above.
const ErrorLabel = "error"

type info struct {
	label string // metric label
	text  string // summary line text
	// detail: the summary text is followed by ": " and the error's text
	// (when there is an error).
	detail bool
}

var table = [count]info{
	None:               {ErrorLabel, "none", false},
	ClientClosed:       {"client_closed", "client closed", false},
	BackendClosed:      {"backend_closed", "backend closed", false},
	IdleTimeout:        {"idle_timeout", "proxy_timeout", false},
	ClosedBeforeLogin:  {"no_login", "closed before login", false},
	EndedBeforeLogin:   {"no_login", "ended before login", true},
	Timeout:            {"timeout", "client timed out", false},
	BackendFailed:      {"backend_failed", "backend login failed", false},
	BadProxyHeader:     {"bad_proxy_header", "bad PROXY header", false},
	TLSFailed:          {"tls_failed", "TLS handshake failed", false},
	ClientCertRefused:  {"client_cert_refused", "client certificate refused", false},
	ClientError:        {"client_error", "client error", true},
	ClientWriteFailed:  {"client_error", "client write failed", false},
	BackendError:       {"backend_error", "backend error", true},
	BackendWriteFailed: {"backend_error", "backend write failed", false},
	Shutdown:           {"shutdown", "closed by server", false},
	Panic:              {ErrorLabel, "panic", false},
	Limited:            {"limited", "too many connections", false},
	Throttled:          {"throttled", "login throttled", false},
}

// All returns every Outcome, None included, in order.
func All() []Outcome {
	all := make([]Outcome, count)
	for i := range all {
		all[i] = Outcome(i)
	}
	return all
}

// Label returns o's metric label: one of a small fixed set, "error" for a
// value that is not a known Outcome.
func (o Outcome) Label() string {
	if o >= count {
		return ErrorLabel
	}
	return table[o].label
}

// String returns o's summary text without any error detail, e.g.
// "client closed" or "ended before login".
func (o Outcome) String() string {
	if o >= count {
		return "unknown"
	}
	return table[o].text
}

// With returns the End of a session that ended with o because of err (nil
// when no error caused it).
func (o Outcome) With(err error) End { return End{Outcome: o, Err: err} }

// End is how a session ended: its Outcome and the error that caused it,
// if any. The zero End (None) means not ended.
type End struct {
	Outcome Outcome
	Err     error
}

// Ended reports whether e is an end (its Outcome is not None).
func (e End) Ended() bool { return e.Outcome != None }

// String returns the summary line's outcome text: the Outcome's text,
// followed for EndedBeforeLogin, ClientError and BackendError by ": " and
// the error's text, e.g. "ended before login: EOF". Only the log line
// reads it; the metric label is e.Outcome.Label().
func (e End) String() string {
	s := e.Outcome.String()
	if e.Err != nil && e.Outcome < count && table[e.Outcome].detail {
		s += ": " + e.Err.Error()
	}
	return s
}
