package proxy_test

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailproxy/config"
	"mailproxy/internal/mailtest"
	"mailproxy/internal/pkitest"
)

// End-to-end tests of the upstream layer: TLS to backends (implicit and
// STARTTLS, verified, chosen per answer), failover through the auth
// service, backends by host name, the auth service over https:// and as
// a list, and the auth cache.

// backendPKI is a test CA and a backend certificate it signed for
// imap.backend.test and 127.0.0.1, written as files for the config.
type backendPKI struct {
	ca, other  string // CA files: the backend's, and an unrelated one
	cert       tls.Certificate
	caCert     *x509.Certificate
	clientCert string // a client certificate and key signed by the CA
	clientKey  string
}

func newBackendPKI(t *testing.T) *backendPKI {
	t.Helper()
	dir := t.TempDir()
	ca := pkitest.NewRoot(t, "Backend CA")
	other := pkitest.NewRoot(t, "Other CA")
	srv := ca.Issue(pkitest.Spec{Server: true, Hosts: []string{"imap.backend.test", "127.0.0.1"}})
	cl := ca.Issue(pkitest.Spec{})
	return &backendPKI{
		ca:         pkitest.Write(t, dir, "ca.pem", ca.PEM()),
		other:      pkitest.Write(t, dir, "other.pem", other.PEM()),
		cert:       srv.TLS(),
		caCert:     ca.Cert,
		clientCert: pkitest.Write(t, dir, "client.crt", cl.CertPEM),
		clientKey:  pkitest.Write(t, dir, "client.key", cl.KeyPEM),
	}
}

// tlsFront accepts TLS with cert and forwards the plaintext to target: an
// implicit-TLS front for an in-memory backend. It counts completed
// handshakes and remembers the client certificates and SNI it saw.
type tlsFront struct {
	ln      net.Listener
	done    atomic.Int32
	mu      sync.Mutex
	sni     []string
	certs   int
	resumed int
}

func startTLSFront(t *testing.T, cert tls.Certificate, target string, clientCAs *x509.Certificate) *tlsFront {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientCAs != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCAs)
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	f := &tlsFront{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if err := tc.Handshake(); err != nil {
					return
				}
				tc.SetDeadline(time.Time{})
				st := tc.ConnectionState()
				f.mu.Lock()
				f.sni = append(f.sni, st.ServerName)
				f.certs += len(st.PeerCertificates)
				if st.DidResume {
					f.resumed++
				}
				f.mu.Unlock()
				f.done.Add(1)
				b, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer b.Close()
				go func() { io.Copy(b, tc); b.(*net.TCPConn).CloseWrite() }()
				io.Copy(tc, b)
			}()
		}
	}()
	return f
}

func (f *tlsFront) addr() string { return f.ln.Addr().String() }

// answer is an auth answer sending the login to addr, with extra headers.
func answer(addr string, extra ...string) string {
	host, port, _ := net.SplitHostPort(addr)
	return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + host + "\r\nAuth-Port: " + port + "\r\n" + strings.Join(extra, "") + "\r\n"
}

// fetchBig logs in as alice over plain IMAP through addr and fetches the
// last message; it returns its checksum or the error.
func fetchBig(addr string) ([32]byte, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return [32]byte{}, err
	}
	defer c.Close()
	if err := c.Login("alice", "secret").Wait(); err != nil {
		return [32]byte{}, err
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return [32]byte{}, err
	}
	bs := &imap.FetchItemBodySection{}
	msgs, err := c.Fetch(imap.SeqSetNum(sel.NumMessages), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{bs}}).Collect()
	if err != nil {
		return [32]byte{}, err
	}
	c.Logout().Wait()
	return sha256.Sum256(msgs[0].FindBodySection(bs)), nil
}

const upstreamYAML = `
mail:
  auth_http: http://AUTH/auth
servers:
  - protocol: imap
    listen: [127.0.0.1:0]
`

