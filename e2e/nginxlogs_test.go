package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The differential test of the log formats: the same nginx.conf — a log
// file and a syslog server at info, one IMAP server — is run by Debian's
// nginx (nginx and libnginx-mod-mail) and by mailproxy, a client fails a
// login on each, and what each wrote to the file and sent to syslog is
// compared: nginx's error_log line format, PID#TID, the start-up notice
// naming the version, the session number and the mail module's trailer
// (client, server, login), and the syslog framing (PRI from facility and
// level, RFC 3164 time stamp, host, tag, then the log line).

const nginxLogsConf = `%[1]s
error_log %[2]s/error.log info;
error_log syslog:server=%[3]s,facility=mail,tag=mailproxy info;
pid %[2]s/run.pid;
events {
    worker_connections 64;
}
mail {
    auth_http %[4]s/auth;
    server {
        listen %[5]s;
        protocol imap;
    }
}
`

// nginxBinary finds Debian's nginx and its mail module.
func nginxBinary(t *testing.T) (bin, module string) {
	t.Helper()
	bin = "/usr/sbin/nginx"
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		t.Fatalf("this test compares with nginx: install Debian's nginx and libnginx-mod-mail (%v)", err)
	}
	dir := "/usr/lib/nginx/modules"
	if m := regexp.MustCompile(`--modules-path=(\S+)`).FindSubmatch(out); m != nil {
		dir = string(m[1])
	}
	module = filepath.Join(dir, "ngx_mail_module.so")
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("this test compares with nginx: install libnginx-mod-mail (%v)", err)
	}
	return bin, module
}

// logRun is what one proxy wrote.
type logRun struct {
	pid    int
	lines  []string // the log file
	syslog []string // datagrams, in order
}

// runForLogs runs cmd (nginx or mailproxy on the configuration), fails
// one IMAP login through listen, stops it and returns its logs.
func runForLogs(t *testing.T, name string, cmd *exec.Cmd, dir, listen string, syslogd net.PacketConn) logRun {
	t.Helper()
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var c net.Conn
	var err error
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = net.Dial("tcp", listen); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%s does not listen on %s: %v\n%s", name, listen, err, stderr.String())
		}
	}
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
		t.Fatalf("%s greeting %q %v", name, l, err)
	}
	io.WriteString(c, "a LOGIN alice wrong\r\n")
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "a NO") {
		t.Fatalf("%s login reply %q %v", name, l, err)
	}
	io.Copy(io.Discard, r) // the proxy closes
	c.Close()
	time.Sleep(200 * time.Millisecond) // let the session's last lines out
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Logf("%s exit: %v\n%s", name, err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "error.log"))
	if err != nil {
		t.Fatal(err)
	}
	run := logRun{pid: cmd.Process.Pid, lines: strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")}
	buf := make([]byte, 8192)
	for {
		syslogd.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, _, err := syslogd.ReadFrom(buf)
		if err != nil {
			break
		}
		run.syslog = append(run.syslog, string(buf[:n]))
	}
	return run
}

func TestLogsMatchNginx(t *testing.T) {
	bin, module := nginxBinary(t)
	// Every login refused, as nginx reads it: no Auth-Wait, the proxy
	// closes the session.
	auth := authAnswering(t, "Auth-Status: Invalid login or password\r\n")
	runs := map[string]logRun{}
	for _, name := range []string{"nginx", "mailproxy"} {
		dir := t.TempDir()
		syslogd, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer syslogd.Close()
		listen := freePort(t)
		head := "daemon off;\nmaster_process off;"
		if name == "nginx" {
			head = "load_module " + module + ";\n" + head
		}
		conf := filepath.Join(dir, "nginx.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf(nginxLogsConf, head, dir, syslogd.LocalAddr(), auth, listen)), 0o644)
		var cmd *exec.Cmd
		if name == "nginx" {
			cmd = exec.Command(bin, "-p", dir+"/", "-e", filepath.Join(dir, "stderr.log"), "-c", conf)
		} else {
			cmd = exec.Command(binary(t), "-c", conf)
		}
		runs[name] = runForLogs(t, name, cmd, dir, listen, syslogd)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	host = strings.ToLower(host)
	frame := regexp.MustCompile(`^<(\d+)>([A-Z][a-z][a-z] [ 1-3]\d \d\d:\d\d:\d\d) (\S*) (\S+): (.*)$`)
	severity := map[string]int{"emerg": 0, "alert": 1, "crit": 2, "error": 3, "warn": 4, "notice": 5, "info": 6, "debug": 7}
	for name, run := range runs {
		pid := strconv.Itoa(run.pid)
		t.Logf("%s wrote:\n%s\n%s sent to syslog:\n%s", name, strings.Join(run.lines, "\n"), name, strings.Join(run.syslog, "\n"))
		notice, session := false, false
		for _, line := range run.lines {
			m := nginxLine.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s: %q is not an nginx error_log line", name, line)
				continue
			}
			if m[2] != pid || m[3] != pid {
				t.Errorf("%s: %q: PID#TID is not %s#%s (one process)", name, line, pid, pid)
			}
			if regexp.MustCompile(`^\S+ \S+ \[notice\] \d+#\d+: (nginx|mailproxy)/\S+$`).MatchString(line) {
				notice = true
			}
			if regexp.MustCompile(`: \*\d+ client login failed.*, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+, login: "alice"$`).MatchString(line) {
				session = true
			}
			if strings.Contains(line, `login: ""`) || strings.Contains(line, `upstream: ""`) {
				t.Errorf("%s: %q names an empty login or upstream, which nginx leaves out", name, line)
			}
		}
		if !notice {
			t.Errorf("%s: no start-up notice naming the version", name)
		}
		if !session {
			t.Errorf("%s: no session line with nginx's trailer for the failed login", name)
		}
		if len(run.syslog) == 0 {
			t.Errorf("%s: nothing sent to syslog", name)
		}
		for _, d := range run.syslog {
			m := frame.FindStringSubmatch(d)
			if m == nil {
				t.Errorf("%s: syslog datagram %q is not framed as <PRI>Mmm dd hh:mm:ss HOST TAG: LINE", name, d)
				continue
			}
			level := nginxLine.FindStringSubmatch(m[5])
			if level == nil {
				t.Errorf("%s: syslog message %q is not an error_log line", name, m[5])
				continue
			}
			if want := strconv.Itoa(2*8 + severity[level[1]]); m[1] != want {
				t.Errorf("%s: %q: PRI %s, want %s (mail, %s)", name, d, m[1], want, level[1])
			}
			// nginx sends the lines it logs while reading its
			// configuration with an empty host name (its host name is
			// not known yet): mailproxy always names the host.
			if m[3] != host && !(name == "nginx" && m[3] == "") || m[4] != "mailproxy" {
				t.Errorf("%s: %q: host %q tag %q, want %q mailproxy", name, d, m[3], m[4], host)
			}
			ts, _ := time.ParseInLocation("2006/01/02 15:04:05", m[5][:19], time.Local)
			if got := ts.Format("Jan _2 15:04:05"); got != m[2] {
				t.Errorf("%s: %q: header time %q, the line's is %q", name, d, m[2], got)
			}
			found := false
			for _, l := range run.lines {
				found = found || l == m[5]
			}
			if !found {
				t.Errorf("%s: syslog message %q is not a line of the log file", name, m[5])
			}
		}
	}
}
