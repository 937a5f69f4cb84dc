package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync"
)

// smtpBackend answers EHLO/HELO, XCLIENT, AUTH (PLAIN with or without an
// initial response, LOGIN; any credentials), MAIL, RCPT, DATA (the message
// is read to its final "." and dropped), RSET, NOOP and QUIT.
type smtpBackend struct{}

const smtpEHLO = "250-bench.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-XCLIENT ADDR LOGIN NAME\r\n250 AUTH PLAIN LOGIN\r\n"

func (smtpBackend) serve(c net.Conn, r *bufio.Reader, w *bufio.Writer) {
	if _, err := io.WriteString(c, "220 bench.example ESMTP bench\r\n"); err != nil {
		return
	}
	for {
		line, err := readLine(r)
		if err != nil {
			return
		}
		cmd, rest := word(line)
		switch {
		case bytes.EqualFold(cmd, []byte("EHLO")):
			w.WriteString(smtpEHLO)
		case bytes.EqualFold(cmd, []byte("HELO")):
			w.WriteString("250 bench.example\r\n")
		case bytes.EqualFold(cmd, []byte("XCLIENT")):
			w.WriteString("220 bench.example ESMTP bench\r\n")
		case bytes.EqualFold(cmd, []byte("AUTH")):
			mech, ir := word(rest)
			steps := 0 // client lines still to read
			switch {
			case bytes.EqualFold(mech, []byte("LOGIN")):
				steps = 2 - min(len(ir), 1)
			case len(ir) == 0:
				steps = 1
			}
			for range steps {
				w.WriteString("334 \r\n")
				if w.Flush() != nil {
					return
				}
				if _, err := readLine(r); err != nil {
					return
				}
			}
			w.WriteString("235 2.7.0 Authentication successful\r\n")
		case bytes.EqualFold(cmd, []byte("MAIL")):
			w.WriteString("250 2.1.0 Ok\r\n")
		case bytes.EqualFold(cmd, []byte("RCPT")):
			w.WriteString("250 2.1.5 Ok\r\n")
		case bytes.EqualFold(cmd, []byte("DATA")):
			w.WriteString("354 End data with <CR><LF>.<CR><LF>\r\n")
			if w.Flush() != nil {
				return
			}
			if r, err = skipData(r, c); err != nil {
				return
			}
			w.WriteString("250 2.0.0 Ok: queued\r\n")
		case bytes.EqualFold(cmd, []byte("RSET")), bytes.EqualFold(cmd, []byte("NOOP")):
			w.WriteString("250 2.0.0 Ok\r\n")
		case bytes.EqualFold(cmd, []byte("QUIT")):
			w.WriteString("221 2.0.0 Bye\r\n")
			w.Flush()
			return
		default:
			w.WriteString("502 5.5.2 Error: command not recognized\r\n")
		}
		if flushIdle(r, w) != nil {
			return
		}
	}
}

// dataBufs holds the large buffers DATA is read with.
var dataBufs = sync.Pool{New: func() any { return new([64 << 10]byte) }}

// dataEnd ends DATA; the CRLF before the dot ends the last line.
var dataEnd = []byte("\r\n.\r\n")

// skipData reads a message up to and including its final "." line: what r
// has buffered, then large reads straight from c. It returns the reader
// to go on with (a new one when the client sent more after the dot).
func skipData(r *bufio.Reader, c net.Conn) (*bufio.Reader, error) {
	buf := dataBufs.Get().(*[64 << 10]byte)
	defer dataBufs.Put(buf)
	tail := []byte("\r\n") // what came last: the DATA line's end
	var join [8]byte
	for {
		var chunk []byte
		if n := r.Buffered(); n > 0 {
			p, _ := r.Peek(min(n, len(buf)))
			chunk = buf[:copy(buf[:], p)]
			r.Discard(len(chunk))
		} else {
			n, err := c.Read(buf[:])
			if err != nil {
				return r, err
			}
			chunk = buf[:n]
		}
		end := -1 // where the terminator ends in chunk
		j := append(append(join[:0], tail...), chunk[:min(len(chunk), 4)]...)
		if i := bytes.Index(j, dataEnd); i >= 0 {
			end = i + len(dataEnd) - len(tail)
		} else if i := bytes.Index(chunk, dataEnd); i >= 0 {
			end = i + len(dataEnd)
		}
		if end >= 0 {
			if extra := chunk[end:]; len(extra) > 0 || r.Buffered() > 0 {
				p, _ := r.Peek(r.Buffered())
				more := append(bytes.Clone(extra), p...)
				return bufio.NewReaderSize(io.MultiReader(bytes.NewReader(more), c), 4096), nil
			}
			return r, nil
		}
		if len(chunk) >= 4 {
			tail = append(tail[:0], chunk[len(chunk)-4:]...)
		} else {
			tail = append(tail, chunk...)
			tail = tail[max(0, len(tail)-4):]
		}
	}
}
