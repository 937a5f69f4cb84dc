package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// findNginx resolves the nginx binary (bin: a path or a name in PATH,
// /usr/sbin/nginx when empty) and its mail module (module: a path, or
// <modules-path from nginx -V>/ngx_mail_module.so when empty).
func findNginx(bin, module string) (string, string, error) {
	if bin == "" {
		bin = "nginx"
		if _, err := exec.LookPath(bin); err != nil {
			bin = "/usr/sbin/nginx"
		}
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", "", fmt.Errorf("no nginx: %w", err)
	}
	if module == "" {
		out, _ := exec.Command(path, "-V").CombinedOutput()
		dir := filepath.Join(filepath.Dir(path), "modules")
		if m := regexp.MustCompile(`--modules-path=(\S+)`).FindSubmatch(out); m != nil {
			dir = string(m[1])
		}
		module = filepath.Join(dir, "ngx_mail_module.so")
	}
	if _, err := os.Stat(module); err != nil {
		return "", "", fmt.Errorf("no nginx mail module: %w", err)
	}
	return path, module, nil
}

// nginxSetup is what an nginx configuration is made of.
type nginxSetup struct {
	module, dir     string
	auth            string            // auth service address
	addrs           map[string]string // service → listen address
	cert, key       string
	workers, nofile int
	connections     int // worker_connections
	errorLogLevel   string
}

// config renders nginx.conf: the mail module, two workers, one server per
// service; the "…64k" services set proxy_buffer 64k.
func (s nginxSetup) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load_module %s;\ndaemon off;\nmaster_process on;\nworker_processes %d;\nworker_rlimit_nofile %d;\n",
		s.module, s.workers, s.nofile)
	fmt.Fprintf(&b, "pid %s;\nerror_log %s %s;\n", filepath.Join(s.dir, "nginx.pid"), filepath.Join(s.dir, "nginx-error.log"), s.errorLogLevel)
	fmt.Fprintf(&b, "events {\n    worker_connections %d;\n}\n", s.connections)
	fmt.Fprintf(&b, "mail {\n    auth_http %s/auth;\n    server_name bench.example;\n    ssl_certificate %s;\n    ssl_certificate_key %s;\n",
		s.auth, s.cert, s.key)
	for _, svc := range sortedServices(s.addrs) {
		fmt.Fprintf(&b, "    server {\n        listen %s%s;\n        protocol %s;\n", s.addrs[svc], map[bool]string{true: " ssl"}[serviceTLS(svc)], serviceProtocol[svc])
		if strings.HasSuffix(svc, "64k") {
			b.WriteString("        proxy_buffer 64k;\n")
		}
		if serviceProtocol[svc] == "smtp" {
			b.WriteString("        smtp_auth plain login;\n")
		}
		b.WriteString("    }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// startNginx writes the configuration into s.dir and starts nginx in the
// foreground as a child (master and s.workers workers).
func startNginx(bin string, s nginxSetup) (*child, error) {
	conf := filepath.Join(s.dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(s.config()), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(s.dir, "nginx-stderr.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	if out, err := exec.Command(bin, "-t", "-q", "-p", s.dir+"/", "-e", filepath.Join(s.dir, "nginx-error.log"), "-c", conf).CombinedOutput(); err != nil {
		return nil, errors.New("nginx -t: " + strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(bin, "-p", s.dir+"/", "-e", filepath.Join(s.dir, "nginx-error.log"), "-c", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	return startChild("nginx", cmd, syscall.SIGTERM)
}
