package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// mailproxySetup is what a mailproxy configuration is made of: the same
// services as nginx's, the "…64k" ones with proxy_buffer 64k.
type mailproxySetup struct {
	dir       string
	auth      string
	addrs     map[string]string
	cert, key string
	logLevel  string
	metrics   string // metrics_listen address ("": none)
	top, mail string // more top-level and mail-level YAML lines (attack figures)
}

// keepAliveConns is auth_http_keepalive on the "…ka" listeners.
const keepAliveConns = 64

// config renders mailproxy.yaml. Every listener asks the auth service as
// nginx does, a connection per request (auth_http_keepalive's default),
// except the "…ka" ones, which keep up to keepAliveConns connections
// open (the auth service allows it; nginx has no equivalent).
func (s mailproxySetup) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "log_level: %s\n", s.logLevel)
	if s.metrics != "" {
		fmt.Fprintf(&b, "metrics_listen: %s\n", s.metrics)
	}
	fmt.Fprintf(&b, "%smail:\n  auth_http: http://%s/auth\n  server_name: bench.example\n  ssl_certificate: %q\n  ssl_certificate_key: %q\n%sservers:\n",
		s.top, s.auth, s.cert, s.key, s.mail)
	for _, svc := range sortedServices(s.addrs) {
		fmt.Fprintf(&b, "  - protocol: %s\n", serviceProtocol[svc])
		if serviceTLS(svc) {
			fmt.Fprintf(&b, "    listen: [{address: %q, ssl: true}]\n", s.addrs[svc])
		} else {
			fmt.Fprintf(&b, "    listen: [%q]\n", s.addrs[svc])
		}
		if strings.HasSuffix(svc, "64k") {
			b.WriteString("    proxy_buffer: 64k\n")
		}
		if svc == keepAliveService(serviceProtocol[svc]) {
			fmt.Fprintf(&b, "    auth_http_keepalive: %d\n", keepAliveConns)
		}
		switch svc {
		case "imapsb": // the backend over TLS too, not verified
			fmt.Fprintf(&b, "    auth_http: http://%s/tls\n    proxy_ssl: on\n", s.auth)
		case "imapslow":
			fmt.Fprintf(&b, "    auth_http: http://%s/slow\n", s.auth)
		case "imapcache":
			fmt.Fprintf(&b, "    auth_http: http://%s/slow\n    auth_http_cache: on\n", s.auth)
		}
	}
	return b.String()
}

// startMailproxy writes the configuration into s.dir and starts the
// mailproxy binary on it as a child, its log in s.dir/mailproxy.log.
func startMailproxy(bin string, s mailproxySetup) (*child, error) {
	conf := filepath.Join(s.dir, "mailproxy.yaml")
	if err := os.WriteFile(conf, []byte(s.config()), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(s.dir, "mailproxy.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	return startChild("mailproxy", cmd, syscall.SIGTERM)
}
