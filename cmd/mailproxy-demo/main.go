// Command mailproxy-demo runs a self-contained mailproxy demonstration on
// loopback (it is what `make run` starts):
//
//   - in-memory IMAP, POP3 and ManageSieve backends (users demo/demo and
//     alice/secret, each IMAP and POP3 mailbox seeded with the same three
//     messages) and an SMTP backend (go-smtp, logging every message it
//     receives), each on a free 127.0.0.1 port;
//   - the example auth_http service (package authservice) in-process on a
//     free 127.0.0.1 port, with a users file that sends each protocol to its
//     backend and a random shared secret;
//   - a self-signed ECDSA certificate for localhost and a mailproxy YAML
//     configuration with an IMAP, a POP3, an SMTP and a ManageSieve server
//     (the SMTP one with xclient off, since go-smtp does not understand
//     XCLIENT) and a metrics listener, all in a fresh temp dir;
//   - the mailproxy binary itself as a child process ("-c CONFIG"), whose
//     stdout and stderr are forwarded.
//
// It waits until mailproxy reports ready on /readyz (so no probe session
// shows in its log), then prints how to connect (curl, openssl and
// sieve-connect commands). On SIGINT or SIGTERM it stops the child by PID
// (SIGTERM, then SIGKILL after 5s), shuts everything else down and
// removes the temp dir. If the child exits on its own, the demo stops
// with an error.
//
// Usage:
//
//	mailproxy-demo [-imap 127.0.0.1:1143] [-imaps 127.0.0.1:1993]
//	               [-pop3 127.0.0.1:1110] [-pop3s 127.0.0.1:1995]
//	               [-smtp 127.0.0.1:1587] [-smtps 127.0.0.1:1465]
//	               [-sieve 127.0.0.1:14190] [-metrics 127.0.0.1:19100]
//	               [-port-offset N] [-mailproxy PATH]
//
// The plain listeners offer STARTTLS (STLS for POP3); the "s" ones speak
// TLS from the start. -port-offset adds N to every port (e.g. 1000 when
// the default ones are taken: `make run DEMOFLAGS=-port-offset=1000`).
// -mailproxy defaults to "mailproxy" in the directory of this program.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"mailproxy/authservice"
	"mailproxy/internal/mailtest"
)

// options are the command-line settings.
type options struct {
	listen    listenAddrs
	mailproxy string // path of the proxy binary
}

// listenAddrs are the proxy's listen addresses: per mail protocol one
// plain listener offering STARTTLS (STLS for POP3) and one implicit-TLS
// listener; ManageSieve's (STARTTLS); the metrics listener's.
type listenAddrs struct {
	imap, imaps string
	pop3, pop3s string
	smtp, smtps string
	sieve       string
	metrics     string
}

// listener is one proxy listen address with its flag.
type listener struct {
	flag     string // command-line flag, e.g. "pop3s"
	protocol string // imap, pop3 or smtp
	addr     string
	tls      bool // implicit TLS
}

// list returns the listeners in flag order: imap, imaps, pop3, pop3s,
// smtp, smtps, sieve, and metrics (protocol "metrics").
func (l listenAddrs) list() []listener {
	return []listener{
		{"imap", "imap", l.imap, false}, {"imaps", "imap", l.imaps, true},
		{"pop3", "pop3", l.pop3, false}, {"pop3s", "pop3", l.pop3s, true},
		{"smtp", "smtp", l.smtp, false}, {"smtps", "smtp", l.smtps, true},
		{"sieve", "sieve", l.sieve, false}, {"metrics", "metrics", l.metrics, false},
	}
}

// addrs returns pointers to every address, in list order.
func (l *listenAddrs) addrs() []*string {
	return []*string{&l.imap, &l.imaps, &l.pop3, &l.pop3s, &l.smtp, &l.smtps, &l.sieve, &l.metrics}
}