// TestBackendImplicitTLS relays a 1 MiB message from a backend reached
// over TLS (proxy_ssl on), its certificate verified against the CA and
// the name; the proxy presents its client certificate and resumes the
// session on the next login.
func TestBackendImplicitTLS(t *testing.T) {
	pki := newBackendPKI(t)
	be := startIMAPBackend(t)
	big := mailtest.SizedMessage("alice", 1<<20)
	_, err := be.Append("alice", big)
	must(t, err)
	front := startTLSFront(t, pki.cert, be.Addr(), pki.caCert)
	auth := startAuth(t, func(string) string { return answer(front.addr()) })
	yaml := upstreamYAML + `    proxy_ssl: on
    proxy_ssl_trusted_certificate: ` + pki.ca + `
    proxy_ssl_name: imap.backend.test
    proxy_ssl_server_name: on
    proxy_ssl_certificate: ` + pki.clientCert + `
    proxy_ssl_certificate_key: ` + pki.clientKey + "\n"
	_, addrs := startProxy(t, yaml, auth.addr())
	for i := range 2 {
		sum, err := fetchBig(addrs[0])
		if err != nil || sum != sha256.Sum256(big) {
			t.Fatalf("login %d: %v (checksum match %v)", i, err, sum == sha256.Sum256(big))
		}
	}
	front.mu.Lock()
	defer front.mu.Unlock()
	if front.done.Load() != 2 || strings.Join(front.sni, ",") != "imap.backend.test,imap.backend.test" || front.certs != 2 || front.resumed != 1 {
		t.Errorf("backend saw %d handshakes, SNI %q, %d client certificates, %d resumed", front.done.Load(), front.sni, front.certs, front.resumed)
	}
	if !strings.Contains(testLogs.String(), "upstream="+front.addr()+" ") || !strings.Contains(testLogs.String(), "upstream_tls=TLSv1.3") {
		t.Errorf("no summary line with upstream_tls for %s", front.addr())
	}
}

// TestBackendTLSRefused: a certificate that does not verify (another CA,
// another name), or a plaintext server where TLS is asked for, is a
// backend failure: the client gets the internal error, and nothing of
// the login reaches the backend.
func TestBackendTLSRefused(t *testing.T) {
	pki := newBackendPKI(t)
	be := startIMAPBackend(t)
	front := startTLSFront(t, pki.cert, be.Addr(), nil)
	plainRec, rec := recBackend(t, "* OK plaintext server\r\n")
	cases := []struct {
		name, extra, target, logText string
	}{
		{"wrong CA", "    proxy_ssl_trusted_certificate: " + pki.other + "\n", front.addr(), "certificate signed by unknown authority"},
		{"wrong name", "    proxy_ssl_trusted_certificate: " + pki.ca + "\n    proxy_ssl_name: other.backend.test\n", front.addr(), "not other.backend.test"},
		{"not TLS", "    proxy_ssl_trusted_certificate: " + pki.ca + "\n", plainRec, "first record does not look like a TLS handshake"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := startAuth(t, func(string) string { return answer(tc.target) })
			_, addrs := startProxy(t, upstreamYAML+"    proxy_ssl: on\n"+tc.extra, auth.addr())
			c := dialRaw(t, addrs[0])
			c.expect("* OK IMAP4 ready\r\n")
			c.send("a LOGIN alice secret\r\n")
			c.expect("* BAD internal server error\r\n")
			c.expectClosed()
			if !strings.Contains(testLogs.String(), tc.logText) {
				t.Errorf("log lacks %q", tc.logText)
			}
		})
	}
	if front.done.Load() != 0 {
		t.Errorf("%d handshakes completed with a refused certificate", front.done.Load())
	}
	if strings.Contains(rec.String(), "alice") || strings.Contains(rec.String(), "secret") {
		t.Errorf("the plaintext backend got the login: %q", rec.String())
	}
}

