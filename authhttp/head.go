package authhttp

// scanHead runs nginx's two parsers over b: ignore_status_line, then
// parse_header_line until the empty line (SPEC §10.1). It reports each
// header line to a (when a is not nil) and returns the length of the head
// including the empty line.
//
// It returns errNeedMore when b ends before the empty line and no syntax
// error was found; scanning a longer b that starts with the same bytes
// gives the same headers, so a reader may call it again after each read.
func scanHead(b []byte, a *answer) (int, error) {
	p, err := skipStatusLine(b)
	if err != nil {
		return 0, err
	}
	return scanHeaders(b, p, a)
}

// skipStatusLine returns where the header lines start: after the first
// line if b starts with "HTTP/", else 0.
func skipStatusLine(b []byte) (int, error) {
	const magic = "HTTP/"
	for i := range len(magic) {
		if i == len(b) {
			return 0, errNeedMore
		}
		if b[i] != magic[i] {
			return 0, nil
		}
	}
	for i := len(magic); i < len(b); i++ {
		switch b[i] {
		case '\n':
			return i + 1, nil
		case '\r':
			if i+1 == len(b) {
				return 0, errNeedMore
			}
			if b[i+1] != '\n' {
				return 0, &ResponseError{Kind: InvalidResponse}
			}
			return i + 2, nil
		}
	}
	return 0, errNeedMore
}

// States of nginx's parse_header_line.
const (
	swStart = iota
	swName
	swSpaceBeforeValue
	swValue
	swSpaceAfterValue
	swAlmostDone
	swHeaderAlmostDone
)

// scanHeaders is nginx's parse_header_line loop starting at b[p].
func scanHeaders(b []byte, p int, a *answer) (int, error) {
	state := swStart
	var nameStart, nameEnd, valStart, valEnd int
	emit := func() {
		if a != nil {
			a.header(b[nameStart:nameEnd], b[valStart:valEnd])
		}
		state = swStart
	}
	for ; p < len(b); p++ {
		ch := b[p]
		switch state {
		case swStart:
			switch ch {
			case '\r':
				state = swHeaderAlmostDone
			case '\n':
				return p + 1, nil
			default:
				if !isAlnum(ch) {
					return 0, &ResponseError{Kind: InvalidHeader}
				}
				nameStart = p
				state = swName
			}
		case swName:
			switch {
			case isAlnum(ch), ch == '-':
			case ch == ':':
				nameEnd = p
				state = swSpaceBeforeValue
			case ch == '\r':
				nameEnd, valStart, valEnd = p, p, p
				state = swAlmostDone
			case ch == '\n':
				nameEnd, valStart, valEnd = p, p, p
				emit()
			default:
				return 0, &ResponseError{Kind: InvalidHeader}
			}
		case swSpaceBeforeValue:
			switch ch {
			case ' ':
			case '\r':
				valStart, valEnd = p, p
				state = swAlmostDone
			case '\n':
				valStart, valEnd = p, p
				emit()
			default:
				valStart = p
				state = swValue
			}
		case swValue:
			switch ch {
			case ' ':
				valEnd = p
				state = swSpaceAfterValue
			case '\r':
				valEnd = p
				state = swAlmostDone
			case '\n':
				valEnd = p
				emit()
			}
		case swSpaceAfterValue:
			switch ch {
			case ' ':
			case '\r':
				state = swAlmostDone
			case '\n':
				emit()
			default:
				state = swValue
			}
		case swAlmostDone:
			if ch != '\n' {
				return 0, &ResponseError{Kind: InvalidHeader}
			}
			emit()
		case swHeaderAlmostDone:
			if ch != '\n' {
				return 0, &ResponseError{Kind: InvalidHeader}
			}
			return p + 1, nil
		}
	}
	return 0, errNeedMore
}

// isAlnum is nginx's header-name test for letters and digits (ASCII only).
func isAlnum(c byte) bool {
	lc := c | 0x20
	return (lc >= 'a' && lc <= 'z') || (c >= '0' && c <= '9')
}
