package metrics

// The fixed label values. Anything else maps to "other", so a label never
// carries free text. Session outcomes are typed (internal/outcome): their
// label is Outcome.Label, never read back from the summary line's text.
var (
	protocols   = []string{"imap", "pop3", "smtp", "sieve"}
	authResults = []string{"ok", "fail", "wait", "error"}
	stages      = []string{"connect", "tls", "login"}
	tlsVersions = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "failed"}
	// RefusalReasons are the reason label of
	// mailproxy_connections_refused_total.
	RefusalReasons = []string{"max_connections", "descriptors", "limit_conn", "limit_conn_dry_run"}
	// PauseReasons are the reason label of mailproxy_accept_pauses_total.
	PauseReasons = []string{"descriptors", "refusals"}
	// StoreUses are the values of the use label of
	// mailproxy_store_errors_total: what a shared store was asked for.
	StoreUses = []string{"limit_conn", "login_throttle", "ssl_session"}
)

// Outcomes lists every value of the outcome label of
// mailproxy_sessions_total: the labels of the outcome.Outcome constants
// (see the table there). Dashboards depend on these names.
var Outcomes = []string{
	"client_closed", "backend_closed", "idle_timeout", "no_login", "timeout",
	"backend_failed", "bad_proxy_header", "tls_failed", "client_cert_refused",
	"client_error", "backend_error", "shutdown", "error", "limited", "throttled",
}

// Protocol returns p if it is imap, pop3, smtp or sieve, else "other".
func Protocol(p string) string { return oneOf(p, protocols) }

func oneOf(v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return a
		}
	}
	return "other"
}
