package bench

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
)

// pop3Backend answers USER, PASS (any credentials), STAT, LIST, RETR (its
// one message, whatever number is asked), NOOP, CAPA and QUIT with
// precomputed replies.
type pop3Backend struct {
	stat, list, retr []byte
}

func newPOP3Backend(msg []byte) *pop3Backend {
	n := strconv.Itoa(len(msg))
	retr := append([]byte("+OK "+n+" octets\r\n"), msg...)
	retr = append(retr, ".\r\n"...)
	return &pop3Backend{
		stat: []byte("+OK 1 " + n + "\r\n"),
		list: []byte("+OK 1 messages\r\n1 " + n + "\r\n.\r\n"),
		retr: retr,
	}
}

func (b *pop3Backend) serve(c net.Conn, r *bufio.Reader, w *bufio.Writer) {
	if _, err := io.WriteString(c, "+OK bench ready\r\n"); err != nil {
		return
	}
	for {
		line, err := readLine(r)
		if err != nil {
			return
		}
		cmd, _ := word(line)
		switch {
		case bytes.EqualFold(cmd, []byte("USER")), bytes.EqualFold(cmd, []byte("NOOP")):
			w.WriteString("+OK\r\n")
		case bytes.EqualFold(cmd, []byte("PASS")):
			w.WriteString("+OK logged in\r\n")
		case bytes.EqualFold(cmd, []byte("STAT")):
			w.Write(b.stat)
		case bytes.EqualFold(cmd, []byte("LIST")):
			w.Write(b.list)
		case bytes.EqualFold(cmd, []byte("RETR")):
			if w.Flush() != nil {
				return
			}
			if _, err := c.Write(b.retr); err != nil {
				return
			}
		case bytes.EqualFold(cmd, []byte("CAPA")):
			w.WriteString("+OK\r\nUSER\r\n.\r\n")
		case bytes.EqualFold(cmd, []byte("QUIT")):
			w.WriteString("+OK bye\r\n")
			w.Flush()
			return
		default:
			w.WriteString("-ERR unknown command\r\n")
		}
		if flushIdle(r, w) != nil {
			return
		}
	}
}
