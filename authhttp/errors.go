package authhttp

import (
	"errors"
	"strconv"
	"syscall"
)

// Every error returned by Client.Do or ParseResponse is a *ResponseError or
// a *TransportError (Do also returns a plain error for a nil Request). The
// caller answers every one of them with nginx's internal-error reply
// (SPEC §2.2, §9.6) and logs LogMessage(client.Addr(), err) at level err.

// ResponseErrorKind tells which of nginx's checks an answer failed.
type ResponseErrorKind int

// The kinds of *ResponseError, in the order nginx checks them.
const (
	// InvalidResponse: the status line holds a CR not followed by LF.
	InvalidResponse ResponseErrorKind = iota + 1
	// InvalidHeader: a header line breaks nginx's syntax (§10.1).
	InvalidHeader
	// MissingServerOrPort: Auth-Server or Auth-Port absent or empty.
	MissingServerOrPort
	// MissingPassword: IMAP/POP3 apop, cram-md5 or external without an
	// Auth-Pass in the answer.
	MissingPassword
	// InvalidServerAddress: Auth-Server is not an IPv4/IPv6 literal.
	InvalidServerAddress
	// InvalidServerPort: Auth-Port is not a decimal number in 1..65535.
	InvalidServerPort
	// InvalidBackendMethod: Auth-Backend-Method (beyond nginx) is neither
	// xoauth2 nor oauthbearer.
	InvalidBackendMethod
	// InvalidSSLBackend: Auth-SSL-Backend is not on, starttls or off
	// (beyond nginx).
	InvalidSSLBackend
	// InvalidSSLBackendName: Auth-SSL-Backend-Name is not a host name
	// (beyond nginx).
	InvalidSSLBackendName
	// ServerError: with several auth_http URLs, every one failed and the
	// last answered with a 5xx status (Value); a single auth_http never
	// looks at the status, as nginx.
	ServerError
)

// ResponseError is an answer nginx refuses to act on.
type ResponseError struct {
	Kind ResponseErrorKind
	// Value is the offending Auth-Server or Auth-Port value, verbatim, for
	// InvalidServerAddress, InvalidServerPort and InvalidBackendMethod;
	// empty otherwise.
	Value string
}

// Error returns nginx's log text after "auth http server ADDR:PORT ", e.g.
// `sent invalid server address:"localhost"`.
func (e *ResponseError) Error() string {
	switch e.Kind {
	case InvalidResponse:
		return "sent invalid response"
	case InvalidHeader:
		return "sent invalid header in response"
	case MissingServerOrPort:
		return "did not send server or port"
	case MissingPassword:
		return "did not send password"
	case InvalidServerAddress:
		return `sent invalid server address:"` + e.Value + `"`
	case InvalidServerPort:
		return `sent invalid server port:"` + e.Value + `"`
	case InvalidBackendMethod:
		return `sent invalid Auth-Backend-Method:"` + e.Value + `"`
	case InvalidSSLBackend:
		return `sent invalid Auth-SSL-Backend:"` + e.Value + `"`
	case ServerError:
		return "answered with status " + e.Value
	case InvalidSSLBackendName:
		return `sent invalid Auth-SSL-Backend-Name:"` + e.Value + `"`
	}
	return "sent unusable response (kind " + strconv.Itoa(int(e.Kind)) + ")"
}

// TransportErrorKind tells how the exchange with the auth server failed.
type TransportErrorKind int

// The kinds of *TransportError.
const (
	// TimedOut: the client's timeout expired (connect, send or reading
	// the head). Err is the underlying timeout error.
	TimedOut TransportErrorKind = iota + 1
	// ConnectFailed: the connection could not be opened.
	ConnectFailed
	// SendFailed: writing the request failed.
	SendFailed
	// RecvFailed: reading the answer failed (other than EOF).
	RecvFailed
	// ClosedEarly: the server closed the connection before the empty line
	// ending the header block (or, from ParseResponse, the head given is
	// not complete). nginx logs nothing for this.
	ClosedEarly
	// HeadTooLarge: no empty line within the first MaxHeadSize bytes.
	// nginx logs nothing for this.
	HeadTooLarge
	// Canceled: the caller's context ended first. Err is its cause.
	Canceled
	// HandshakeFailed: the TLS handshake with an https:// auth server
	// failed (its certificate did not verify, no common version…).
	HandshakeFailed
)

// TransportError means no usable answer was read.
type TransportError struct {
	Kind TransportErrorKind
	Err  error // underlying error; nil for ClosedEarly and HeadTooLarge
}

// Error returns nginx's wording where nginx has one: "timed out",
// "connect() failed (111: Connection refused)", "send() failed (…)",
// "recv() failed (…)".
func (e *TransportError) Error() string {
	switch e.Kind {
	case TimedOut:
		return "timed out"
	case ConnectFailed:
		return "connect() failed" + errnoSuffix(e.Err)
	case SendFailed:
		return "send() failed" + errnoSuffix(e.Err)
	case RecvFailed:
		return "recv() failed" + errnoSuffix(e.Err)
	case ClosedEarly:
		return "closed the connection before the end of the response header"
	case HeadTooLarge:
		return "sent a response header larger than " + strconv.Itoa(MaxHeadSize) + " bytes"
	case Canceled:
		return "request canceled" + errnoSuffix(e.Err)
	case HandshakeFailed:
		return "SSL handshake failed" + errnoSuffix(e.Err)
	}
	return "transport failure (kind " + strconv.Itoa(int(e.Kind)) + ")" + errnoSuffix(e.Err)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// LogMessage returns the message nginx writes to its error log for err (an
// error from Client.Do or ParseResponse), naming the auth server addr
// (Client.Addr), e.g.
//
//	auth http server 127.0.0.1:9000 sent invalid header in response
//	auth http server 127.0.0.1:9000 timed out (110: Connection timed out)
//	connect() failed (111: Connection refused)
//
// For ClosedEarly, HeadTooLarge and Canceled, where nginx logs nothing,
// it returns a message of the same shape so the failure is not silent.
func LogMessage(addr string, err error) string {
	var re *ResponseError
	if errors.As(err, &re) {
		return "auth http server " + addr + " " + re.Error()
	}
	var te *TransportError
	if errors.As(err, &te) {
		switch te.Kind {
		case ConnectFailed, SendFailed, RecvFailed:
			return te.Error()
		case TimedOut:
			return "auth http server " + addr + " timed out" +
				errnoSuffix(syscall.ETIMEDOUT)
		}
		return "auth http server " + addr + " " + te.Error()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// errnoSuffix formats err as nginx appends an errno: " (111: Connection
// refused)"; a non-errno error as " (text)"; nil as "".
func errnoSuffix(err error) string {
	if err == nil {
		return ""
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return " (" + strconv.Itoa(int(errno)) + ": " + strerror(errno) + ")"
	}
	return " (" + err.Error() + ")"
}

// strerror approximates glibc's strerror text: Go's texts are glibc's with
// the first letter lower-cased.
func strerror(errno syscall.Errno) string {
	s := errno.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
