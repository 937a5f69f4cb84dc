package bench

import (
	"bufio"
	"net"
	"testing"
)

// TestSkipData feeds DATA bodies in chunks of every size and checks that
// skipData stops exactly after the final "." line, whatever the chunk
// boundaries, leaving the next command readable.
func TestSkipData(t *testing.T) {
	bodies := []string{
		".\r\n", // empty message
		"a\r\n.\r\n",
		"..dot-stuffed\r\n.x\r\n\r\n.\r\n",
		string(Message(5000)) + ".\r\n",
	}
	for _, body := range bodies {
		for _, chunk := range []int{1, 2, 3, 4, 5, 7, 4096, 1 << 20} {
			client, srv := net.Pipe()
			go func() {
				data := []byte(body + "NEXT\r\n")
				for len(data) > 0 {
					n := min(chunk, len(data))
					if _, err := client.Write(data[:n]); err != nil {
						return
					}
					data = data[n:]
				}
			}()
			r := bufio.NewReaderSize(srv, 4096)
			r, err := skipData(r, srv)
			if err != nil {
				t.Fatalf("body %.20q, chunks of %d: %v", body, chunk, err)
			}
			line, err := r.ReadString('\n')
			if err != nil || line != "NEXT\r\n" {
				t.Errorf("body %.20q, chunks of %d: next line %q, %v", body, chunk, line, err)
			}
			client.Close()
			srv.Close()
		}
	}
}

// TestMessage checks the generated message's size and shape.
func TestMessage(t *testing.T) {
	for _, n := range []int{128, 1000, 1e6, 16 << 20, 16<<20 + 1, 16<<20 + 2} {
		m := Message(n)
		if len(m) != n {
			t.Errorf("Message(%d) has %d bytes", n, len(m))
		}
		if m[len(m)-2] != '\r' || m[len(m)-1] != '\n' {
			t.Errorf("Message(%d) does not end with CRLF", n)
		}
	}
}
