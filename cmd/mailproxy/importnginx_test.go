package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mailproxy/config"
)

// corpus is the nginx corpus (see config/nginxconf/corpus_test.go).
const corpus = "../../testdata/nginx"

// corpusCases returns the absolute case directories of corpus/kind.
func corpusCases(t *testing.T, kind string) (root string, dirs []string) {
	t.Helper()
	root, err := filepath.Abs(corpus)
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ = filepath.Glob(filepath.Join(root, kind, "*"))
	if len(dirs) == 0 {
		t.Fatalf("no cases in %s", kind)
	}
	return root, dirs
}

// caseFlags returns a case's nginx flags (prefix.txt, globals.txt) and
// the same as command-line arguments.
func caseFlags(t *testing.T, dir string) (nginxFlags, []string) {
	t.Helper()
	var n nginxFlags
	var args []string
	if b, err := os.ReadFile(filepath.Join(dir, "prefix.txt")); err == nil {
		n.prefix = filepath.Join(dir, strings.TrimSpace(string(b)))
		args = append(args, "-p", n.prefix)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "globals.txt")); err == nil {
		n.globals = string(b)
		args = append(args, "-g", n.globals)
	}
	return n, args
}

// withoutLines returns a copy of cfg without what differs between a YAML
// file and the nginx file it was imported from: the file name and the
// Line fields (YAML lines in one, nginx lines in the other), and the TLS
// settings each load built from the same files. With forService, the
// pid and error_log files are moved as import-nginx moves them (to
// where the systemd unit lets mailproxy write).
func withoutLines(cfg *config.Config, forService bool) config.Config {
	c := *cfg
	c.File = ""
	c.Servers = nil
	if forService && c.PID != "" {
		c.PID = "/run/mailproxy/mailproxy.pid"
	}
	c.ErrorLog = sinksWithoutLines(cfg.ErrorLog, forService)
	for _, s := range cfg.Servers {
		s2 := *s
		s2.Line = 0
		s2.TLS, s2.ClientAuth = nil, nil // each load builds its own
		s2.TLSSessions = nil
		s2.Listen = append([]config.Listen(nil), s.Listen...)
		for i := range s2.Listen {
			s2.Listen[i].Line = 0
		}
		s2.ErrorLog = sinksWithoutLines(s.ErrorLog, forService)
		c.Servers = append(c.Servers, &s2)
	}
	return c
}

func sinksWithoutLines(list []config.LogSink, forService bool) []config.LogSink {
	if list == nil {
		return nil
	}
	out := make([]config.LogSink, len(list))
	for i, s := range list {
		s.Line = 0
		if forService && filepath.IsAbs(s.Destination) {
			s.Destination = filepath.Join(config.ServiceLogsDirectory, filepath.Base(s.Destination))
		}
		out[i] = s
	}
	return out
}

// TestImportNginxRoundTrip checks, for every good configuration of the
// corpus, that `mailproxy import-nginx` prints YAML that loads into the
// same configuration as `mailproxy -c nginx.conf`, and that -t accepts
// the nginx file.
func TestImportNginxRoundTrip(t *testing.T) {
	_, dirs := corpusCases(t, "good")
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			file := filepath.Join(dir, "nginx.conf")
			n, flags := caseFlags(t, dir)
			var out, errb bytes.Buffer
			if code := run(append(append([]string{"import-nginx"}, flags...), file), &out, &errb); code != exitOK {
				t.Fatalf("import-nginx: exit %d\n%s", code, errb.String())
			}
			yamlFile := filepath.Join(t.TempDir(), "mailproxy.yaml")
			if err := os.WriteFile(yamlFile, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			imported, err := config.Load(yamlFile)
			if err != nil {
				t.Fatalf("the imported YAML does not load: %v\n%s", err, out.String())
			}
			direct, _, err := loadConfig(file, n)
			if err != nil {
				t.Fatalf("-c nginx.conf: %v", err)
			}
			if len(direct.Servers) == 0 {
				t.Fatal("no servers")
			}
			a, b := withoutLines(imported, false), withoutLines(direct, true)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("imported and direct configurations differ:\nimported %+v\ndirect   %+v", a, b)
				for i := range a.Servers {
					if !reflect.DeepEqual(a.Servers[i], b.Servers[i]) {
						t.Errorf("server %d:\nimported %+v\ndirect   %+v", i, *a.Servers[i], *b.Servers[i])
					}
				}
			}
			out.Reset()
			errb.Reset()
			if code := run(append(append([]string{"-t"}, flags...), "-c", file), &out, &errb); code != exitOK || !strings.Contains(out.String(), "configuration ok") {
				t.Errorf("-t -c: exit %d\n%s%s", code, out.String(), errb.String())
			}
		})
	}
}

