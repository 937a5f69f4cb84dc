package proxy

import (
	"time"

	"mailproxy/internal/outcome"
)

// Observer receives the events metrics are made of. Every method must be
// safe for concurrent use and return quickly; a nil Observer is allowed
// (nothing is observed).
type Observer interface {
	// SessionStarted: a connection was accepted.
	SessionStarted(protocol string)
	// SessionEnded: a connection closed, with its outcome (the value the
	// summary line prints; its Label is the metric label) and the bytes
	// relayed each way after login.
	SessionEnded(protocol string, o outcome.Outcome, toBackend, toClient int64, d time.Duration)
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
	// Refused: a limit refused a connection (reason max_connections or
	// descriptors at connect, limit_conn at connect or at login), or a
	// dry run let through one it would have refused (limit_conn_dry_run).
	Refused(protocol, reason string)
	// AcceptPaused: an accept loop paused because the process is out of
	// descriptors ("descriptors") or refusals in flight are at their
	// bound ("refusals").
	AcceptPaused(reason string)
	// StoreError: a call to a shared store failed or timed out; use is
	// "limit_conn", "login_throttle" or "ssl_session".
	StoreError(use string)
}

// SetObserver makes o receive the server's events from now on; nil stops
// observing. It is safe to call at any time.
func (s *Server) SetObserver(o Observer) {
	if o == nil {
		s.obs.Store(nil)
		return
	}
	s.obs.Store(&o)
}

// observer returns the current Observer, never nil.
func (s *Server) observer() Observer {
	if o := s.obs.Load(); o != nil {
		return *o
	}
	return noObserver{}
}

// noObserver observes nothing.
type noObserver struct{}

func (noObserver) SessionStarted(string)                                             {}
func (noObserver) SessionEnded(string, outcome.Outcome, int64, int64, time.Duration) {}
func (noObserver) AuthRequest(string, string, time.Duration)                         {}
func (noObserver) BackendFailure(string, string)                                     {}
func (noObserver) TLSHandshake(string, string)                                       {}
func (noObserver) Reload(bool)                                                       {}
func (noObserver) Refused(string, string)                                            {}
func (noObserver) AcceptPaused(string)                                               {}
func (noObserver) StoreError(string)                                                 {}
