package proxy_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	pp "github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

const ppv2YAML = `
mail:
  auth_http: http://AUTH/auth
  ssl_certificate: CERT
  ssl_certificate_key: KEY
  ssl_verify_client: optional
  ssl_client_certificate: @CA@
  proxy_protocol: v2
  proxy_protocol_tlvs: @TLVS@
servers:
  - protocol: imap
    starttls: on
    listen: [127.0.0.1:0, {address: "127.0.0.1:0", ssl: true}]
`

// ppBackend is an IMAP backend that reads a PROXY header with
// go-proxyproto, hands it to the test, and accepts any LOGIN.
func ppBackend(t *testing.T) (string, chan *pp.Header) {
	headers := make(chan *pp.Header, 4)
	addr := scriptedBackend(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		h, err := pp.Read(r)
		if err != nil {
			t.Errorf("backend: PROXY header: %v", err)
			return
		}
		headers <- h
		c.Write([]byte("* OK backend ready\r\n"))
		for _, reply := range []string{"+ go\r\n", "+ go\r\n", "a OK logged in\r\n"} { // LOGIN {5}, alice {6}, secret
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			c.Write([]byte(reply))
		}
		r.ReadString('\n')
	})
	return addr, headers
}

// TestOutboundV2TLVs: with proxy_protocol v2 and proxy_protocol_tlvs on,
// the backend learns the client's TLS version, cipher, server name, ALPN
// and certificate; a plain client gets a header without TLVs, and so does
// everyone with proxy_protocol_tlvs off.
func TestOutboundV2TLVs(t *testing.T) {
	pki := newClientPKI(t)
	be, headers := ppBackend(t)
	auth := startAuth(t, okTo(be))
	_, addrs := startProxy(t, strings.NewReplacer("@CA@", pki.ca, "@TLVS@", "on").Replace(ppv2YAML), auth.addr())

	login := func(c *rawConn) {
		c.send("a LOGIN alice secret\r\n")
		c.expect("a OK logged in\r\n")
	}
	cfg := clientTLS(pki.valid)
	cfg.ServerName, cfg.NextProtos = "mail.example.org", []string{"imap"}
	conn, err := tls.Dial("tcp", addrs[1], cfg)
	must(t, err)
	defer conn.Close()
	c := &rawConn{t: t, c: conn, r: bufio.NewReader(conn)}
	c.expect("* OK IMAP4 ready\r\n")
	login(c)
	h := <-headers
	tlvs, err := h.TLVs()
	must(t, err)
	found := map[pp.PP2Type]string{}
	for _, tlv := range tlvs {
		found[tlv.Type] = string(tlv.Value)
	}
	if found[pp.PP2_TYPE_AUTHORITY] != "mail.example.org" || found[pp.PP2_TYPE_ALPN] != "imap" {
		t.Fatalf("TLVs %q", found)
	}
	ssl, ok := tlvparse.FindSSL(tlvs)
	if !ok || !ssl.ClientSSL() || !ssl.ClientCertConn() || !ssl.ClientCertSess() || !ssl.Verified() {
		t.Fatalf("SSL TLV %+v", ssl)
	}
	version, _ := ssl.SSLVersion()
	cipher, _ := ssl.SSLCipher()
	cn, _ := ssl.ClientCN()
	if version != "TLSv1.3" || !strings.HasPrefix(cipher, "TLS_") || cn != "Jürgen Ämter" {
		t.Fatalf("SSL sub-TLVs %q %q %q", version, cipher, cn)
	}
	if src, _, ok := h.TCPAddrs(); !ok || src.IP.String() != "127.0.0.1" {
		t.Fatalf("addresses %v", h.SourceAddr)
	}

	// STARTTLS without a certificate: verify is not 0, no CN.
	c = dialRaw(t, addrs[0])
	c.expect("* OK IMAP4 ready\r\n")
	c.send("s STARTTLS\r\n")
	c.expect("s OK completed\r\n")
	tc := tls.Client(c.c, clientTLS(nil))
	must(t, tc.Handshake())
	c = &rawConn{t: t, c: tc, r: bufio.NewReader(tc)}
	login(c)
	tlvs, _ = (<-headers).TLVs()
	ssl, ok = tlvparse.FindSSL(tlvs)
	if _, hasCN := ssl.ClientCN(); !ok || ssl.Verified() || ssl.ClientCertConn() || hasCN {
		t.Fatalf("SSL TLV without a certificate %+v", ssl)
	}

	// A plain client: no TLVs.
	c = dialRaw(t, addrs[0])
	c.expect("* OK IMAP4 ready\r\n")
	login(c)
	if tlvs, _ := (<-headers).TLVs(); len(tlvs) != 0 {
		t.Fatalf("plain client: TLVs %v", tlvs)
	}
}

func TestOutboundV2WithoutTLVs(t *testing.T) {
	pki := newClientPKI(t)
	be, headers := ppBackend(t)
	auth := startAuth(t, okTo(be))
	_, addrs := startProxy(t, strings.NewReplacer("@CA@", pki.ca, "@TLVS@", "off").Replace(ppv2YAML), auth.addr())
	conn, err := tls.Dial("tcp", addrs[1], clientTLS(pki.valid))
	must(t, err)
	defer conn.Close()
	c := &rawConn{t: t, c: conn, r: bufio.NewReader(conn)}
	c.expect("* OK IMAP4 ready\r\n")
	c.send("a LOGIN alice secret\r\n")
	c.expect("a OK logged in\r\n")
	h := <-headers
	if tlvs, _ := h.TLVs(); h.Version != 2 || len(tlvs) != 0 {
		t.Fatalf("header v%d with %d TLVs", h.Version, len(tlvs))
	}
}