// TestImportNginxErrors checks that both commands report every broken
// configuration of the corpus with its golden text and exit status 2.
func TestImportNginxErrors(t *testing.T) {
	root, dirs := corpusCases(t, "bad")
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "expected.err"))
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "nginx.conf")
			_, flags := caseFlags(t, dir)
			for _, args := range [][]string{
				append(append([]string{"import-nginx"}, flags...), file),
				append(append([]string{"-t"}, flags...), "-c", file),
			} {
				var out, errb bytes.Buffer
				code := run(args, &out, &errb)
				got := strings.ReplaceAll(errb.String(), root, "/corpus")
				if code != exitConfig || got != string(want) || out.Len() != 0 {
					t.Errorf("%v: exit %d, stdout %q, stderr\n%s\nwant\n%s", args[0], code, out.String(), got, want)
				}
			}
		})
	}
}

func TestImportNginxUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"import-nginx"}, &out, &errb); code != exitConfig || !strings.Contains(errb.String(), "usage: mailproxy import-nginx [-p PREFIX] [-g DIRECTIVES] FILE") {
		t.Errorf("exit %d, %s", code, errb.String())
	}
	if code := run([]string{"import-nginx", "/nonexistent/nginx.conf"}, &out, &errb); code != exitConfig {
		t.Errorf("missing file: exit %d", code)
	}
}

// TestYAMLStillLoads checks that -c keeps reading mailproxy YAML, and
// refuses the nginx flags with it.
func TestYAMLStillLoads(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mailproxy.yaml")
	yml := "mail: {auth_http: 127.0.0.1:9000}\nservers:\n  - {listen: [\"127.0.0.1:0\"], protocol: imap}\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-t", "-c", file}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"-t", "-p", "/etc/nginx", "-c", file}, &out, &errb); code != exitConfig || !strings.Contains(errb.String(), "-p and -g apply to nginx configuration files only") {
		t.Errorf("-p with YAML: exit %d: %s", code, errb.String())
	}
}

// TestConfigForReload checks that a reload reads the file as the start
// did: nginx with the -p and -g of the start, or YAML.
func TestConfigForReload(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join(corpus, "good", "prefix-and-globals"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "nginx.conf")
	n, _ := caseFlags(t, dir)
	defer func(old nginxFlags) { nginxAtStart = old }(nginxAtStart)
	nginxAtStart = n
	cfg, err := configForReload(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "root", "run", "mailproxy.pid"); cfg.PID != want || len(cfg.Servers) != 1 {
		t.Errorf("pid %q (want %q), %d servers", cfg.PID, want, len(cfg.Servers))
	}
	nginxAtStart = nginxFlags{}
	yml := filepath.Join(t.TempDir(), "mailproxy.yaml")
	if err := os.WriteFile(yml, []byte("mail: {auth_http: 127.0.0.1:9000}\nservers:\n  - {listen: [\"127.0.0.1:0\"], protocol: imap}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := configForReload(yml); err != nil || cfg.File != yml {
		t.Errorf("YAML: %v, %v", cfg, err)
	}
}

// TestImportNginxServicePaths: import-nginx writes the pid file and the
// log files where the systemd unit lets mailproxy write, with a comment
// naming nginx's paths; stderr and syslog stay as they are. (-c reads
// the paths as written: TestImportNginxRoundTrip.)
func TestImportNginxServicePaths(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(`pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
mail {
    auth_http 127.0.0.1:9000;
    error_log syslog:server=127.0.0.1 info;
    server {
        listen 127.0.0.1:143;
        error_log /var/log/nginx/imap.log debug;
        error_log stderr;
    }
}
`), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"import-nginx", conf}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		"# nginx.conf:1: nginx's pid /run/nginx.pid: the systemd unit lets mailproxy write in /run/mailproxy only (RuntimeDirectory=); under systemd no pid file is needed\npid: /run/mailproxy/mailproxy.pid\n",
		"# nginx.conf:2: nginx's error_log /var/log/nginx/error.log: the systemd unit lets mailproxy write logs in /var/log/mailproxy only (LogsDirectory=)\n",
		`error_log: ["/var/log/mailproxy/error.log error"]`,
		`  error_log: ["syslog:server=127.0.0.1 info"]`,
		"    # nginx.conf:8: nginx's error_log /var/log/nginx/imap.log: the systemd unit lets mailproxy write logs in /var/log/mailproxy only (LogsDirectory=)\n",
		"      - \"/var/log/mailproxy/imap.log debug\"\n      - \"stderr error\"\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
