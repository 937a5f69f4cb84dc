package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestErrorLog: error_log at the top level, in mail and in a server, in
// every form nginx writes it: several sinks, files, stderr and syslog,
// each with its own level.
func TestErrorLog(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.log")
	cfg := mustParse(t, y(
		"error_log:",
		"  - stderr notice",
		"  - "+file,
		"  - syslog:server=127.0.0.1:5514,facility=mail,tag=mp,nohostname debug_mail debug_core",
		"  - {destination: "+dir+"/with space.log, level: crit}",
		"log_format: nginx",
		"log_level: warn",
		"worker_shutdown_timeout: 10s",
		"mail:",
		"  auth_http: 127.0.0.1:9000",
		"  error_log: "+file+" info",
		"servers:",
		"  - listen: [143]",
		"  - listen: [110]",
		"    error_log: [stderr emerg, \"syslog:server=[::1] debug\"]",
	))
	want := []LogSink{
		{Destination: "stderr", Level: "notice", Line: 2},
		{Destination: file, Line: 3},
		{Destination: "syslog:server=127.0.0.1:5514,facility=mail,tag=mp,nohostname", Level: "debug", Line: 4},
		{Destination: filepath.Join(dir, "with space.log"), Level: "crit", Line: 5},
	}
	if !reflect.DeepEqual(cfg.ErrorLog, want) {
		t.Errorf("top level %+v\nwant %+v", cfg.ErrorLog, want)
	}
	if cfg.LogFormat != "nginx" || cfg.LogLevel != "warn" || cfg.ShutdownTimeout != 10*time.Second || cfg.WorkerShutdownTimeout != 10*time.Second {
		t.Errorf("globals %q %q %v %v", cfg.LogFormat, cfg.LogLevel, cfg.ShutdownTimeout, cfg.WorkerShutdownTimeout)
	}
	if got := cfg.Servers[0].ErrorLog; !reflect.DeepEqual(got, []LogSink{{Destination: file, Level: "info", Line: 11}}) {
		t.Errorf("server 1 inherits the mail level's: %+v", got)
	}
	if got := cfg.Servers[1].ErrorLog; !reflect.DeepEqual(got, []LogSink{{Destination: "stderr", Level: "emerg", Line: 15}, {Destination: "syslog:server=[::1]", Level: "debug", Line: 15}}) {
		t.Errorf("server 2 has its own: %+v", got)
	}
	// Without error_log anywhere: no sinks (stderr), servers use the
	// top-level ones.
	cfg = mustParse(t, srv())
	if cfg.ErrorLog != nil || cfg.Servers[0].ErrorLog != nil {
		t.Errorf("defaults %+v %+v", cfg.ErrorLog, cfg.Servers[0].ErrorLog)
	}
}

// TestErrorLogRelative: a relative file is taken from the configuration
// file's directory.
func TestErrorLogRelative(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "logs"), 0o755)
	cfg, err := Parse(filepath.Join(dir, "mp.yaml"), []byte("error_log: logs/mail.log\n"+srv("    error_log: logs/imap.log debug")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ErrorLog[0].Destination != filepath.Join(dir, "logs/mail.log") || cfg.Servers[0].ErrorLog[0].Destination != filepath.Join(dir, "logs/imap.log") {
		t.Errorf("%+v %+v", cfg.ErrorLog, cfg.Servers[0].ErrorLog)
	}
}

func TestErrorLogErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain")
	os.WriteFile(notDir, nil, 0o600)
	for in, want := range map[string]string{
		"error_log: " + dir + "/missing/mail.log":           "test.yaml:1: error_log: cannot create " + dir + "/missing/mail.log: directory " + dir + "/missing: no such file or directory",
		"error_log: " + notDir + "/mail.log":                "test.yaml:1: error_log: cannot create " + notDir + "/mail.log: " + notDir + " is not a directory",
		"error_log: " + dir:                                 "test.yaml:1: error_log: " + dir + " is a directory",
		"error_log: stderr verbose":                         `test.yaml:1: error_log: invalid log level "verbose", expected one of debug info notice warn error crit alert emerg, or nginx's debug_* words`,
		"error_log: stderr warn error":                      `test.yaml:1: error_log: duplicate log level "error"`,
		"error_log: stderr warn debug_mail":                 `test.yaml:1: error_log: invalid log level "debug_mail"`,
		"error_log: stderr WARN":                            `test.yaml:1: error_log: invalid log level "WARN"`,
		"error_log: syslog:server=x,facility=bad":           `test.yaml:1: error_log: unknown syslog facility "bad"`,
		"error_log: syslog:tag=x":                           `test.yaml:1: error_log: no syslog server specified`,
		"error_log: memory:32m":                             `test.yaml:1: error_log: "memory:32m": the in-memory log of nginx's debug builds is not supported (use a file, stderr or syslog)`,
		"error_log: []":                                     `test.yaml:1: error_log: must not be empty`,
		"error_log: [{level: info}]":                        `test.yaml:1: error_log: no destination`,
		"error_log: [{destination: stderr, to: x}]":         `test.yaml:1: error_log: unknown key "to", expected destination or level`,
		"log_format: xml":                                   `test.yaml:1: log_format: invalid value "xml", expected text, json or nginx`,
		"log_level: verbose":                                `test.yaml:1: log_level: invalid value "verbose", expected debug, info, notice, warn, error, crit, alert or emerg`,
		"shutdown_timeout: 5s\nworker_shutdown_timeout: 5s": "test.yaml:2: worker_shutdown_timeout: shutdown_timeout and worker_shutdown_timeout cannot both be given (first at line 1)",
	} {
		got := problems(t, in+"\n"+srv())
		if len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Errorf("%s:\n got %q\nwant %q", in, got, want)
		}
	}
	// In a server, at the server's line; one message for a mail-level
	// problem inherited by two servers.
	got := problems(t, y("mail:", "  auth_http: a", "  error_log: "+dir+"/x/y.log", "servers:", "  - listen: [143]", "  - listen: [110]", "    error_log: stderr loud"))
	if len(got) != 2 || !strings.HasPrefix(got[0], "test.yaml:3: error_log: cannot create") || !strings.HasPrefix(got[1], `test.yaml:7: error_log: invalid log level "loud"`) {
		t.Errorf("%q", got)
	}
}
