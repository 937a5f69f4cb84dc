package logging

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SyslogPrefix starts an error_log destination that is a syslog server.
const SyslogPrefix = "syslog:"

// Syslog is a parsed `syslog:` destination, nginx's
// syslog:server=ADDR[:PORT][,facility=F][,severity=S][,tag=T][,nohostname].
type Syslog struct {
	// Network is "udp", or "unixgram" for server=unix:/path.
	Network string
	// Address is HOST:PORT (port 514 unless given; HOST an IP literal or
	// a name, looked up each time the socket is opened) or the socket's
	// path.
	Address string
	// Facility is the facility number (local7, 23, unless given).
	Facility int
	// Tag names the program in each message ("mailproxy" unless given;
	// nginx's default is "nginx").
	Tag string
	// NoHostname leaves the host name out of the header.
	NoHostname bool
}

// DefaultSyslogTag is the tag of a syslog destination without tag=.
const DefaultSyslogTag = "mailproxy"

var facilities = []string{
	"kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news", "uucp",
	"clock", "authpriv", "ftp", "ntp", "audit", "alert", "cron", "local0",
	"local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// ParseSyslog parses a destination that starts with "syslog:" as nginx
// does (ngx_syslog_parse_args), with nginx's messages for its errors.
// severity= is checked and otherwise ignored: as with nginx, each
// message has its own level's severity.
func ParseSyslog(dest string) (Syslog, error) {
	rest, ok := strings.CutPrefix(dest, SyslogPrefix)
	if !ok {
		return Syslog{}, fmt.Errorf("%q is not a syslog destination", dest)
	}
	s := Syslog{Facility: -1}
	var server, severity, tag bool
	for _, p := range strings.Split(rest, ",") {
		switch {
		case strings.HasPrefix(p, "server="):
			if server {
				return Syslog{}, errors.New(`duplicate syslog "server"`)
			}
			server = true
			var err error
			if s.Network, s.Address, err = syslogServer(p[len("server="):]); err != nil {
				return Syslog{}, err
			}
		case strings.HasPrefix(p, "facility="):
			if s.Facility >= 0 {
				return Syslog{}, errors.New(`duplicate syslog "facility"`)
			}
			name := p[len("facility="):]
			for i, f := range facilities {
				if f == name {
					s.Facility = i
				}
			}
			if s.Facility < 0 {
				return Syslog{}, fmt.Errorf("unknown syslog facility %q", name)
			}
		case strings.HasPrefix(p, "severity="):
			if severity {
				return Syslog{}, errors.New(`duplicate syslog "severity"`)
			}
			severity = true
			name := p[len("severity="):]
			if _, err := ParseLevel(name); err != nil || name != strings.ToLower(name) || name == "" {
				return Syslog{}, fmt.Errorf("unknown syslog severity %q", name)
			}
		case strings.HasPrefix(p, "tag="):
			if tag {
				return Syslog{}, errors.New(`duplicate syslog "tag"`)
			}
			tag = true
			s.Tag = p[len("tag="):]
			if len(s.Tag) > 32 {
				return Syslog{}, errors.New("syslog tag length exceeds 32")
			}
			for i := 0; i < len(s.Tag); i++ {
				c := s.Tag[i] | 0x20 // lower case for letters
				if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || s.Tag[i] == '_') {
					return Syslog{}, errors.New(`syslog "tag" only allows alphanumeric characters and underscore`)
				}
			}
		case p == "nohostname":
			s.NoHostname = true
		default:
			return Syslog{}, fmt.Errorf("unknown syslog parameter %q", p)
		}
	}
	if !server {
		return Syslog{}, errors.New("no syslog server specified")
	}
	if s.Facility < 0 {
		s.Facility = 23 // local7
	}
	if !tag {
		s.Tag = DefaultSyslogTag
	}
	return s, nil
}

// syslogServer parses server=: unix:/path, IPv4[:PORT], [IPv6][:PORT] or
// NAME[:PORT], port 514 by default.
func syslogServer(v string) (network, address string, err error) {
	if path, ok := strings.CutPrefix(v, "unix:"); ok {
		if path == "" {
			return "", "", fmt.Errorf("no path in the unix domain socket in syslog server %q", v)
		}
		return "unixgram", path, nil
	}
	bad := func(what string) error { return fmt.Errorf("%s in syslog server %q", what, v) }
	host, port := v, "514"
	switch {
	case v == "":
		return "", "", bad("no host")
	case strings.HasPrefix(v, "["):
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "", "", bad("invalid host")
		}
		host = v[1:end]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" {
			return "", "", bad("invalid IPv6 address")
		}
		switch tail := v[end+1:]; {
		case tail == "":
		case strings.HasPrefix(tail, ":"):
			port = tail[1:]
		default:
			return "", "", bad("invalid host")
		}
	case strings.Count(v, ":") == 1:
		host, port, _ = strings.Cut(v, ":")
	case strings.Contains(v, ":"):
		return "", "", bad("invalid host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "", "", bad("invalid port")
	}
	if host == "" {
		return "", "", bad("no host")
	}
	// An IP address, or a DNS name: letters, digits, '-' and '.'.
	const nameBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."
	if _, err := netip.ParseAddr(host); err != nil && (len(host) > 253 || strings.Trim(host, nameBytes) != "") {
		return "", "", bad("invalid host")
	}
	return "udp", net.JoinHostPort(host, port), nil
}

// maxSyslogBody is the longest message body sent: nginx's error line
// buffer (NGX_MAX_ERROR_STR, 2048 bytes) less its line feed.
const maxSyslogBody = 2047

// syslogTime is nginx's syslog time stamp, RFC 3164's "Mmm dd hh:mm:ss"
// with the day padded with a space.
const syslogTime = "Jan _2 15:04:05"

// syslogWriter sends each record as one datagram framed as nginx frames
// it: "<PRI>Mmm dd hh:mm:ss HOST TAG: " (no HOST with nohostname), then
// the log line without its line feed. The socket is opened at the first
// write; after a failed send it is closed and opened again, at most once
// a second, as nginx does. Send errors are dropped: a log line must not
// stop a session.
type syslogWriter struct {
	s    Syslog
	host string
	now  func() time.Time

	mu       sync.Mutex
	conn     net.Conn
	failedAt time.Time // last connect or send failure
	buf      []byte
}

func (w *syslogWriter) write(level slog.Level, line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if w.conn == nil {
		if now.Sub(w.failedAt) < time.Second {
			return nil
		}
		c, err := net.Dial(w.s.Network, w.s.Address)
		if err != nil {
			w.failedAt = now
			return err
		}
		w.conn = c
	}
	b := w.frame(w.buf[:0], level, now, line)
	w.buf = b
	if _, err := w.conn.Write(b); err != nil {
		w.conn.Close()
		w.conn, w.failedAt = nil, now
		return err
	}
	return nil
}

// frame appends the datagram for line to b.
func (w *syslogWriter) frame(b []byte, level slog.Level, now time.Time, line []byte) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(w.s.Facility*8+severity(level)), 10)
	b = append(b, '>')
	b = now.AppendFormat(b, syslogTime)
	b = append(b, ' ')
	if !w.s.NoHostname {
		b = append(b, w.host...)
		b = append(b, ' ')
	}
	b = append(b, w.s.Tag...)
	b = append(b, ": "...)
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if len(line) > maxSyslogBody {
		line = line[:maxSyslogBody]
	}
	return append(b, line...)
}

func (w *syslogWriter) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		err := w.conn.Close()
		w.conn = nil
		return err
	}
	return nil
}
