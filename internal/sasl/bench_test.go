package sasl

import "testing"

// BenchmarkDecode measures nginx-style base64 decoding of a PLAIN
// initial response.
func BenchmarkDecode(b *testing.B) {
	in := []byte("AGFsaWNlQGV4YW1wbGUuY29tAGNvcnJlY3QgaG9yc2UgYmF0dGVyeSBzdGFwbGU=")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplitPlain measures splitting a decoded PLAIN response.
func BenchmarkSplitPlain(b *testing.B) {
	in := []byte("\x00alice@example.com\x00correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := SplitPlain(in); err != nil {
			b.Fatal(err)
		}
	}
}
