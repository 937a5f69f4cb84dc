package proxy

import (
	"mailproxy/internal/proxyproto"
	mailtls "mailproxy/tls"
)

// proxyHeader is the PROXY header for the backend (proxy_protocol, SPEC
// §12.3), or nil when it is off: nginx's v1 line, or a v2 header that,
// with proxy_protocol_tlvs on and a TLS client, carries the TLS facts.
func (cc *clientConn) proxyHeader() []byte {
	switch cc.site.cfg.ProxyProtocol {
	case "v1":
		return proxyproto.AppendV1(nil, cc.client, cc.local)
	case "v2":
		return proxyproto.AppendV2(nil, cc.client, cc.local, cc.tlsTLVs()...)
	}
	return nil
}

// tlsTLVs describes the client's TLS connection as HAProxy does: ALPN,
// AUTHORITY (the server name the client asked for) and SSL with the
// protocol version, OpenSSL's cipher name and, when a certificate was
// presented, its common name. SSL's verify field is 0 only for a
// certificate that was presented and verified; otherwise OpenSSL's error
// code, or 1 (unspecified) when there was none or verification is off.
func (cc *clientConn) tlsTLVs() []proxyproto.TLV {
	st := cc.tlsState
	if !cc.site.cfg.ProxyProtocolTLVs || st == nil {
		return nil
	}
	var tlvs []proxyproto.TLV
	if st.NegotiatedProtocol != "" {
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeALPN, Value: []byte(st.NegotiatedProtocol)})
	}
	if st.ServerName != "" {
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeAuthority, Value: []byte(st.ServerName)})
	}
	version, cipher := mailtls.Describe(*st)
	sub := []proxyproto.TLV{{Type: proxyproto.SubtypeSSLVersion, Value: []byte(version)}}
	client := byte(proxyproto.ClientSSL)
	verify := uint32(1)
	if len(st.PeerCertificates) > 0 {
		client |= proxyproto.ClientCertSess
		if !st.DidResume {
			client |= proxyproto.ClientCertConn
		}
		if cc.site.clientAuth != nil && cc.cert.Cert != nil {
			verify = uint32(cc.cert.Code)
		}
		if cn := st.PeerCertificates[0].Subject.CommonName; cn != "" {
			sub = append(sub, proxyproto.TLV{Type: proxyproto.SubtypeSSLCN, Value: []byte(cn)})
		}
	}
	sub = append(sub, proxyproto.TLV{Type: proxyproto.SubtypeSSLCipher, Value: []byte(cipher)})
	return append(tlvs, proxyproto.SSL(client, verify, sub...))
}
