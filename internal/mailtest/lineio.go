package mailtest

import (
	"bufio"
	"bytes"
	"errors"
)

// errLineTooLong is returned by readLine for a line over its limit.
var errLineTooLong = errors.New("mailtest: line too long")

// readLine reads one line, up to and including its LF, and returns a copy
// of it with the terminator. A line longer than max bytes (terminator
// included) gives errLineTooLong, after at most max+bufferSize bytes were
// consumed; the connection should then be dropped. A line cut short by EOF
// or an error is returned as that error.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > max {
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		switch err {
		case nil:
			return line, nil
		case bufio.ErrBufferFull:
			continue
		default:
			return nil, err
		}
	}
}

// trimEOL returns line without its trailing CRLF or LF.
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}