// startTLSIMAP is a scripted IMAP backend offering STARTTLS (or not): it
// records every line it gets, before and after TLS, and accepts
// alice/secret.
func startTLSIMAP(t *testing.T, cert tls.Certificate, offer bool) (string, *mailtest.SyncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	rec := &mailtest.SyncBuffer{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var conn net.Conn = c
				r := bufio.NewReader(conn)
				caps := "IMAP4rev1"
				if offer {
					caps += " STARTTLS"
				}
				fmt.Fprintf(conn, "* OK [CAPABILITY %s] ready\r\n", caps)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					mode := "plain"
					if _, ok := conn.(*tls.Conn); ok {
						mode = "tls"
					}
					fmt.Fprintf(rec, "%s %s", mode, line)
					tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
					switch {
					case strings.EqualFold(rest, "STARTTLS") && offer:
						fmt.Fprintf(conn, "%s OK Begin TLS\r\n", tag)
						conn = tlsServer(c, cert)
						r = bufio.NewReader(conn)
					case strings.HasPrefix(strings.ToUpper(rest), "LOGIN {"):
						n, _ := strconv.Atoi(strings.TrimSuffix(rest[7:], "}"))
						io.WriteString(conn, "+ go\r\n")
						user := make([]byte, n)
						io.ReadFull(r, user)
						more, _ := r.ReadString('\n')
						n, _ = strconv.Atoi(strings.Trim(strings.TrimSpace(more), "{}"))
						io.WriteString(conn, "+ go\r\n")
						pass := make([]byte, n)
						io.ReadFull(r, pass)
						r.ReadString('\n')
						fmt.Fprintf(rec, "%s login %s %s\n", mode, user, pass)
						fmt.Fprintf(conn, "%s OK Logged in\r\n", tag)
					default:
						fmt.Fprintf(conn, "%s BAD unexpected\r\n", tag)
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), rec
}

func tlsServer(c net.Conn, cert tls.Certificate) *tls.Conn {
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
	tc.Handshake()
	return tc
}

// TestBackendStartTLS: proxy_ssl starttls sends STARTTLS under the
// client's tag and the LOGIN only over TLS; a backend that does not offer
// it never gets the credentials. The answer's Auth-SSL-Backend overrides
// the configuration both ways.
func TestBackendStartTLS(t *testing.T) {
	pki := newBackendPKI(t)
	offers, rec := startTLSIMAP(t, pki.cert, true)
	refuses, recNo := startTLSIMAP(t, pki.cert, false)
	plainBE := startIMAPBackend(t)
	trust := "    proxy_ssl_trusted_certificate: " + pki.ca + "\n    proxy_ssl_name: imap.backend.test\n"

	login := func(t *testing.T, yaml string, reply func(string) string, want string) {
		t.Helper()
		auth := startAuth(t, reply)
		_, addrs := startProxy(t, upstreamYAML+yaml, auth.addr())
		c := dialRaw(t, addrs[0])
		c.expect("* OK IMAP4 ready\r\n")
		c.send("t7 LOGIN alice secret\r\n")
		c.expect(want)
	}
	login(t, "    proxy_ssl: starttls\n"+trust, func(string) string { return answer(offers) }, "t7 OK Logged in\r\n")
	if got := rec.String(); got != "plain t7 STARTTLS\r\ntls t7 LOGIN {5}\r\ntls login alice secret\n" {
		t.Errorf("backend got %q", got)
	}
	login(t, "    proxy_ssl: starttls\n"+trust, func(string) string { return answer(refuses) }, "* BAD internal server error\r\n")
	if got := recNo.String(); got != "plain t7 STARTTLS\r\n" {
		t.Errorf("backend without STARTTLS got %q", got)
	}
	// proxy_ssl off, the answer asks for STARTTLS with the name.
	before := len(rec.String())
	login(t, "    proxy_ssl_trusted_certificate: "+pki.ca+"\n", func(string) string {
		return answer(offers, "Auth-SSL-Backend: starttls\r\nAuth-SSL-Backend-Name: imap.backend.test\r\n")
	}, "t7 OK Logged in\r\n")
	if got := rec.String()[before:]; !strings.HasPrefix(got, "plain t7 STARTTLS\r\ntls ") {
		t.Errorf("answer's starttls: backend got %q", got)
	}
	// A name the certificate does not carry, from the answer.
	login(t, "    proxy_ssl_trusted_certificate: "+pki.ca+"\n", func(string) string {
		return answer(offers, "Auth-SSL-Backend: starttls\r\nAuth-SSL-Backend-Name: evil.test\r\n")
	}, "* BAD internal server error\r\n")
	// proxy_ssl on, the answer says off: plaintext to an in-memory backend.
	login(t, "    proxy_ssl: on\n"+trust, func(string) string { return answer(plainBE.Addr(), "Auth-SSL-Backend: off\r\n") }, "t7 OK ")
	// An answer with a bad value is the internal error.
	login(t, "", func(string) string { return answer(plainBE.Addr(), "Auth-SSL-Backend: maybe\r\n") }, "* BAD internal server error\r\n")
}

// failoverAuth answers the first request with first and a failover
// request (Auth-Failed-Server) with second.
func failoverAuth(first, second string) func(string) string {
	return func(req string) string {
		if strings.Contains(req, "Auth-Failed-Server: ") {
			return answer(second)
		}
		return answer(first)
	}
}

// TestFailover: with one backend down, the proxy asks the auth service
// again (Auth-Failed-Server, Auth-Failed-Reason, the next
// Auth-Login-Attempt) and logs in to the second: the client sees one
// login. Without proxy_next_upstream_tries the first failure is final,
// as with nginx.
func TestFailover(t *testing.T) {
	be := startIMAPBackend(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()

	auth := startAuth(t, failoverAuth(down, be.Addr()))
	_, addrs := startProxy(t, upstreamYAML+"    proxy_next_upstream_tries: 2\n", auth.addr())
	c, err := imapclient.DialInsecure(addrs[0], nil)
	must(t, err)
	defer c.Close()
	must(t, c.Login("alice", "secret").Wait())
	_, err = c.Select("INBOX", nil).Wait()
	must(t, err)
	reqs := auth.requests()
	if len(reqs) != 2 || strings.Contains(reqs[0], "Auth-Failed") ||
		!strings.Contains(reqs[1], "Auth-Login-Attempt: 2\r\nClient-IP: 127.0.0.1\r\nAuth-Failed-Server: "+down+"\r\nAuth-Failed-Reason: connect\r\n\r\n") ||
		!strings.Contains(reqs[1], "Auth-User: alice\r\nAuth-Pass: secret\r\n") {
		t.Fatalf("auth requests: %q", reqs)
	}

	// Default: one backend per login.
	auth1 := startAuth(t, failoverAuth(down, be.Addr()))
	_, addrs1 := startProxy(t, upstreamYAML, auth1.addr())
	r := dialRaw(t, addrs1[0])
	r.expect("* OK IMAP4 ready\r\n")
	r.send("a LOGIN alice secret\r\n")
	r.expect("* BAD internal server error\r\n")
	if n := len(auth1.requests()); n != 1 {
		t.Errorf("default: %d auth requests, want 1", n)
	}

	// A TLS failure fails over too; a refusal of the credentials does not.
	pki := newBackendPKI(t)
	front := startTLSFront(t, pki.cert, be.Addr(), nil)
	self := pkitest.SelfSigned(t, pkitest.Spec{Server: true, Hosts: []string{"127.0.0.1"}})
	untrusted := startTLSFront(t, self.TLS(), be.Addr(), nil)
	auth2 := startAuth(t, failoverAuth(untrusted.addr(), front.addr()))
	_, addrs2 := startProxy(t, upstreamYAML+"    proxy_ssl: on\n    proxy_ssl_trusted_certificate: "+pki.ca+"\n    proxy_next_upstream_tries: 3\n", auth2.addr())
	if _, err := fetchBig(addrs2[0]); err != nil {
		t.Fatalf("TLS failover: %v", err)
	}
	if reqs := auth2.requests(); len(reqs) != 2 || !strings.Contains(reqs[1], "Auth-Failed-Reason: tls\r\n") {
		t.Errorf("TLS failover requests: %q", reqs)
	}
	refusing, _ := recBackend(t, "* OK ready\r\n", "+ go\r\n", "+ go\r\n", "a NO [AUTHENTICATIONFAILED] wrong\r\n")
	auth3 := startAuth(t, failoverAuth(refusing, be.Addr()))
	_, addrs3 := startProxy(t, upstreamYAML+"    proxy_next_upstream_tries: 3\n    proxy_pass_error_message: on\n", auth3.addr())
	r3 := dialRaw(t, addrs3[0])
	r3.expect("* OK IMAP4 ready\r\n")
	r3.send("a LOGIN alice secret\r\n")
	r3.expect("a NO [AUTHENTICATIONFAILED] wrong\r\n")
	if n := len(auth3.requests()); n != 1 {
		t.Errorf("refused credentials: %d auth requests, want 1 (no failover)", n)
	}

	// The service has no other backend: the internal error.
	auth4 := startAuth(t, func(req string) string {
		if strings.Contains(req, "Auth-Failed-Server") {
			return "HTTP/1.0 200 OK\r\nAuth-Status: no replica\r\n\r\n"
		}
		return answer(down)
	})
	_, addrs4 := startProxy(t, upstreamYAML+"    proxy_next_upstream_tries: 3\n", auth4.addr())
	r4 := dialRaw(t, addrs4[0])
	r4.expect("* OK IMAP4 ready\r\n")
	r4.send("a LOGIN alice secret\r\n")
	r4.expect("* BAD internal server error\r\n")
}

// fakeDNS answers A queries for the names in table with a TTL, counting
// the queries.
type fakeDNS struct {
	pc      net.PacketConn
	queries atomic.Int32
}

func startFakeDNS(t *testing.T, table map[string]string, ttl uint32) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { pc.Close() })
	f := &fakeDNS{pc: pc}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			// The question name, then type and class.
			p, name := 12, ""
			for p < n && q[p] != 0 {
				l := int(q[p])
				if name != "" {
					name += "."
				}
				name += string(q[p+1 : p+1+l])
				p += 1 + l
			}
			qtype := binary.BigEndian.Uint16(q[p+1:])
			f.queries.Add(1)
			resp := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, q[12:p+5]...)
			if ip, ok := table[name]; ok && qtype == 1 {
				resp[7] = 1
				resp = append(resp, 0xc0, 0x0c, 0, 1, 0, 1)
				resp = binary.BigEndian.AppendUint32(resp, ttl)
				a := net.ParseIP(ip).To4()
				resp = append(resp, 0, 4, a[0], a[1], a[2], a[3])
			} else if !ok {
				resp[3] |= 3 // NXDOMAIN
			}
			pc.WriteTo(resp, from)
		}
	}()
	return f
}

