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
	top, mail string // more top-level and mail-level YAML lines (attack figures)
}

// config renders mailproxy.yaml.
func (s mailproxySetup) config() string {
	var b strings.Builder
	// The auth service allows keep-alive, so mailproxy uses it (nginx
	// cannot: it opens a connection per request).
	fmt.Fprintf(&b, "log_level: %s\n%smail:\n  auth_http: http://%s/auth\n  auth_http_keepalive: 64\n  server_name: bench.example\n  ssl_certificate: %q\n  ssl_certificate_key: %q\n%sservers:\n",
		s.logLevel, s.top, s.auth, s.cert, s.key, s.mail)
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
