// Command mailproxy-demo runs a self-contained mailproxy demonstration on
// loopback (it is what `make run` starts):
//
//   - in-memory IMAP and POP3 backends (users demo/demo and alice/secret,
//     each mailbox seeded with the same three messages) and an SMTP backend
//     (go-smtp, logging every message it receives), each on a free
//     127.0.0.1 port;
//   - the example auth_http service (package authservice) in-process on a
//     free 127.0.0.1 port, with a users file that sends each protocol to its
//     backend and a random shared secret;
//   - a self-signed ECDSA certificate for localhost and a mailproxy YAML
//     configuration with an IMAP, a POP3 and an SMTP server (the SMTP one
//     with xclient off, since go-smtp does not understand XCLIENT), all in a
//     fresh temp dir;
//   - the mailproxy binary itself as a child process ("-c CONFIG"), whose
//     stdout and stderr are forwarded.
//
// It then prints how to connect (curl and openssl commands). On SIGINT or
// SIGTERM it stops the child by PID (SIGTERM, then SIGKILL after 5s), shuts
// everything else down and removes the temp dir. If the child exits on its
// own, the demo stops with an error.
//
// Usage:
//
//	mailproxy-demo [-imap 127.0.0.1:1143] [-imaps 127.0.0.1:1993]
//	               [-pop3 127.0.0.1:1110] [-pop3s 127.0.0.1:1995]
//	               [-smtp 127.0.0.1:1587] [-smtps 127.0.0.1:1465] [-mailproxy PATH]
//
// The plain listeners offer STARTTLS (STLS for POP3); the "s" ones speak
// TLS from the start. -mailproxy defaults to "mailproxy" in the directory
// of this program.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
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

// listenAddrs are the proxy's listen addresses: per protocol one plain
// listener offering STARTTLS (STLS for POP3) and one implicit-TLS listener.
type listenAddrs struct {
	imap, imaps string
	pop3, pop3s string
	smtp, smtps string
}

// listener is one proxy listen address with its flag.
type listener struct {
	flag     string // command-line flag, e.g. "pop3s"
	protocol string // imap, pop3 or smtp
	addr     string
	tls      bool // implicit TLS
}

// list returns the listeners in flag order: imap, imaps, pop3, pop3s,
// smtp, smtps.
func (l listenAddrs) list() []listener {
	return []listener{
		{"imap", "imap", l.imap, false}, {"imaps", "imap", l.imaps, true},
		{"pop3", "pop3", l.pop3, false}, {"pop3s", "pop3", l.pop3s, true},
		{"smtp", "smtp", l.smtp, false}, {"smtps", "smtp", l.smtps, true},
	}
}

func main() {
	o := options{}
	flag.StringVar(&o.listen.imap, "imap", "127.0.0.1:1143", "`ADDR`ess of the proxy's IMAP listener (STARTTLS offered)")
	flag.StringVar(&o.listen.imaps, "imaps", "127.0.0.1:1993", "`ADDR`ess of the proxy's IMAP-over-TLS listener")
	flag.StringVar(&o.listen.pop3, "pop3", "127.0.0.1:1110", "`ADDR`ess of the proxy's POP3 listener (STLS offered)")
	flag.StringVar(&o.listen.pop3s, "pop3s", "127.0.0.1:1995", "`ADDR`ess of the proxy's POP3-over-TLS listener")
	flag.StringVar(&o.listen.smtp, "smtp", "127.0.0.1:1587", "`ADDR`ess of the proxy's SMTP submission listener (STARTTLS offered, AUTH required)")
	flag.StringVar(&o.listen.smtps, "smtps", "127.0.0.1:1465", "`ADDR`ess of the proxy's SMTP-over-TLS listener (AUTH required)")
	flag.StringVar(&o.mailproxy, "mailproxy", defaultProxyPath(), "`PATH` of the mailproxy binary")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "mailproxy-demo: unexpected argument", flag.Arg(0))
		flag.Usage()
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
	probeTLS, err := clientTLS(certFile)
	if err != nil {
		return err
	}
	var targets []probeTarget
	for _, l := range o.listen.list() {
		t := probeTarget{protocol: l.protocol, addr: connectAddr(l.addr)}
		if l.tls {
			t.tls = probeTLS
		}
		targets = append(targets, t)
	}
	if err := proxy.waitListening(ctx, 15*time.Second, targets...); err != nil {
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

// clientTLS returns a client configuration that trusts only the demo's own
// certificate in certFile, for host name localhost.
func clientTLS(certFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", certFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}, nil
}
