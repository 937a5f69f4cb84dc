package logging

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseSyslog: any error_log destination parses or fails without a
// panic; what parses has a network, an address, a facility and a tag
// nginx accepts, and a message framed with it is one line.
func FuzzParseSyslog(f *testing.F) {
	for _, s := range []string{
		"syslog:server=127.0.0.1", "syslog:server=[::1]:514,facility=mail,tag=mp,nohostname",
		"syslog:server=unix:/dev/log,severity=info", "syslog:server=a.b:1,facility=local7,tag=",
		"syslog:", "syslog:server=", "syslog:server=[::1", "syslog:server=1.2.3.4:99999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dest string) {
		s, err := ParseSyslog(dest)
		if err != nil {
			return
		}
		if s.Network != "udp" && s.Network != "unixgram" || s.Address == "" || s.Facility < 0 || s.Facility > 23 || len(s.Tag) > 32 {
			t.Fatalf("%q parsed as %+v", dest, s)
		}
		w := &syslogWriter{s: s, host: "h"}
		b := w.frame(nil, LevelInfo, fixedTime, []byte("line\n"))
		if bytes.ContainsAny(b, "\r\n") || !strings.HasSuffix(string(b), ": line") {
			t.Fatalf("%q framed as %q", dest, b)
		}
	})
}
