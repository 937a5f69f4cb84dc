package authhttp

import "testing"

func BenchmarkAppendRequest(b *testing.B) {
	r := &Request{
		Method: MethodPlain, User: "alice@example.com", Pass: "correct horse battery staple",
		Protocol: "imap", LoginAttempt: 1, ClientIP: "192.0.2.10",
		SSL: &SSLInfo{Protocol: "TLSv1.3", Cipher: "TLS_AES_256_GCM_SHA384"},
	}
	c := &Client{}
	c.prefix = appendRequestLine(nil, "127.0.0.1", "/auth")
	c.suffix = append(appendCustom(nil, []Header{{"X-Auth-Key", "k"}}), "\r\n"...)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendRequest(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParseResponse(b *testing.B) {
	head := []byte("HTTP/1.0 200 OK\r\nAuth-Status: OK\r\nAuth-Server: 192.0.2.20\r\nAuth-Port: 143\r\nAuth-Pass: secret\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		if _, err := ParseResponse(head, imapCRAM); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponseFailure(b *testing.B) {
	head := []byte("HTTP/1.0 200 OK\r\nAuth-Status: Invalid login or password\r\nAuth-Wait: 3\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		if _, err := ParseResponse(head, imapPlain); err != nil {
			b.Fatal(err)
		}
	}
}
