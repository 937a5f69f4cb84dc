package bench

import (
	"net"
	"sort"
)

// services are the listeners every proxy has, one per line of a figure:
// the protocol's plain port, the same with proxy_buffer 64k ("…64k"), and
// IMAP over implicit TLS. mailproxy's upstream features have three more
// (nginx gets plain copies it is never measured on): imapsb, implicit
// TLS with TLS to the backend too (proxy_ssl on); imapslow, asking an
// auth service that costs slowAuthCost per answer; imapcache, the same
// with auth_http_cache. Each protocol's "…ka" is mailproxy's plain port
// with auth_http_keepalive (nginx has no equivalent: its copy is the
// plain port again).
var services = []string{"imap", "imap64k", "imaps", "imapsb", "imapslow", "imapcache", "pop3", "pop364k", "smtp", "smtp64k", "imapka", "pop3ka", "smtpka"}

// serviceProtocol maps a service to its mail protocol.
var serviceProtocol = map[string]string{
	"imap": "imap", "imap64k": "imap", "imaps": "imap", "imapsb": "imap", "imapslow": "imap", "imapcache": "imap",
	"pop3": "pop3", "pop364k": "pop3", "smtp": "smtp", "smtp64k": "smtp",
	"imapka": "imap", "pop3ka": "pop3", "smtpka": "smtp",
}

// keepAliveService is a protocol's listener with auth_http_keepalive in
// mailproxy.
func keepAliveService(proto string) string { return proto + "ka" }

// serviceTLS reports whether a service speaks implicit TLS.
func serviceTLS(s string) bool { return s == "imaps" || s == "imapsb" }

// freePorts returns one free loopback address per service.
func freePorts() (map[string]string, error) { return freePortsFor(services) }

// freePortsFor returns one free loopback address per name.
func freePortsFor(names []string) (map[string]string, error) {
	out := map[string]string{}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, s := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out[s] = ln.Addr().String()
	}
	return out, nil
}

// sortedServices returns the services of m in a stable order.
func sortedServices(m map[string]string) []string {
	var out []string
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
