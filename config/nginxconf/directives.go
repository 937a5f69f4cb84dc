package nginxconf

// context is where a directive may appear, as nginx's NGX_*_CONF bits.
type context int

const (
	ctxMain context = 1 << iota
	ctxMail
	ctxServer
)

// many is the upper bound of nginx's "1MORE": no limit.
const many = -1

// spec describes one directive of nginx's mail modules (SPEC.md §1): where
// it may appear, how many arguments it takes (nginx's TAKE1, FLAG, 1MORE…)
// and how it is translated.
type spec struct {
	ctx      context
	min, max int  // argument count
	block    bool // a block directive (server)
	keyVar   bool // the first argument is a variable naming a key (limit_conn_zone)
	tr       func(t *translator, lv *level, d *Directive)
}

// mailDirectives lists every directive nginx's mail modules define, with
// its translation. A directive not listed here is unknown in mail{} (or
// "not allowed here" when it belongs to another nginx module).
var mailDirectives map[string]spec

func init() {
	ms := ctxMail | ctxServer
	mailDirectives = map[string]spec{
		// ngx_mail_core_module
		"server":           {ctx: ctxMail, block: true, tr: (*translator).server},
		"listen":           {ctx: ctxServer, min: 1, max: many, tr: (*translator).listen},
		"protocol":         {ctx: ctxServer, min: 1, max: 1, tr: scalar("protocol")},
		"server_name":      {ctx: ms, min: 1, max: 1, tr: scalar("server_name")},
		"timeout":          {ctx: ms, min: 1, max: 1, tr: scalar("timeout")},
		"error_log":        {ctx: ms, min: 1, max: many, tr: (*translator).errorLog},
		"resolver":         {ctx: ms, min: 1, max: many, tr: (*translator).resolver},
		"resolver_timeout": {ctx: ms, min: 1, max: 1, tr: scalar("resolver_timeout")},
		"max_errors":       {ctx: ms, min: 1, max: 1, tr: scalar("max_errors")},

		// ngx_mail_auth_http_module
		"auth_http":                  {ctx: ms, min: 1, max: 1, tr: scalar("auth_http")},
		"auth_http_timeout":          {ctx: ms, min: 1, max: 1, tr: scalar("auth_http_timeout")},
		"auth_http_header":           {ctx: ms, min: 2, max: 2, tr: (*translator).authHTTPHeader},
		"auth_http_pass_client_cert": {ctx: ms, min: 1, max: 1, tr: onOffKey("auth_http_pass_client_cert")},

		// ngx_mail_proxy_module
		"proxy":                    {ctx: ms, min: 1, max: 1, tr: (*translator).proxy},
		"proxy_buffer":             {ctx: ms, min: 1, max: 1, tr: scalar("proxy_buffer")},
		"proxy_timeout":            {ctx: ms, min: 1, max: 1, tr: scalar("proxy_timeout")},
		"proxy_pass_error_message": {ctx: ms, min: 1, max: 1, tr: onOffKey("proxy_pass_error_message")},
		"proxy_protocol":           {ctx: ms, min: 1, max: 1, tr: enum("proxy_protocol", "off", "on", "v2")},
		"xclient":                  {ctx: ms, min: 1, max: 1, tr: onOffKey("xclient")},
		"proxy_smtp_auth":          {ctx: ms, min: 1, max: 1, tr: onOffKey("proxy_smtp_auth")},

		// ngx_mail_realip_module
		"set_real_ip_from": {ctx: ms, min: 1, max: 1, tr: list("set_real_ip_from", nil)},

		// ngx_mail_ssl_module
		"ssl":                         {ctx: ms, min: 1, max: 1, tr: (*translator).ssl},
		"starttls":                    {ctx: ms, min: 1, max: 1, tr: (*translator).starttls},
		"ssl_certificate":             {ctx: ms, min: 1, max: 1, tr: pathList("ssl_certificate")},
		"ssl_certificate_key":         {ctx: ms, min: 1, max: 1, tr: pathList("ssl_certificate_key")},
		"ssl_password_file":           {ctx: ms, min: 1, max: 1, tr: pathKey("ssl_password_file")},
		"ssl_certificate_compression": {ctx: ms, min: 1, max: 1, tr: (*translator).certCompression},
		"ssl_dhparam":                 {ctx: ms, min: 1, max: 1, tr: unsupported("Go's TLS has no finite-field DHE key exchange (ECDHE is used)")},
		"ssl_ecdh_curve":              {ctx: ms, min: 1, max: 1, tr: scalar("ssl_ecdh_curve")},
		"ssl_protocols":               {ctx: ms, min: 1, max: many, tr: list("ssl_protocols", []string{"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"})},
		"ssl_ciphers":                 {ctx: ms, min: 1, max: 1, tr: scalar("ssl_ciphers")},
		"ssl_prefer_server_ciphers":   {ctx: ms, min: 1, max: 1, tr: onOffKey("ssl_prefer_server_ciphers")},
		"ssl_session_cache":           {ctx: ms, min: 1, max: 2, tr: list("ssl_session_cache", nil)},
		"ssl_session_tickets":         {ctx: ms, min: 1, max: 1, tr: onOffKey("ssl_session_tickets")},
		"ssl_session_ticket_key":      {ctx: ms, min: 1, max: 1, tr: pathList("ssl_session_ticket_key")},
		"ssl_session_timeout":         {ctx: ms, min: 1, max: 1, tr: scalar("ssl_session_timeout")},
		"ssl_verify_client":           {ctx: ms, min: 1, max: 1, tr: enum("ssl_verify_client", "on", "off", "optional", "optional_no_ca")},
		"ssl_verify_depth":            {ctx: ms, min: 1, max: 1, tr: scalar("ssl_verify_depth")},
		"ssl_client_certificate":      {ctx: ms, min: 1, max: 1, tr: pathKey("ssl_client_certificate")},
		"ssl_trusted_certificate":     {ctx: ms, min: 1, max: 1, tr: pathKey("ssl_trusted_certificate")},
		"ssl_crl":                     {ctx: ms, min: 1, max: 1, tr: pathKey("ssl_crl")},
		"ssl_conf_command":            {ctx: ms, min: 2, max: 2, tr: unsupported("mailproxy does not use OpenSSL, so there is nothing to pass the command to")},

		// ngx_mail_imap_module
		"imap_auth":          {ctx: ms, min: 1, max: many, tr: list("imap_auth", []string{"plain", "login", "cram-md5", "external", "xoauth2", "oauthbearer"})},
		"imap_capabilities":  {ctx: ms, min: 1, max: many, tr: list("imap_capabilities", nil)},
		"imap_client_buffer": {ctx: ms, min: 1, max: 1, tr: scalar("imap_client_buffer")},

		// ngx_mail_pop3_module
		"pop3_auth":         {ctx: ms, min: 1, max: many, tr: list("pop3_auth", []string{"plain", "apop", "cram-md5", "external", "xoauth2", "oauthbearer"})},
		"pop3_capabilities": {ctx: ms, min: 1, max: many, tr: list("pop3_capabilities", nil)},

		// ngx_mail_smtp_module
		"smtp_auth":           {ctx: ms, min: 1, max: many, tr: list("smtp_auth", []string{"plain", "login", "cram-md5", "external", "xoauth2", "oauthbearer", "none"})},
		"smtp_capabilities":   {ctx: ms, min: 1, max: many, tr: list("smtp_capabilities", nil)},
		"smtp_client_buffer":  {ctx: ms, min: 1, max: 1, tr: scalar("smtp_client_buffer")},
		"smtp_greeting_delay": {ctx: ms, min: 1, max: 1, tr: scalar("smtp_greeting_delay")},

		// freenginx: ngx_mail_limit_conn_module, and max_commands of its
		// ngx_mail_core_module
		"limit_conn_zone":      {ctx: ctxMail, min: 2, max: 2, keyVar: true, tr: (*translator).limitConnZone},
		"limit_conn":           {ctx: ms, min: 2, max: 2, tr: (*translator).limitConn},
		"limit_conn_log_level": {ctx: ms, min: 1, max: 1, tr: enum("limit_conn_log_level", "info", "notice", "warn", "error")},
		"limit_conn_dry_run":   {ctx: ms, min: 1, max: 1, tr: onOffKey("limit_conn_dry_run")},
		"max_commands":         {ctx: ms, min: 1, max: 1, tr: scalar("max_commands")},
	}
}

