package conformance

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// TestMain lets the test binary act as a tiny fake mail proxy, so that the
// runner can be tested end to end without mailproxy (see runner_test.go).
func TestMain(m *testing.M) {
	if os.Getenv("CONFORMANCE_FAKE_PROXY") == "1" {
		os.Exit(fakeProxyMain(os.Args[1:]))
	}
	code := m.Run()
	if fakeDir != "" {
		os.RemoveAll(fakeDir)
	}
	mailtest.RemoveBuilds()
	os.Exit(code)
}

// fakeProxyMain runs `fake -c FILE`: an IMAP-like proxy that understands
// just enough of the YAML and of IMAP for the runner's self-test.
func fakeProxyMain(args []string) int {
	if len(args) != 2 || args[0] != "-c" {
		fmt.Fprintln(os.Stderr, "usage: fake -c FILE")
		return 2
	}
	conf, err := os.ReadFile(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	get := func(key string) string {
		m := regexp.MustCompile(key + `: "([^"]*)"`).FindSubmatch(conf)
		if m == nil {
			return ""
		}
		return string(m[1])
	}
	addr, auth := get("address"), strings.TrimPrefix(get("auth_http"), "http://")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		fmt.Fprintf(os.Stderr, "fake: bad listen address %q\n", addr)
		return 2
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "fake: listening on", addr)
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		fs := &fakeSession{conn: c, auth: strings.SplitN(auth, "/", 2)[0],
			cert: get("ssl_certificate"), key: get("ssl_certificate_key")}
		go fs.serve()
	}
}

// fakeSession is one client session of the fake proxy.
type fakeSession struct {
	conn       net.Conn
	auth       string
	cert, key  string
	salt       string
	tlsVersion string
}

func (fs *fakeSession) serve() {
	defer fs.conn.Close()
	io.WriteString(fs.conn, "* OK IMAP4 ready\r\n")
	r := bufio.NewReader(fs.conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			io.WriteString(fs.conn, "* BAD\r\n")
			continue
		}
		tag := f[0]
		switch strings.ToUpper(f[1]) {
		case "NOOP":
			io.WriteString(fs.conn, tag+" OK completed\r\n")
		case "EXTRA":
			io.WriteString(fs.conn, tag+" OK\r\n* extra\r\n")
		case "SLOW":
			time.Sleep(time.Second)
			io.WriteString(fs.conn, tag+" OK slow\r\n")
		case "LOGOUT":
			io.WriteString(fs.conn, "* BYE\r\n"+tag+" OK\r\n")
			return
		case "SALT":
			fs.salt = fmt.Sprintf("<%d.%d@mx.example.com>", os.Getpid(), time.Now().Unix())
			io.WriteString(fs.conn, "+ "+base64.StdEncoding.EncodeToString([]byte(fs.salt))+"\r\n")
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			io.WriteString(fs.conn, tag+" NO salt\r\n")
		case "STARTTLS":
			io.WriteString(fs.conn, tag+" OK completed\r\n")
			cert, err := tls.LoadX509KeyPair(fs.cert, fs.key)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return
			}
			tc := tls.Server(fs.conn, &tls.Config{Certificates: []tls.Certificate{cert}})
			if err := tc.Handshake(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return
			}
			fs.tlsVersion = "TLSv1.3"
			if tc.ConnectionState().Version == tls.VersionTLS12 {
				fs.tlsVersion = "TLSv1.2"
			}
			fs.conn, r = tc, bufio.NewReader(tc)
		case "LOGIN":
			if len(f) != 4 {
				io.WriteString(fs.conn, tag+" BAD\r\n")
				continue
			}
			if fs.login(tag, f[2], f[3], r) {
				return
			}
		default:
			io.WriteString(fs.conn, tag+" BAD\r\n")
		}
	}
}

// login asks the auth service, logs in to the backend and splices; it
// reports false when the session goes on (authentication failed).
func (fs *fakeSession) login(tag, user, pass string, r *bufio.Reader) bool {
	req := "GET /auth HTTP/1.0\r\nHost: 127.0.0.1\r\nAuth-Method: plain\r\n" +
		"Auth-User: " + user + "\r\nAuth-Pass: " + pass + "\r\nAuth-Protocol: imap\r\n" +
		"Auth-Login-Attempt: 1\r\nClient-IP: 127.0.0.1\r\n"
	if fs.salt != "" {
		req += "Auth-Salt: " + fs.salt + "\r\n"
	}
	if fs.tlsVersion != "" {
		req += "Auth-SSL: on\r\nAuth-SSL-Protocol: " + fs.tlsVersion + "\r\nAuth-SSL-Cipher: FAKE-CIPHER\r\n"
	}
	ac, err := net.Dial("tcp", fs.auth)
	if err != nil {
		io.WriteString(fs.conn, tag+" NO internal\r\n")
		return true
	}
	io.WriteString(ac, req+"\r\n")
	resp, _ := io.ReadAll(ac)
	ac.Close()
	h := map[string]string{}
	for _, l := range strings.Split(string(resp), "\r\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			h[k] = v
		}
	}
	if h["Auth-Status"] != "OK" {
		io.WriteString(fs.conn, tag+" NO "+h["Auth-Status"]+"\r\n")
		return false
	}
	bc, err := net.Dial("tcp", net.JoinHostPort(h["Auth-Server"], h["Auth-Port"]))
	if err != nil {
		io.WriteString(fs.conn, tag+" NO internal\r\n")
		return true
	}
	defer bc.Close()
	br := bufio.NewReader(bc)
	if _, err := br.ReadString('\n'); err != nil {
		return true
	}
	io.WriteString(bc, tag+" LOGIN "+user+" "+pass+"\r\n")
	reply, err := br.ReadString('\n')
	if err != nil {
		return true
	}
	io.WriteString(fs.conn, reply)
	go func() {
		io.Copy(bc, r)
		bc.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(fs.conn, br)
	return true
}