// TestBackendByName: with proxy_resolve, Auth-Server may be a host name,
// resolved with `resolver` and kept for the answer's TTL; a name that
// does not resolve is a backend failure. Without proxy_resolve a name is
// the internal error, as with nginx.
func TestBackendByName(t *testing.T) {
	be := startIMAPBackend(t)
	_, port, _ := net.SplitHostPort(be.Addr())
	dns := startFakeDNS(t, map[string]string{"imap1.mail.test": "127.0.0.1"}, 300)
	byName := func(name string) func(string) string {
		return func(string) string {
			return "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: " + name + "\r\nAuth-Port: " + port + "\r\n\r\n"
		}
	}
	auth := startAuth(t, byName("imap1.mail.test"))
	yaml := upstreamYAML + "    proxy_resolve: on\n    resolver: [" + dns.pc.LocalAddr().String() + ", ipv6=off]\n"
	_, addrs := startProxy(t, yaml, auth.addr())
	for i := range 3 {
		c, err := imapclient.DialInsecure(addrs[0], nil)
		must(t, err)
		if err := c.Login("alice", "secret").Wait(); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		c.Logout().Wait()
		c.Close()
	}
	if n := dns.queries.Load(); n != 1 {
		t.Errorf("%d DNS queries for 3 logins within the TTL, want 1", n)
	}
	if !strings.Contains(testLogs.String(), "upstream=imap1.mail.test:"+port) {
		t.Error("the summary line does not name the backend by its name")
	}

	// A name that does not resolve.
	authNX := startAuth(t, byName("nowhere.mail.test"))
	_, addrsNX := startProxy(t, yaml, authNX.addr())
	r := dialRaw(t, addrsNX[0])
	r.expect("* OK IMAP4 ready\r\n")
	r.send("a LOGIN alice secret\r\n")
	r.expect("* BAD internal server error\r\n")
	if !strings.Contains(testLogs.String(), `err="cannot resolve nowhere.mail.test:`+port+`: \"nowhere.mail.test\" could not be resolved (3: Host not found)"`) {
		t.Error("no log line for the name that did not resolve")
	}

	// The system's resolver when no resolver is set: localhost.
	authLocal := startAuth(t, byName("localhost"))
	_, addrsLocal := startProxy(t, upstreamYAML+"    proxy_resolve: on\n", authLocal.addr())
	c, err := imapclient.DialInsecure(addrsLocal[0], nil)
	must(t, err)
	defer c.Close()
	if err := c.Login("alice", "secret").Wait(); err != nil {
		t.Fatalf("localhost: %v", err)
	}

	// nginx's behaviour without proxy_resolve.
	authOff := startAuth(t, byName("localhost"))
	_, addrsOff := startProxy(t, upstreamYAML, authOff.addr())
	r2 := dialRaw(t, addrsOff[0])
	r2.expect("* OK IMAP4 ready\r\n")
	r2.send("a LOGIN alice secret\r\n")
	r2.expect("* BAD internal server error\r\n")
}

