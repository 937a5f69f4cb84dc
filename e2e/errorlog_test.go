package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailproxy/internal/mailtest"
)

// nginxLine is an error_log line as nginx's tools read it.
var nginxLine = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(debug|info|notice|warn|error|crit|alert|emerg)\] (\d+)#(\d+): (\*\d+ )?\S`)

// waitContains waits until read() contains want.
func waitContains(t *testing.T, read func() string, want, what string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := read()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks %q:\n%s", what, want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(path string) func() string {
	return func() string { b, _ := os.ReadFile(path); return string(b) }
}

// TestNginxConfLogs runs an nginx.conf that logs as most nginx
// installations do — two files, syslog and stderr at the main level, a
// server with its own file at debug — and checks each sink: nginx's line
// format, the start-up notice naming the version, each sink's level,
// sessions in their server's log with their number, and syslog datagrams
// framed as nginx frames them.
func TestNginxConfLogs(t *testing.T) {
	syslogd, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer syslogd.Close()
	dir := t.TempDir()
	listen := freePort(t)
	be := startIMAP(t)
	conf := fmt.Sprintf(`error_log %[1]s/main.log info;
error_log %[1]s/errors.log;
error_log syslog:server=%[2]s,facility=mail,tag=mailproxy notice;
error_log stderr info;
mail {
    auth_http %[3]s;
    server {
        listen %[4]s;
        protocol imap;
        error_log %[1]s/imap.log debug;
    }
}
`, dir, syslogd.LocalAddr(), authOK(t, be), listen)
	file := filepath.Join(dir, "nginx.conf")
	os.WriteFile(file, []byte(conf), 0o644)
	p := startBinaryFile(t, file)
	pid := strconv.Itoa(p.cmd.Process.Pid)

	stderr := p.stderr.String()
	first := strings.SplitN(stderr, "\n", 2)[0]
	if want := "] " + pid + "#" + pid + ": mailproxy/"; !strings.Contains(first, "[notice]"+want[1:]) || !nginxLine.MatchString(first) {
		t.Errorf("first stderr line %q, want the [notice] … mailproxy/VERSION start-up notice", first)
	}
	c, r := login(t, listen)
	io.WriteString(c, "z LOGOUT\r\n")
	for !strings.HasPrefix(readLine(t, c, r), "z ") {
	}
	c.Close()
	imap := waitContains(t, readFile(filepath.Join(dir, "imap.log")), "session done", "imap.log")
	for _, want := range []string{
		"[debug] " + pid + "#" + pid + ": *1 client connected, protocol: imap, client: 127.0.0.1, server: " + listen + "\n",
		"[info] " + pid + "#" + pid + ": *1 session done, bytes_to_backend: ",
		", protocol: imap, client: 127.0.0.1, server: " + listen + `, login: "alice", upstream: ` + be + "\n",
	} {
		if !strings.Contains(imap, want) {
			t.Errorf("imap.log lacks %q:\n%s", want, imap)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(imap), "\n") {
		if !nginxLine.MatchString(line) {
			t.Errorf("imap.log line %q is not in nginx's format", line)
		}
	}
	main := readFile(filepath.Join(dir, "main.log"))()
	if !strings.Contains(main, "[notice] "+pid+"#"+pid+": mailproxy/") || !strings.Contains(main, "[info] "+pid+"#"+pid+": mailproxy started, version: ") || strings.Contains(main, "session") {
		t.Errorf("main.log (process messages, no session):\n%s", main)
	}
	if errs := readFile(filepath.Join(dir, "errors.log"))(); errs != "" {
		t.Errorf("errors.log (level error) has lines:\n%s", errs)
	}
	// syslog: the notice (info is below the sink's level).
	buf := make([]byte, 4096)
	syslogd.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := syslogd.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	framing := regexp.MustCompile(`^<21>[A-Z][a-z][a-z] [ 1-3]\d \d\d:\d\d:\d\d ` + regexp.QuoteMeta(strings.ToLower(host)) + ` mailproxy: (.*)$`)
	m := framing.FindStringSubmatch(string(buf[:n]))
	if m == nil || !nginxLine.MatchString(m[1]) || !strings.Contains(m[1], "[notice] "+pid+"#"+pid+": mailproxy/") {
		t.Errorf("syslog datagram %q", buf[:n])
	}
}

// startIMAP starts an in-memory IMAP backend with alice/secret and
// returns its address.
func startIMAP(t *testing.T) string {
	t.Helper()
	be, err := mailtest.StartIMAPBackend("127.0.0.1:0", map[string]string{"alice": "secret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be.Addr()
}

// TestReloadAppliesLogs: a reload applies a new log_format, error_log
// and level (the old sinks stay with the sessions they served), and says
// which keys need a restart; a file that does not load counts as a
// failed reload.
func TestReloadAppliesLogs(t *testing.T) {
	dir := t.TempDir()
	listen, metricsAddr := freePort(t), freePort(t)
	auth := authOK(t, startIMAP(t))
	file := filepath.Join(dir, "mailproxy.yaml")
	write := func(top string) {
		os.WriteFile(file, []byte(top+imapConfig(listen, auth)), 0o600)
	}
	write("metrics_listen: " + metricsAddr + "\n")
	p := startBinaryFile(t, file)
	if !strings.Contains(p.stderr.String(), `msg="metrics listening" address=`+metricsAddr) {
		t.Errorf("the metrics address is not logged:\n%s", p.stderr.String())
	}
	newLog := filepath.Join(dir, "new.log")
	write("metrics_listen: 127.0.0.1:1\nlog_format: nginx\nerror_log: [" + newLog + " notice, stderr warn]\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	got := waitContains(t, readFile(newLog), "the new metrics_listen takes effect at the next restart", "new.log")
	if !strings.Contains(got, "[warn] "+strconv.Itoa(p.cmd.Process.Pid)+"#") || strings.Contains(got, "configuration reloaded") {
		t.Errorf("new.log (nginx format, notice and above):\n%s", got)
	}
	waitContains(t, p.stderr.String, "[warn] ", "stderr in nginx's format after the reload")
	if strings.Contains(p.stderr.String(), "[notice]") {
		t.Errorf("stderr (warn) got a notice:\n%s", p.stderr.String())
	}
	// A file that does not load: a failed reload, logged and counted.
	os.WriteFile(file, []byte("servers: [\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitContains(t, readFile(newLog), "reload failed; the running configuration keeps serving", "new.log")
	_, body := get(t, "http://"+metricsAddr+"/metrics")
	for _, want := range []string{`mailproxy_reloads_total{result="failed"} 1`, `mailproxy_reloads_total{result="ok"} 1`, `mailproxy_build_info{goversion="go`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
