package logging

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSyslog(t *testing.T) {
	good := map[string]Syslog{
		"syslog:server=127.0.0.1":                                                     {Network: "udp", Address: "127.0.0.1:514", Facility: 23, Tag: "mailproxy"},
		"syslog:server=192.0.2.1:5514,facility=mail":                                  {Network: "udp", Address: "192.0.2.1:5514", Facility: 2, Tag: "mailproxy"},
		"syslog:server=[::1],tag=nginx,nohostname":                                    {Network: "udp", Address: "[::1]:514", Facility: 23, Tag: "nginx", NoHostname: true},
		"syslog:server=[2001:db8::1]:1514":                                            {Network: "udp", Address: "[2001:db8::1]:1514", Facility: 23, Tag: "mailproxy"},
		"syslog:server=log.example.org,severity=warn,facility=local0,tag=Mail_Proxy1": {Network: "udp", Address: "log.example.org:514", Facility: 16, Tag: "Mail_Proxy1"},
		"syslog:server=unix:/dev/log,facility=kern":                                   {Network: "unixgram", Address: "/dev/log", Facility: 0, Tag: "mailproxy"},
		"syslog:tag=,server=127.0.0.1":                                                {Network: "udp", Address: "127.0.0.1:514", Facility: 23, Tag: ""},
	}
	for in, want := range good {
		got, err := ParseSyslog(in)
		if err != nil || got != want {
			t.Errorf("ParseSyslog(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	// nginx's messages (ngx_syslog_parse_args).
	bad := map[string]string{
		"syslog:":              `unknown syslog parameter ""`,
		"syslog:facility=mail": "no syslog server specified",
		"syslog:server=127.0.0.1,server=127.0.0.2":               `duplicate syslog "server"`,
		"syslog:server=127.0.0.1,facility=mailx":                 `unknown syslog facility "mailx"`,
		"syslog:server=127.0.0.1,facility=mail,facility=mail":    `duplicate syslog "facility"`,
		"syslog:server=127.0.0.1,severity=warning":               `unknown syslog severity "warning"`,
		"syslog:server=127.0.0.1,severity=INFO":                  `unknown syslog severity "INFO"`,
		"syslog:server=127.0.0.1,tag=a-b":                        `syslog "tag" only allows alphanumeric characters and underscore`,
		"syslog:server=127.0.0.1,tag=" + strings.Repeat("a", 33): "syslog tag length exceeds 32",
		"syslog:server=127.0.0.1,tag=a,tag=b":                    `duplicate syslog "tag"`,
		"syslog:server=127.0.0.1,hostname":                       `unknown syslog parameter "hostname"`,
		"syslog:server=127.0.0.1:0":                              `invalid port in syslog server "127.0.0.1:0"`,
		"syslog:server=127.0.0.1:99999":                          `invalid port in syslog server "127.0.0.1:99999"`,
		"syslog:server=":                                         `no host in syslog server ""`,
		"syslog:server=[::1":                                     `invalid host in syslog server "[::1"`,
		"syslog:server=bad_host!":                                `invalid host in syslog server "bad_host!"`,
		"syslog:server=unix:":                                    `no path in the unix domain socket in syslog server "unix:"`,
		"/var/log/x":                                             `"/var/log/x" is not a syslog destination`,
	}
	for in, want := range bad {
		if _, err := ParseSyslog(in); err == nil || err.Error() != want {
			t.Errorf("ParseSyslog(%q) = %v, want %q", in, err, want)
		}
	}
}

// TestSyslogFraming: each record is one datagram framed as nginx frames
// it, "<PRI>Mmm dd hh:mm:ss HOST TAG: LINE", PRI being facility*8 plus
// the record's own severity, the line without its line feed.
func TestSyslogFraming(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	o := fixedOutputs(io.Discard)
	o.now = func() time.Time { return time.Date(2026, 4, 1, 9, 5, 7, 0, time.Local) }
	dest := "syslog:server=" + pc.LocalAddr().String() + ",facility=mail,tag=mp,severity=emerg"
	log, release, err := o.Logger("nginx", []Sink{{Destination: dest, Level: LevelDebug}})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	log.With(Conn(3)).Info("session done", "client", "127.0.0.1:5000")
	log.Log(t.Context(), LevelNotice, "mailproxy/1.0")
	log.Error("x")
	log.Debug(strings.Repeat("y", 3000))
	want := []string{
		"<22>Apr  1 09:05:07 mx1 mp: 2026/04/01 09:05:07 [info] 4242#4242: *3 session done, client: 127.0.0.1",
		"<21>Apr  1 09:05:07 mx1 mp: 2026/04/01 09:05:07 [notice] 4242#4242: mailproxy/1.0",
		"<19>Apr  1 09:05:07 mx1 mp: 2026/04/01 09:05:07 [error] 4242#4242: x",
		"<23>Apr  1 09:05:07 mx1 mp: " + ("2026/04/01 09:05:07 [debug] 4242#4242: " + strings.Repeat("y", 3000))[:2047],
	}
	buf := make([]byte, 65536)
	for _, w := range want {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != w {
			t.Errorf("datagram\n%q\nwant\n%q", got, w)
		}
	}
}

// TestSyslogUnixAndText: a UNIX datagram socket (server=unix:/dev/log),
// nohostname, and the text format.
func TestSyslogUnixAndText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	o := fixedOutputs(io.Discard)
	o.now = func() time.Time { return time.Date(2026, 12, 31, 23, 59, 59, 0, time.Local) }
	log, release, err := o.Logger("text", []Sink{{Destination: "syslog:server=unix:" + path + ",nohostname", Level: LevelInfo}})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	log.Warn("careful", "k", "v")
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	if !strings.HasPrefix(got, "<188>Dec 31 23:59:59 mailproxy: time=") || !strings.HasSuffix(got, " level=WARN msg=careful k=v") {
		t.Errorf("datagram %q", got)
	}
}

// TestSyslogServerDown: with nothing listening, records are dropped
// without an error reaching the caller and without slowing logging down;
// the socket is opened again once the server is back.
func TestSyslogServerDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.Local)
	o := fixedOutputs(io.Discard)
	o.now = func() time.Time { return now }
	log, release, err := o.Logger("nginx", []Sink{{Destination: "syslog:server=unix:" + path, Level: LevelInfo}})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	start := time.Now()
	for range 1000 {
		log.Info("lost")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("1000 records to a missing server took %v", d)
	}
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	log.Info("too soon") // within a second of the failure: not retried
	now = now.Add(2 * time.Second)
	log.Info("back")
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); !strings.HasSuffix(got, ": back") {
		t.Errorf("first datagram after the server came back: %q", got)
	}
}
