// Command mailproxy-auth is the example auth_http service for mailproxy
// (and nginx's mail module). It answers from a users file; see package
// authservice for the protocol and the file format.
//
// Usage:
//
//	mailproxy-auth -users FILE [-listen 127.0.0.1:9000] [-secret VALUE | -secret-file FILE]
//	    [-secret-header X-Auth-Key] [-wait 3] [-max-attempts 5]
//	    [-allow-relay] [-external-without-cert] [-backend-names]
//	    [-tls-cert FILE -tls-key FILE]
//	mailproxy-auth hash [-scheme BLF-CRYPT|SHA512-CRYPT|SHA256-CRYPT] < password
//
// hash prints a password's hash for the users file (hash.go).
//
// It logs one line per request to stderr (never a password). SIGHUP
// re-reads the users file (a broken file is reported and the old one kept);
// SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"mailproxy/authservice"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	var err error
	if len(os.Args) > 1 && os.Args[1] == "hash" {
		err = hashCommand(os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Stderr, hup, nil)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "mailproxy-auth:", err)
		os.Exit(1)
	}
}

// usageError is a command-line mistake; flag has already printed it.
type usageError struct{ error }

// config is the parsed command line.
type config struct {
	listen          string
	tlsCert, tlsKey string // serve HTTPS with this certificate and key
	opts            authservice.Options
}

// parseFlags parses args; messages and usage go to stderr.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("mailproxy-auth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: mailproxy-auth -users FILE [options]\n       mailproxy-auth hash [-scheme SCHEME] < password   (a password hash for the users file)\n")
		fs.PrintDefaults()
	}
	c := &config{}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:9000", "`ADDR`ess to listen on (host:port)")
	fs.StringVar(&c.opts.UsersFile, "users", "", "users `FILE` (required): NAME PASSWORD IP:PORT [PROTOCOLS] per line; token:TOKEN NAME [forward] for bearer tokens")
	fs.StringVar(&c.opts.Secret, "secret", "", "expected shared-secret header `VALUE`; empty: no check")
	secretFile := fs.String("secret-file", "", "read the shared secret from the first line of `FILE` (other users can read a command line)")
	fs.StringVar(&c.opts.SecretHeader, "secret-header", authservice.DefaultSecretHeader, "`NAME` of the shared-secret header")
	wait := fs.Int("wait", authservice.DefaultWait, "Auth-Wait `SECONDS` after a failed login; 0: none (the proxy closes)")
	fs.IntVar(&c.opts.MaxAttempts, "max-attempts", authservice.DefaultMaxAttempts, "send Auth-Wait only while Auth-Login-Attempt is below `N`")
	fs.BoolVar(&c.opts.AllowRelay, "allow-relay", false, "accept method none (SMTP without AUTH), routed by recipient")
	fs.BoolVar(&c.opts.ExternalWithoutCert, "external-without-cert", false, "accept method external without Auth-SSL-Verify: SUCCESS")
	fs.BoolVar(&c.opts.BackendNames, "backend-names", false, "allow NAME:PORT backends, answered as host names (mailproxy's proxy_resolve)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM, with its chain)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the key `FILE` of -tls-cert")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	fail := func(msg string) (*config, error) {
		fmt.Fprintln(stderr, msg)
		fs.Usage()
		return nil, usageError{errors.New(msg)}
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument " + fs.Arg(0))
	case c.opts.UsersFile == "":
		return fail("-users is required")
	case *wait < 0:
		return fail("-wait must not be negative")
	case c.opts.MaxAttempts < 1:
		return fail("-max-attempts must be at least 1")
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return fail("-tls-cert and -tls-key go together")
	case *secretFile != "" && c.opts.Secret != "":
		return fail("-secret and -secret-file cannot both be given")
	}
	if *secretFile != "" {
		data, err := os.ReadFile(*secretFile)
		if err != nil {
			return nil, err
		}
		line, _, _ := strings.Cut(string(data), "\n")
		if c.opts.Secret = strings.TrimSuffix(line, "\r"); c.opts.Secret == "" {
			return fail("-secret-file " + *secretFile + ": no secret on its first line")
		}
	}
	c.opts.Wait = *wait
	if *wait == 0 {
		c.opts.Wait = -1 // Options: 0 is the default, negative is none
	}
	return c, nil
}

// run serves until ctx ends. Each value on hup reloads the users file. If
// ready is not nil it receives the listening address once serving.
func run(ctx context.Context, args []string, stderr io.Writer, hup <-chan os.Signal, ready chan<- net.Addr) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	c.opts.Logger = log
	svc, err := authservice.New(c.opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           svc,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	log.Info("listening", "addr", ln.Addr().String(), "users_file", c.opts.UsersFile,
		"users", svc.Users().Len(), "secret_check", c.opts.Secret != "", "https", c.tlsCert != "")
	if ready != nil {
		ready <- ln.Addr()
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	for {
		select {
		case <-hup:
			if err := svc.ReloadUsers(); err != nil {
				log.Error("users reload failed, keeping the old users", "err", err)
			} else {
				log.Info("users reloaded", "users", svc.Users().Len())
			}
		case err := <-served:
			return err
		case <-ctx.Done():
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		}
	}
}
