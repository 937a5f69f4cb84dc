package proxyproto

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"

	pp "github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// TestV2TLVsParseBack writes v2 headers with TLS TLVs and reads them back
// with github.com/pires/go-proxyproto, for each address family.
func TestV2TLVsParseBack(t *testing.T) {
	tlvs := []TLV{
		{Type: TypeALPN, Value: []byte("imap")},
		{Type: TypeAuthority, Value: []byte("mail.example.org")},
		SSL(ClientSSL|ClientCertConn|ClientCertSess, 0,
			TLV{Type: SubtypeSSLVersion, Value: []byte("TLSv1.3")},
			TLV{Type: SubtypeSSLCN, Value: []byte("Jürgen")},
			TLV{Type: SubtypeSSLCipher, Value: []byte("TLS_AES_128_GCM_SHA256")}),
	}
	for _, c := range []struct{ client, local string }{
		{"192.0.2.1:123", "127.0.0.1:993"},
		{"[2001:db8::1]:123", "127.0.0.1:993"},
	} {
		b := AppendV2(nil, netip.MustParseAddrPort(c.client), netip.MustParseAddrPort(c.local), tlvs...)
		h, n, err := Parse(append(b, "tail"...))
		if err != nil || n != len(b) || !h.HasAddrs {
			t.Fatalf("own parser: %+v %d %v", h, n, err)
		}
		ph, err := pp.Read(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ph.TLVs()
		if err != nil || len(got) != 3 {
			t.Fatalf("TLVs %v %v", got, err)
		}
		if got[0].Type != pp.PP2_TYPE_ALPN || string(got[0].Value) != "imap" || got[1].Type != pp.PP2_TYPE_AUTHORITY || string(got[1].Value) != "mail.example.org" {
			t.Fatalf("TLVs %+v", got)
		}
		ssl, ok := tlvparse.FindSSL(got)
		if !ok || !ssl.ClientSSL() || !ssl.ClientCertConn() || !ssl.ClientCertSess() || !ssl.Verified() {
			t.Fatalf("SSL %+v", ssl)
		}
		v, _ := ssl.SSLVersion()
		cipher, _ := ssl.SSLCipher()
		cn, _ := ssl.ClientCN()
		if v != "TLSv1.3" || cipher != "TLS_AES_128_GCM_SHA256" || cn != "Jürgen" {
			t.Fatalf("SSL sub-TLVs %q %q %q", v, cipher, cn)
		}
		if src := ph.SourceAddr.String(); src != c.client {
			t.Fatalf("source %s", src)
		}
	}
}

func TestV2TLVLimits(t *testing.T) {
	big := TLV{Type: TypeAuthority, Value: []byte(strings.Repeat("x", 0xffff))}
	small := TLV{Type: TypeALPN, Value: []byte("pop3")}
	b := AppendV2(nil, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2"), big, small)
	h, err := pp.Read(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := h.TLVs()
	if len(got) != 1 || got[0].Type != pp.PP2_TYPE_ALPN {
		t.Fatalf("an oversized TLV was sent: %d TLVs", len(got))
	}
	local := AppendV2(nil, netip.AddrPort{}, netip.AddrPort{}, small)
	if h, _, err := Parse(local); err != nil || h.HasAddrs || len(local) != 16+3+4 {
		t.Fatalf("LOCAL with TLV: %v %d", err, len(local))
	}
}