// TestAuthHTTPSListAndCache: the auth service over https:// as the second
// of a list whose first endpoint is down; the answers cached, so a
// second login does not ask; the observer sees the endpoints and the
// cache.
func TestAuthHTTPSListAndCache(t *testing.T) {
	be := startIMAPBackend(t)
	pki := newBackendPKI(t)
	var asked atomic.Int32
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.cert}})
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						asked.Add(1)
						io.WriteString(c, answer(be.Addr(), "Auth-Pass: secret\r\n"))
						return
					}
				}
			}()
		}
	}()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	yaml := `
mail:
  auth_http: [http://` + downAddr + `/auth, https://` + ln.Addr().String() + `/auth]
  auth_http_ssl_trusted_certificate: ` + pki.ca + `
  auth_http_cache: on
servers:
  - protocol: imap
    listen: [127.0.0.1:0]
`
	srv, addrs := startProxy(t, yaml, "unused")
	rec := &upstreamRecorder{}
	srv.SetObserver(rec)
	for i := range 3 {
		c, err := imapclient.DialInsecure(addrs[0], nil)
		must(t, err)
		if err := c.Login("alice", "secret").Wait(); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		c.Logout().Wait()
		c.Close()
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("the https auth service was asked %d times for 3 logins, want 1 (cached)", n)
	}
	got := rec.text()
	for _, want := range []string{
		"endpoint http://" + downAddr + "/auth error false", "endpoint https://" + ln.Addr().String() + "/auth ok true",
		"cache imap false", "cache imap true",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("observer lacks %q:\n%s", want, got)
		}
	}
	// A wrong password is not served from the cache.
	r := dialRaw(t, addrs[0])
	r.expect("* OK IMAP4 ready\r\n")
	r.send("a LOGIN alice wrong\r\n")
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r.r.ReadString('\n')
	if n := asked.Load(); n != 2 {
		t.Errorf("a different password was answered from the cache (%d requests)", n)
	}
}

