package bench

import (
	"bufio"
	"crypto/tls"
	"net"

	"mailproxy/internal/mailtest"
)

// listen serves handle on addr ("127.0.0.1:0" for a free port), over
// TLS when tlsConf is not nil: one handler goroutine per connection,
// each with a 4 KiB reader and writer. Close stops it and every
// connection it holds.
func listen(addr string, tlsConf *tls.Config, handle func(c net.Conn, r *bufio.Reader, w *bufio.Writer)) (*mailtest.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	return mailtest.Serve(ln, func(c net.Conn) {
		handle(c, bufio.NewReaderSize(c, 4096), bufio.NewWriterSize(c, 4096))
	}), nil
}

// readLine returns the next line, CRLF included, valid until the next
// read; a line longer than the reader's buffer is an error.
func readLine(r *bufio.Reader) ([]byte, error) {
	return r.ReadSlice('\n')
}

// flushIdle flushes w when the client has sent nothing more, so that
// pipelined commands are answered in one write.
func flushIdle(r *bufio.Reader, w *bufio.Writer) error {
	if r.Buffered() > 0 {
		return nil
	}
	return w.Flush()
}

// word splits line (CRLF stripped) at its first space.
func word(line []byte) (first, rest []byte) {
	line = trimCRLF(line)
	for i, b := range line {
		if b == ' ' {
			return line[:i], line[i+1:]
		}
	}
	return line, nil
}

func trimCRLF(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
