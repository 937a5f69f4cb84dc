// Package authservice is an example and reference auth_http service for
// mailproxy and nginx's mail module: the server side of the protocol in
// SPEC.md §9 and §10.
//
// It answers each request from a users file (format: see Users) that maps
// a user name to a password (plaintext, or a bcrypt or SHA-crypt hash)
// and a backend per protocol:
//
//   - success: Auth-Status: OK, Auth-Server, Auth-Port, and Auth-Pass with
//     the stored password when the method is cram-md5, apop or external
//     (nginx cannot log in to the backend with a digest);
//   - an OAuth login (xoauth2, oauthbearer: Auth-Pass is the bearer
//     token, see Users for token lines): Auth-User, the token's user,
//     and either Auth-Pass with its password or, for a "forward" token,
//     Auth-Backend-Method with the client's mechanism; a refused token
//     also gets Auth-Error-SASL (ErrorSASL);
//   - wrong credentials: Auth-Status: Invalid login or password, plus
//     Auth-Wait while Auth-Login-Attempt is below Options.MaxAttempts, and
//     Auth-Error-Code: 535 5.7.8 for SMTP;
//   - a missing or wrong shared secret, or a request nginx would never
//     send: Auth-Status: Internal server error (451 4.3.0 for SMTP), with
//     no Auth-Wait, so the proxy closes the client connection.
//
// The HTTP status code is informative only (200, 400 or 403): nginx and
// mailproxy never look at it.
//
// Limits of the protocol, not checked here: nginx reads at most 1024 bytes
// of the answer, so a returned Auth-Pass must stay well under that (about
// 900 bytes); and nginx trims spaces around header values, so a password
// with a leading or trailing space cannot be returned as Auth-Pass intact.
package authservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
)

// Defaults for Options.
const (
	DefaultSecretHeader = "X-Auth-Key"
	DefaultWait         = 3 // seconds
	DefaultMaxAttempts  = 5
)

// Auth-Status texts and the matching SMTP Auth-Error-Code values.
const (
	TextInvalid      = "Invalid login or password"
	TextInternal     = "Internal server error"
	TextRelayDenied  = "Relaying denied"
	CodeInvalidSMTP  = "535 5.7.8"
	CodeInternalSMTP = "451 4.3.0"
	CodeRelayDenied  = "550 5.7.1"
)

// Response header names.
const (
	headerAuthStatus  = "Auth-Status"
	headerAuthServer  = "Auth-Server"
	headerAuthPort    = "Auth-Port"
	headerAuthPass    = "Auth-Pass"
	headerAuthWait    = "Auth-Wait"
	headerAuthErrCode = "Auth-Error-Code"
	headerAuthUser    = "Auth-User"
	// freenginx's OAuth failure challenge, and mailproxy's request to
	// log in to the backend with the client's OAuth mechanism.
	headerErrorSASL     = "Auth-Error-SASL"
	headerBackendMethod = "Auth-Backend-Method"
)

// Options configures a Service. A zero field means its default.
type Options struct {
	// UsersFile is the users file read by New and re-read by ReloadUsers.
	UsersFile string
	// Users is used instead of UsersFile when UsersFile is empty (tests,
	// embedding). Exactly one of the two must be set.
	Users *Users

	// Secret is the value the SecretHeader request header must carry.
	// Empty disables the check.
	Secret string
	// SecretHeader is the name of the shared-secret header (nginx's
	// auth_http_header). Default DefaultSecretHeader.
	SecretHeader string

	// Wait is the Auth-Wait value in seconds sent with a failure.
	// 0 means DefaultWait; a negative value never sends Auth-Wait.
	Wait int
	// MaxAttempts: Auth-Wait is sent only while Auth-Login-Attempt is
	// below it. At or above it (or if the header is missing or not a
	// positive number) the failure has no Auth-Wait, so the proxy closes
	// the session. 0 or negative means DefaultMaxAttempts.
	MaxAttempts int

	// AllowRelay accepts method none (SMTP without AUTH, smtp_auth none).
	// The recipient in Auth-SMTP-To picks the backend: the user named by
	// the whole address, else by its local part, else the RelayName entry.
	AllowRelay bool
	// ExternalWithoutCert accepts method external even when the request
	// lacks Auth-SSL-Verify: SUCCESS. By default external needs a client
	// certificate the proxy verified, because the client alone chooses
	// the user name.
	ExternalWithoutCert bool
	// BackendNames allows NAME:PORT backends in the users file, answered
	// as host names in Auth-Server (mailproxy's proxy_resolve; nginx
	// accepts only addresses).
	BackendNames bool

	// Logger receives one line per request (never a password or digest).
	// Default slog.Default().
	Logger *slog.Logger
}

// Service answers auth_http requests. It is safe for concurrent use; the
// users set can be replaced while it serves.
type Service struct {
	opts  Options
	log   *slog.Logger
	users atomic.Pointer[Users]
}

var _ http.Handler = (*Service)(nil)

