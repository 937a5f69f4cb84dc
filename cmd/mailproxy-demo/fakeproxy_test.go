package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// fakeEnv selects the fake mailproxy mode of the test binary: "serve"
// checks the demo's wiring and listens until SIGTERM; "exit" exits with
// status 3 at once.
const fakeEnv = "MAILPROXY_DEMO_FAKE_PROXY"

// fakeConfig is the part of mailproxy's YAML the demo writes.
type fakeConfig struct {
	MetricsListen string `yaml:"metrics_listen"`
	Mail          struct {
		AuthHTTP          string            `yaml:"auth_http"`
		AuthHTTPHeader    map[string]string `yaml:"auth_http_header"`
		SSLCertificate    string            `yaml:"ssl_certificate"`
		SSLCertificateKey string            `yaml:"ssl_certificate_key"`
	} `yaml:"mail"`
	Servers []fakeServer `yaml:"servers"`
}

type fakeServer struct {
	Protocol  string            `yaml:"protocol"`
	StartTLS  string            `yaml:"starttls"`
	IMAPAuth  []string          `yaml:"imap_auth"`
	IMAPID    map[string]string `yaml:"imap_id"`
	POP3Auth  []string          `yaml:"pop3_auth"`
	SMTPAuth  []string          `yaml:"smtp_auth"`
	SieveAuth []string          `yaml:"sieve_auth"`
	XClient   *bool             `yaml:"xclient"`
	Listen    []any             `yaml:"listen"`
}

// fakeListen is one listen item: a bare address or {address, ssl}.
type fakeListen struct {
	Address string
	SSL     bool
}

// parseConfig decodes the demo's YAML strictly (unknown keys are errors).
func parseConfig(data []byte) (*fakeConfig, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	c := &fakeConfig{}
	if err := dec.Decode(c); err != nil {
		return nil, err
	}
	return c, nil
}

// listens decodes the listen items.
func (s *fakeServer) listens() ([]fakeListen, error) {
	var out []fakeListen
	for _, item := range s.Listen {
		switch v := item.(type) {
		case string:
			out = append(out, fakeListen{Address: v})
		case map[string]any:
			addr, _ := v["address"].(string)
			ssl, _ := v["ssl"].(bool)
			if addr == "" || len(v) != 2 {
				return nil, fmt.Errorf("bad listen item %v", v)
			}
			out = append(out, fakeListen{addr, ssl})
		default:
			return nil, fmt.Errorf("bad listen item %#v", item)
		}
	}
	return out, nil
}

// fakeGreetings are the greetings the fake listeners send, per protocol.
var fakeGreetings = map[string]string{
	"imap":  "* OK fake\r\n",
	"pop3":  "+OK fake\r\n",
	"smtp":  "220 fake ESMTP\r\n",
	"sieve": "\"IMPLEMENTATION\" \"fake\"\r\nOK\r\n",
}

// fakeProxy is the main of the fake mailproxy child. It checks what the
// real proxy would rely on, reporting on stderr with a "fake: " prefix:
// for each server, the auth service's answer for demo/demo and a session
// with the backend it names; then a request with a wrong secret. It then
// listens on every configured address, greeting as the server's protocol
// and hanging up, and answers /readyz on metrics_listen, until SIGTERM.
func fakeProxy(mode string, args []string) int {
	if mode == "exit" {
		return 3
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "fake: "+format+"\n", a...) }
	if len(args) != 2 || args[0] != "-c" {
		logf("want -c CONFIG, got %q", args)
		return 2
	}
	data, err := os.ReadFile(args[1])
	if err != nil {
		logf("%v", err)
		return 1
	}
	cfg, err := parseConfig(data)
	if err != nil {
		logf("config: %v", err)
		return 1
	}
	cert, err := tls.LoadX509KeyPair(cfg.Mail.SSLCertificate, cfg.Mail.SSLCertificateKey)
	if err != nil {
		logf("certificate: %v", err)
		return 1
	}
	for _, srv := range cfg.Servers {
		h, err := fakeAuth(cfg, srv.Protocol, cfg.Mail.AuthHTTPHeader)
		if err != nil {
			logf("auth: %v", err)
			return 1
		}
		backend := net.JoinHostPort(h.Get("Auth-Server"), h.Get("Auth-Port"))
		logf("%s auth Auth-Status=%s backend=%s", srv.Protocol, h.Get("Auth-Status"), backend)
		if err := fakeBackendSession(srv.Protocol, backend, logf); err != nil {
			logf("%s backend: %v", srv.Protocol, err)
			return 1
		}
	}
	wrong := map[string]string{}
	for k := range cfg.Mail.AuthHTTPHeader {
		wrong[k] = "wrong"
	}
	h, err := fakeAuth(cfg, "imap", wrong)
	if err != nil {
		logf("auth: %v", err)
		return 1
	}
	logf("wrong secret Auth-Status=%s", h.Get("Auth-Status"))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	for _, srv := range cfg.Servers {
		ls, err := srv.listens()
		if err != nil {
			logf("%v", err)
			return 1
		}
		for _, l := range ls {
			var ln net.Listener
			if l.SSL {
				ln, err = tls.Listen("tcp", l.Address, &tls.Config{Certificates: []tls.Certificate{cert}})
			} else {
				ln, err = net.Listen("tcp", l.Address)
			}
			if err != nil {
				logf("listen: %v", err)
				return 1
			}
			go fakeServe(ln, fakeGreetings[srv.Protocol])
		}
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		logf("metrics listen: %v", err)
		return 1
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		logf("readyz asked")
		io.WriteString(w, "ready\n")
	}))
	<-ctx.Done()
	logf("got SIGTERM")
	return 0
}

// fakeServe greets every connection on ln and hangs up.
func fakeServe(ln net.Listener, greeting string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.WriteString(c, greeting)
		c.Close()
		fmt.Fprintln(os.Stderr, "fake: a client connected to", ln.Addr())
	}
}

// fakeAuth asks the auth service for demo/demo with protocol, as mailproxy
// would, sending the given extra headers, and returns the answer's header.
func fakeAuth(cfg *fakeConfig, protocol string, extra map[string]string) (http.Header, error) {
	req, err := http.NewRequest("GET", cfg.Mail.AuthHTTP, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]string{
		"Auth-Method": "plain", "Auth-User": "demo", "Auth-Pass": "demo", "Auth-Protocol": protocol,
		"Auth-Login-Attempt": "1", "Client-IP": "127.0.0.1",
	} {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	return res.Header, nil
}