// upstreamRecorder is an Observer and UpstreamObserver keeping the
// upstream events as text.
type upstreamRecorder struct {
	recorder
	mu sync.Mutex
	b  strings.Builder
}

func (r *upstreamRecorder) AuthEndpoint(endpoint, result string, healthy bool) {
	r.add(fmt.Sprintf("endpoint %s %s %v", endpoint, result, healthy))
}
func (r *upstreamRecorder) AuthCache(protocol string, hit bool) {
	r.add(fmt.Sprintf("cache %s %v", protocol, hit))
}
func (r *upstreamRecorder) BackendTLS(protocol, version string) {
	r.add("backend_tls " + protocol + " " + version)
}
func (r *upstreamRecorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.b.WriteString(s + "\n")
}
func (r *upstreamRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.String()
}

// TestAuthCacheClearedOnReload: a reload starts with an empty cache (and
// a new key): the next login asks the auth service again.
func TestAuthCacheClearedOnReload(t *testing.T) {
	be := startIMAPBackend(t)
	auth := startAuth(t, okTo(be.Addr()))
	yaml := upstreamYAML + "    auth_http_cache: on\n"
	srv, _ := startProxy(t, yaml, auth.addr())
	login := func() {
		t.Helper()
		c, err := imapclient.DialInsecure(srv.Addrs()[0].String(), nil)
		must(t, err)
		defer c.Close()
		must(t, c.Login("alice", "secret").Wait())
		c.Logout().Wait()
	}
	login()
	login()
	if n := len(auth.requests()); n != 1 {
		t.Fatalf("%d auth requests for two logins, want 1 (cached)", n)
	}
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "reload.yaml"), []byte(strings.ReplaceAll(yaml, "AUTH", auth.addr())))
	must(t, err)
	must(t, srv.Reload(cfg))
	login()
	if n := len(auth.requests()); n != 2 {
		t.Errorf("%d auth requests after the reload, want 2 (the cache was cleared)", n)
	}
}
