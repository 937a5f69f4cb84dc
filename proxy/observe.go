package proxy

import "time"

// Observer receives the events metrics are made of. Every method must be
// safe for concurrent use and return quickly; a nil Observer is allowed
// (nothing is observed).
type Observer interface {
	// SessionStarted: a connection was accepted.
	SessionStarted(protocol string)
	// SessionEnded: a connection closed, with its summary outcome and the
	// bytes relayed each way after login.
	SessionEnded(protocol, outcome string, toBackend, toClient int64, d time.Duration)
	// AuthRequest: one auth_http round trip; result is "ok", "fail",
	// "wait" or "error".
	AuthRequest(protocol, result string, d time.Duration)
	// BackendFailure: the backend could not be reached ("connect") or
	// refused the login dialogue ("login").
	BackendFailure(protocol, stage string)
	// TLSHandshake: a client TLS handshake ended; version is OpenSSL's
	// name ("TLSv1.3") or "failed".
	TLSHandshake(protocol, version string)
	// Reload: a configuration reload was attempted.
	Reload(ok bool)
}