// mainDirectives are the main-context directives that are translated;
// every other main-context directive is ignored with a note.
var mainDirectives = map[string]spec{
	"pid":                     {ctx: ctxMain, min: 1, max: 1, tr: (*translator).pid},
	"error_log":               {ctx: ctxMain, min: 1, max: many, tr: (*translator).errorLog},
	"worker_shutdown_timeout": {ctx: ctxMain, min: 1, max: 1, tr: (*translator).shutdownTimeout},
	"user":                    {ctx: ctxMain, min: 1, max: 2, tr: (*translator).user},
	"worker_processes":        {ctx: ctxMain, min: 1, max: 1, tr: (*translator).workerProcesses},
}

// otherDirectives are directives of nginx's other modules (core, events,
// http, stream) that people are likely to put in mail{} by mistake: nginx
// says they are "not allowed here" rather than "unknown". The list is not
// complete (nginx's own list depends on its build); a name missing here
// gets "unknown directive", which is true for the mail modules.
var otherDirectives = map[string]bool{}

func init() {
	for _, name := range []string{
		// core and events
		"daemon", "debug_points", "env", "events", "include", "load_module", "lock_file",
		"master_process", "pcre_jit", "pid", "ssl_engine", "thread_pool", "timer_resolution",
		"user", "worker_cpu_affinity", "worker_priority", "worker_processes",
		"worker_rlimit_core", "worker_rlimit_nofile", "worker_shutdown_timeout",
		"working_directory", "worker_connections", "use", "multi_accept", "accept_mutex",
		"accept_mutex_delay", "debug_connection",
		// blocks
		"http", "stream", "mail", "upstream", "location", "map", "geo", "split_clients",
		"types", "limit_except", "if",
		// common http and stream directives
		"access_log", "add_header", "alias", "allow", "auth_basic", "auth_basic_user_file",
		"client_max_body_size", "default_type", "deny", "error_page", "gzip", "http2",
		"index", "keepalive_timeout", "log_format", "proxy_connect_timeout", "proxy_pass",
		"proxy_read_timeout", "proxy_send_timeout", "proxy_set_header", "return",
		"rewrite", "root", "sendfile", "ssl_buffer_size", "ssl_early_data",
		"ssl_preread", "ssl_reject_handshake", "ssl_stapling", "ssl_stapling_verify",
		"tcp_nodelay", "tcp_nopush", "try_files", "limit_conn", "limit_req",
	} {
		otherDirectives[name] = true
	}
}