// New checks opts, applies the defaults and, if opts.UsersFile is set,
// loads it.
func New(opts Options) (*Service, error) {
	if opts.SecretHeader == "" {
		opts.SecretHeader = DefaultSecretHeader
	}
	if !validHeaderName(opts.SecretHeader) {
		return nil, fmt.Errorf("authservice: invalid secret header name %q", opts.SecretHeader)
	}
	if opts.Wait == 0 {
		opts.Wait = DefaultWait
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	users := opts.Users
	switch {
	case opts.UsersFile != "" && users != nil:
		return nil, errors.New("authservice: both UsersFile and Users set")
	case opts.UsersFile != "":
		var err error
		if users, err = loadUsers(opts.UsersFile, opts.BackendNames); err != nil {
			return nil, err
		}
	case users == nil:
		return nil, errors.New("authservice: no users: set UsersFile or Users")
	}
	s := &Service{opts: opts, log: opts.Logger}
	s.users.Store(users)
	return s, nil
}

// ReloadUsers re-reads Options.UsersFile. On success the new set is used by
// requests that start afterwards; on error the old set stays in use.
func (s *Service) ReloadUsers() error {
	if s.opts.UsersFile == "" {
		return errors.New("authservice: no users file to reload")
	}
	u, err := loadUsers(s.opts.UsersFile, s.opts.BackendNames)
	if err != nil {
		return err
	}
	s.users.Store(u)
	return nil
}

// SetUsers replaces the users set; u must not be nil.
func (s *Service) SetUsers(u *Users) { s.users.Store(u) }

// Users returns the users set in use.
func (s *Service) Users() *Users { return s.users.Load() }

// ServeHTTP answers one auth_http request on any path and method. The
// answer is all in the response headers; the body is empty.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := parseRequest(r)
	var d decision
	if secretErr := s.checkSecret(r); secretErr != "" {
		d = decision{kind: kindInternal, reason: secretErr, httpStatus: http.StatusForbidden}
	} else {
		d = s.decide(req, s.users.Load())
	}
	s.write(w, req, &d)
	s.logRequest(r, req, &d)
}

// checkSecret returns "" if the shared secret is right or not required,
// else a reason for the log.
func (s *Service) checkSecret(r *http.Request) string {
	if s.opts.Secret == "" {
		return ""
	}
	vals := r.Header.Values(s.opts.SecretHeader)
	switch {
	case len(vals) == 0:
		return "missing shared secret " + s.opts.SecretHeader
	case len(vals) > 1 || !passwordEqual(vals[0], s.opts.Secret):
		return "wrong shared secret " + s.opts.SecretHeader
	}
	return ""
}

// write sends the decision as auth_http response headers.
func (s *Service) write(w http.ResponseWriter, req *request, d *decision) {
	h := w.Header()
	set := func(k, v string) { h.Set(k, sanitize(v)) }
	smtp := req.protocol == "smtp"
	switch d.kind {
	case kindOK:
		set(headerAuthStatus, "OK")
		set(headerAuthServer, d.backend.host)
		set(headerAuthPort, strconv.Itoa(int(d.backend.port)))
		if d.sendPass {
			set(headerAuthPass, d.password)
		}
		if d.user != "" {
			set(headerAuthUser, d.user)
		}
		if d.backendMethod != "" {
			set(headerBackendMethod, d.backendMethod)
		}
	case kindInvalid, kindRelayDenied:
		text, code := TextInvalid, CodeInvalidSMTP
		if d.kind == kindRelayDenied {
			text, code = TextRelayDenied, CodeRelayDenied
		}
		set(headerAuthStatus, text)
		if smtp {
			set(headerAuthErrCode, code)
		}
		if secs := s.waitFor(req); secs > 0 {
			set(headerAuthWait, strconv.Itoa(secs))
		}
		if d.errorSASL {
			set(headerErrorSASL, ErrorSASL)
		}
	default:
		set(headerAuthStatus, TextInternal)
		if smtp {
			set(headerAuthErrCode, CodeInternalSMTP)
		}
	}
	status := d.httpStatus
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

// waitFor returns the Auth-Wait seconds for a failed attempt, 0 for none.
func (s *Service) waitFor(req *request) int {
	if s.opts.Wait < 0 || req.attempt == 0 || req.attempt >= s.opts.MaxAttempts {
		return 0
	}
	return s.opts.Wait
}

// logRequest writes the one log line of a request.
func (s *Service) logRequest(r *http.Request, req *request, d *decision) {
	level := slog.LevelInfo
	if d.kind == kindInternal {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("result", d.kind.String()),
		slog.String("method", req.method),
		slog.String("user", req.user),
		slog.String("protocol", req.protocol),
		slog.Int("attempt", req.attempt),
		slog.String("client_ip", req.clientIP),
		slog.String("remote", r.RemoteAddr),
	}
	if d.kind == kindOK {
		attrs = append(attrs, slog.String("backend", net.JoinHostPort(d.backend.host, strconv.Itoa(int(d.backend.port)))))
	}
	if req.failedServer != "" {
		attrs = append(attrs, slog.String("failed_server", req.failedServer))
	}
	if d.reason != "" {
		attrs = append(attrs, slog.String("reason", d.reason))
	}
	s.log.LogAttrs(context.Background(), level, "auth request", attrs...)
}

// validHeaderName reports whether name is a header name nginx would send
// and accept: a letter or digit, then letters, digits or "-".
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '-') {
			return false
		}
	}
	return true
}
