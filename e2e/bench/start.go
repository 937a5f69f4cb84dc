package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"mailproxy/internal/mailtest"
)

// startTimeout bounds a proxy's start-up, until every listener greets.
const startTimeout = 15 * time.Second

// start brings up the backends and the auth service in this process, then
// one nginx (when wanted and found) and one mailproxy, records the targets
// and returns a function that stops what lives in this process.
func (b *bench) start(ctx context.Context) (func(), error) {
	var closers []func()
	stop := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	certFile, keyFile, serverTLS, err := writeCert(b.dir)
	if err != nil {
		return stop, err
	}
	b.cert, b.key = certFile, keyFile
	fetchMsg := Message(b.o.FetchSize)
	be := map[string]*mailtest.Server{}
	for _, s := range []struct {
		name    string
		tls     bool
		handler func(c net.Conn, r *bufio.Reader, w *bufio.Writer)
	}{
		{"imap", false, newIMAPBackend(fetchMsg).serve},
		{"imaps", true, newIMAPBackend(fetchMsg).serve},
		{"pop3", false, newPOP3Backend(fetchMsg).serve},
		{"smtp", false, smtpBackend{}.serve},
	} {
		conf := serverTLS
		if !s.tls {
			conf = nil
		}
		srv, err := listen("127.0.0.1:0", conf, s.handler)
		if err != nil {
			return stop, err
		}
		closers = append(closers, srv.Close)
		be[s.name] = srv
	}
	auth, err := startAuth(map[string]string{"imap": be["imap"].Addr(), "pop3": be["pop3"].Addr(), "smtp": be["smtp"].Addr()},
		map[string]string{"imap": be["imaps"].Addr()})
	if err != nil {
		return stop, err
	}
	closers = append(closers, auth.Close)
	b.auth, b.authSvc = auth.Addr(), auth
	b.targets[direct] = &target{name: direct, addrs: map[string]string{
		"imap": be["imap"].Addr(), "imaps": be["imaps"].Addr(), "imapsb": be["imaps"].Addr(), "pop3": be["pop3"].Addr(), "smtp": be["smtp"].Addr(),
	}}
	b.header = append(b.header, fmt.Sprintf("machine: %d CPUs, Linux %s", runtime.NumCPU(), kernel()))

	if err := b.findNginx(); err != nil {
		return stop, err
	}
	b.findStrace()
	if b.nginxBin != "" {
		t, _, err := b.spawn(ctx, nginx)
		if err != nil {
			return stop, err
		}
		b.targets[nginx] = t
		b.targets[nginx64k] = &target{name: nginx64k, pid: t.pid, addrs: map[string]string{
			"imap": t.addrs["imap64k"], "pop3": t.addrs["pop364k"], "smtp": t.addrs["smtp64k"],
		}}
	}
	t, _, err := b.spawn(ctx, mailproxy)
	if err != nil {
		return stop, err
	}
	b.targets[mailproxy] = t
	v, _ := exec.Command(b.o.Mailproxy, "-V").CombinedOutput()
	b.header = append(b.header, fmt.Sprintf("mailproxy: %s, log_level %s, %s", strings.TrimSpace(string(v)), b.o.LogLevel, b.o.Mailproxy))
	return stop, nil
}

// findNginx resolves nginx and its module unless o.NoNginx; a missing
// nginx is an error only with o.NeedNginx.
func (b *bench) findNginx() error {
	if b.o.NoNginx {
		b.header = append(b.header, "nginx: not measured (-no-nginx)")
		return nil
	}
	bin, module, err := findNginx(b.o.Nginx, b.o.NginxModule)
	if err != nil {
		if b.o.NeedNginx {
			return err
		}
		b.header = append(b.header, fmt.Sprintf("nginx: not measured (%v; `make bench` installs it)", err))
		return nil
	}
	b.nginxBin, b.nginxModule = bin, module
	v, _ := exec.Command(bin, "-v").CombinedOutput()
	b.header = append(b.header, fmt.Sprintf("nginx: %s, 2 workers, error_log level error, %s", strings.TrimSpace(string(v)), module))
	return nil
}

// spawn starts a new instance of proxy (nginx or mailproxy) with every
// service on fresh loopback ports, in its own subdirectory of the work
// directory, and waits until each listener greets. The instance is
// registered for stopAll; stop ends it sooner.
func (b *bench) spawn(ctx context.Context, proxy string) (t *target, stop func(), err error) {
	return b.spawnWith(ctx, proxy, "", "")
}

// spawnWith is spawn with more top-level and mail-level YAML lines in
// mailproxy's configuration.
func (b *bench) spawnWith(ctx context.Context, proxy, top, mail string) (t *target, stop func(), err error) {
	t0 := time.Now()
	b.instances++
	dir := filepath.Join(b.dir, proxy+"-"+strconv.Itoa(b.instances))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	addrs, err := freePorts()
	if err != nil {
		return nil, nil, err
	}
	var c *child
	var logFile, metrics string
	switch proxy {
	case nginx:
		conns := 2*b.o.IdleSessions + 1024
		c, err = startNginx(b.nginxBin, nginxSetup{
			module: b.nginxModule, dir: dir, auth: b.auth, addrs: addrs, cert: b.cert, key: b.key,
			workers: 2, connections: conns, nofile: conns + 64, errorLogLevel: "error",
		})
		logFile = filepath.Join(dir, "nginx-error.log")
	case mailproxy:
		var m map[string]string
		if m, err = freePortsFor([]string{"metrics"}); err != nil {
			return nil, nil, err
		}
		metrics = m["metrics"]
		if b.o.EventLoops != "" {
			top = "event_loops: " + b.o.EventLoops + "\n" + top
		}
		c, err = startMailproxy(b.o.Mailproxy, mailproxySetup{dir: dir, auth: b.auth, addrs: addrs, cert: b.cert, key: b.key, logLevel: b.o.LogLevel,
			metrics: metrics, top: top, mail: mail})
		logFile = filepath.Join(dir, "mailproxy.log")
	default:
		err = fmt.Errorf("cannot start %q", proxy)
	}
	if err != nil {
		return nil, nil, err
	}
	b.cs.add(c)
	if err := waitServices(ctx, c, addrs, startTimeout); err != nil {
		c.stop()
		return nil, nil, fmt.Errorf("%s: %w (log: %s)", proxy, err, lastLines(logFile))
	}
	b.cs.watch(c.pid())
	b.progress("%s ready on %s (%s)", proxy, dir, time.Since(t0).Round(time.Millisecond))
	return &target{name: proxy, addrs: addrs, pid: c.pid(), metrics: metrics}, c.stop, nil
}