// offset adds n to the port of every address.
func (l *listenAddrs) offset(n int) error {
	if n == 0 {
		return nil
	}
	for _, a := range l.addrs() {
		host, port, err := net.SplitHostPort(*a)
		if err != nil {
			return fmt.Errorf("-port-offset: %v", err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p+n < 1 || p+n > 65535 {
			return fmt.Errorf("-port-offset %d: %s would have no valid port", n, *a)
		}
		*a = net.JoinHostPort(host, strconv.Itoa(p+n))
	}
	return nil
}

func main() {
	o := options{}
	flag.StringVar(&o.listen.imap, "imap", "127.0.0.1:1143", "`ADDR`ess of the proxy's IMAP listener (STARTTLS offered)")
	flag.StringVar(&o.listen.imaps, "imaps", "127.0.0.1:1993", "`ADDR`ess of the proxy's IMAP-over-TLS listener")
	flag.StringVar(&o.listen.pop3, "pop3", "127.0.0.1:1110", "`ADDR`ess of the proxy's POP3 listener (STLS offered)")
	flag.StringVar(&o.listen.pop3s, "pop3s", "127.0.0.1:1995", "`ADDR`ess of the proxy's POP3-over-TLS listener")
	flag.StringVar(&o.listen.smtp, "smtp", "127.0.0.1:1587", "`ADDR`ess of the proxy's SMTP submission listener (STARTTLS offered, AUTH required)")
	flag.StringVar(&o.listen.smtps, "smtps", "127.0.0.1:1465", "`ADDR`ess of the proxy's SMTP-over-TLS listener (AUTH required)")
	flag.StringVar(&o.listen.sieve, "sieve", "127.0.0.1:14190", "`ADDR`ess of the proxy's ManageSieve listener (STARTTLS offered)")
	flag.StringVar(&o.listen.metrics, "metrics", "127.0.0.1:19100", "`ADDR`ess of the proxy's metrics listener (/metrics, /healthz, /readyz)")
	offset := flag.Int("port-offset", 0, "add `N` to every port, e.g. 1000 when the default ports are taken")
	flag.StringVar(&o.mailproxy, "mailproxy", defaultProxyPath(), "`PATH` of the mailproxy binary")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "mailproxy-demo: unexpected argument", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}
	if err := o.listen.offset(*offset); err != nil {
		fmt.Fprintln(os.Stderr, "mailproxy-demo:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mailproxy-demo:", err)
		os.Exit(1)
	}
}

// run sets the demo up, prints the instructions to stdout and serves until
// ctx ends or the proxy exits. Logs go to stderr. Everything it started is
// stopped, and its temp dir removed, before it returns.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	for _, l := range o.listen.list() {
		if err := checkFree(l.flag, l.addr); err != nil {
			return err
		}
	}

	dir, err := os.MkdirTemp("", "mailproxy-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	be, err := startBackends(log)
	if err != nil {
		return err
	}
	defer be.close()

	auth, stopAuth, err := startAuth(dir, be.addrs(), log)
	if err != nil {
		return err
	}
	defer stopAuth()

	certFile, keyFile, err := mailtest.WriteSelfSignedCert(dir)
	if err != nil {
		return err
	}
	cfg := &proxyConfig{
		authURL:      auth.url,
		secretHeader: authservice.DefaultSecretHeader,
		secret:       auth.secret,
		certFile:     certFile,
		keyFile:      keyFile,
		listen:       o.listen,
	}
	cfgFile, err := cfg.write(dir)
	if err != nil {
		return err
	}

	proxy, err := startProxy(o.mailproxy, cfgFile, stdout, stderr)
	if err != nil {
		return err
	}
	defer proxy.stop()
	log.Info("started mailproxy", "pid", proxy.pid(), "path", o.mailproxy, "config", cfgFile)
	if err := proxy.waitReady(ctx, 15*time.Second, "http://"+connectAddr(o.listen.metrics)+"/readyz"); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted during start-up
		}
		return err
	}

	printInstructions(stdout, demoInfo{
		listen: o.listen, backends: be.addrs(),
		authURL: auth.url, secretHeader: cfg.secretHeader, dir: dir, proxyPID: proxy.pid(),
	})

	select {
	case <-ctx.Done():
		log.Info("stopping", "mailproxy_pid", proxy.pid())
		return nil
	case <-proxy.exited:
		if ctx.Err() != nil {
			return nil // it saw the same Ctrl-C
		}
		return fmt.Errorf("mailproxy exited: %s", exitText(proxy.err))
	}
}

// authEndpoint is where the in-process auth service answers.
type authEndpoint struct {
	url    string
	secret string
}

// startAuth writes the users file for backends (protocol to "ip:port")
// into dir and serves the auth service on a free loopback port with a
// random shared secret. stop shuts the HTTP server down.
func startAuth(dir string, backends map[string]string, log *slog.Logger) (ep authEndpoint, stop func(), err error) {
	usersFile, err := writeUsers(dir, backends)
	if err != nil {
		return ep, nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	ep.secret = hex.EncodeToString(secret)
	svc, err := authservice.New(authservice.Options{
		UsersFile: usersFile,
		Secret:    ep.secret,
		Logger:    log.With("component", "auth_http"),
	})
	if err != nil {
		return ep, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ep, nil, err
	}
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("auth_http service failed", "err", err)
		}
	}()
	ep.url = "http://" + ln.Addr().String() + "/auth"
	return ep, func() { srv.Close(); <-done }, nil
}
