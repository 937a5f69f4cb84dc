package nginxconf

import (
	"errors"
	"io/fs"
	"net/netip"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"mailproxy/config"
)

// memFS returns options that read the files of m (absolute names) and
// nothing else.
func memFS(m map[string]string) Options {
	return Options{
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := m[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
		Glob: func(pattern string) ([]string, error) {
			var out []string
			for name := range m {
				if ok, err := path.Match(pattern, name); err != nil {
					return nil, err
				} else if ok {
					out = append(out, name)
				}
			}
			sort.Strings(out)
			return out, nil
		},
	}
}

// certs returns the corpus certificate and key, absolute.
func certs(t *testing.T) (cert, key string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(corpus, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "mail.pem"), filepath.Join(dir, "mail.key")
}

// loadMem translates /etc/nginx/nginx.conf of files and loads it.
func loadMem(t *testing.T, files map[string]string, opts Options) (*config.Config, *Result, error) {
	t.Helper()
	o := memFS(files)
	o.Prefix, o.Globals, o.CPUs = opts.Prefix, opts.Globals, opts.CPUs
	r, err := TranslateFile("/etc/nginx/nginx.conf", o)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := r.Config()
	return cfg, r, err
}

func TestTranslateSemantics(t *testing.T) {
	cert, key := certs(t)
	conf := strings.NewReplacer("CERT", cert, "KEY", key).Replace(`worker_shutdown_timeout 45s;
mail {
    auth_http 127.0.0.1:9000/auth;
    auth_http_header B 2;
    auth_http_header A 1;
    set_real_ip_from 10.0.0.0/8;
    set_real_ip_from 192.0.2.1;
    imap_auth plain;
    imap_auth LOGIN;
    imap_capabilities IMAP4rev1 "X-NAME with space";
    xclient OFF;
    proxy_protocol on;
    ssl on;
    ssl_certificate CERT;
    ssl_certificate_key KEY;
    error_log /var/log/mail.log crit;

    server {
        listen 143;
        listen [::]:143;
        protocol imap;
        imap_capabilities IMAP4;
    }
    server {
        listen 127.0.0.1:110;
        ssl off;
        starttls only;
        set_real_ip_from 127.0.0.1;
    }
}
`)
	cfg, _, err := loadMem(t, map[string]string{"/etc/nginx/nginx.conf": conf}, Options{Prefix: "/srv", Globals: "pid run/mp.pid;"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ShutdownTimeout != 45*time.Second || cfg.WorkerShutdownTimeout != 45*time.Second || cfg.PID != "/srv/run/mp.pid" || cfg.ErrorLog != nil || cfg.LogFormat != "nginx" {
		t.Errorf("globals: %v %v %q %v %q", cfg.ShutdownTimeout, cfg.WorkerShutdownTimeout, cfg.PID, cfg.ErrorLog, cfg.LogFormat)
	}
	for _, s := range cfg.Servers {
		if want := []config.LogSink{{Destination: "/var/log/mail.log", Level: "crit", Line: 16}}; !reflect.DeepEqual(s.ErrorLog, want) {
			t.Errorf("server %d error_log %+v, want the mail block's %+v", s.Line, s.ErrorLog, want)
		}
	}
	if cfg.File != "/etc/nginx/nginx.conf" {
		t.Errorf("File = %q", cfg.File)
	}
	imap, pop3 := cfg.Servers[0], cfg.Servers[1]
	if want := []config.Listen{{Address: ":143", SSL: true, Line: 19}}; !reflect.DeepEqual(imap.Listen, want) {
		t.Errorf("imap listen = %+v, want %+v (wildcards merged, ssl on)", imap.Listen, want)
	}
	if want := []config.Listen{{Address: "127.0.0.1:110", Line: 25}}; !reflect.DeepEqual(pop3.Listen, want) {
		t.Errorf("pop3 listen = %+v, want %+v (ssl off)", pop3.Listen, want)
	}
	if imap.Line != 18 || pop3.Line != 24 {
		t.Errorf("server lines %d %d, want the nginx lines 18 24", imap.Line, pop3.Line)
	}
	if want := []config.Header{{Name: "B", Value: "2"}, {Name: "A", Value: "1"}}; !reflect.DeepEqual(imap.AuthHTTPHeader, want) {
		t.Errorf("headers = %v", imap.AuthHTTPHeader)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}; !reflect.DeepEqual(imap.SetRealIPFrom, want) {
		t.Errorf("imap set_real_ip_from = %v (accumulated at mail level)", imap.SetRealIPFrom)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}; !reflect.DeepEqual(pop3.SetRealIPFrom, want) {
		t.Errorf("pop3 set_real_ip_from = %v (the server's list replaces the mail one)", pop3.SetRealIPFrom)
	}
	if want := []string{"plain", "login"}; !reflect.DeepEqual(imap.IMAPAuth, want) {
		t.Errorf("imap_auth = %v", imap.IMAPAuth)
	}
	if want := []string{"IMAP4"}; !reflect.DeepEqual(imap.IMAPCapabilities, want) {
		t.Errorf("imap capabilities = %v", imap.IMAPCapabilities)
	}
	if want := []string{"IMAP4rev1", "X-NAME with space"}; !reflect.DeepEqual(pop3.IMAPCapabilities, want) {
		t.Errorf("inherited capabilities = %v", pop3.IMAPCapabilities)
	}
	if imap.XClient || imap.ProxyProtocol != "v1" || pop3.StartTLS != config.StartTLSOnly || imap.StartTLS != config.StartTLSOff {
		t.Errorf("xclient %v proxy_protocol %q starttls %v %v", imap.XClient, imap.ProxyProtocol, imap.StartTLS, pop3.StartTLS)
	}
}

// TestIncludePaths checks nginx's rule: an include is relative to the
// directory of the main file, whatever file holds it; globs are sorted and
// skip dot files; an empty glob is no error.
func TestIncludePaths(t *testing.T) {
	files := map[string]string{
		"/etc/nginx/nginx.conf":        "mail { include mail/main.conf; include none/*.conf; }",
		"/etc/nginx/mail/main.conf":    "include auth.conf; include servers/*.conf;",
		"/etc/nginx/auth.conf":         "auth_http 127.0.0.1:9000;",
		"/etc/nginx/mail/auth.conf":    "this file must not be read",
		"/etc/nginx/servers/b.conf":    "server { listen 127.0.0.1:110; }",
		"/etc/nginx/servers/a.conf":    "server { listen 127.0.0.1:143; }",
		"/etc/nginx/servers/.c.conf":   "server { listen 127.0.0.1:25; }",
		"/etc/nginx/servers/d.conf.no": "server { listen 127.0.0.1:26; }",
	}
	cfg, _, err := loadMem(t, files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range cfg.Servers {
		got = append(got, s.Listen[0].Address)
	}
	if want := []string{"127.0.0.1:143", "127.0.0.1:110"}; !reflect.DeepEqual(got, want) {
		t.Errorf("servers %v, want %v", got, want)
	}
}

func TestIncludeErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"loop": {map[string]string{"/etc/nginx/nginx.conf": "include nginx.conf;"},
			`/etc/nginx/nginx.conf:1: include "nginx.conf": more than 32 nested includes (a loop?)`},
		"missing": {map[string]string{"/etc/nginx/nginx.conf": "mail {\n include x.conf;\n}"},
			`/etc/nginx/nginx.conf:2: open() "/etc/nginx/x.conf" failed (file does not exist)`},
		"syntax in included file": {map[string]string{"/etc/nginx/nginx.conf": "mail {\n include x.conf;\n}", "/etc/nginx/x.conf": "server {\n"},
			`/etc/nginx/x.conf:2: unexpected end of file, expecting "}"`},
		"include block": {map[string]string{"/etc/nginx/nginx.conf": "include x.conf { }"},
			`/etc/nginx/nginx.conf:1: directive "include" is not terminated by ";"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := TranslateFile("/etc/nginx/nginx.conf", memFS(tc.files))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestProblemsFromConfigParse checks that what config.Parse refuses is
// reported at the nginx file and line, line numbers inside messages
// included.
func TestProblemsFromConfigParse(t *testing.T) {
	files := map[string]string{
		"/etc/nginx/nginx.conf": "mail {\n  auth_http 127.0.0.1:9000;\n  include s.conf;\n  server {\n    listen 0.0.0.0:143;\n  }\n}\n",
		"/etc/nginx/s.conf":     "\n\nserver {\n  listen 143;\n  proxy_buffer 0;\n}\n",
	}
	_, _, err := loadMem(t, files, Options{})
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *config.Error", err)
	}
	want := []config.Problem{
		{File: "/etc/nginx/s.conf", Line: 5, Msg: `proxy_buffer: invalid size "0", expected bytes or a number with k, m or g, greater than 0 and at most 1g`},
		{File: "/etc/nginx/nginx.conf", Line: 5, Msg: `duplicate "0.0.0.0:143" address and port pair (overlaps ":143" at /etc/nginx/s.conf:4)`},
	}
	if !reflect.DeepEqual(ce.Problems, want) {
		t.Errorf("got  %q\nwant %q", ce.Problems, want)
	}
}

func TestConfigFile(t *testing.T) {
	for _, tc := range []struct{ prefix, file, want string }{
		{"/srv/nginx", "conf/nginx.conf", "/srv/nginx/conf/nginx.conf"},
		{"/srv/nginx", "/etc/nginx/nginx.conf", "/etc/nginx/nginx.conf"},
		{"", "/etc/nginx/../nginx/nginx.conf", "/etc/nginx/nginx.conf"},
	} {
		if got, err := (Options{Prefix: tc.prefix}).ConfigFile(tc.file); err != nil || got != tc.want {
			t.Errorf("ConfigFile(%q) with -p %q = %q, %v; want %q", tc.file, tc.prefix, got, err, tc.want)
		}
	}
	if got, _ := (Options{}).ConfigFile("x.conf"); !filepath.IsAbs(got) {
		t.Errorf("relative name not made absolute: %q", got)
	}
}

// TestGlobals checks -g: its directives come first, so the file repeating
// pid is the duplicate; its positions say "command line".
func TestGlobals(t *testing.T) {
	files := map[string]string{"/etc/nginx/nginx.conf": "pid /run/a.pid;\nmail { auth_http 127.0.0.1:9000; server { listen 127.0.0.1:143; } }"}
	o := memFS(files)
	o.Globals = "pid /run/b.pid;"
	if _, err := TranslateFile("/etc/nginx/nginx.conf", o); err == nil || err.Error() != `/etc/nginx/nginx.conf:1: "pid" directive is duplicate` {
		t.Errorf("got %v", err)
	}
	o.Globals = "listen 1;"
	if _, err := TranslateFile("/etc/nginx/nginx.conf", o); err == nil || err.Error() != `command line: "listen" directive is not allowed here` {
		t.Errorf("got %v", err)
	}
}

// TestQuote checks that every value written reads back as itself.
func TestQuote(t *testing.T) {
	for _, s := range []string{
		"", "on", "off", "yes", "true", "null", "~", "4096", "012", "0x10", "1e3", "-5", ".inf",
		"*:143", "[::1]:143", "127.0.0.1:143", "a: b", "a #b", "#x", "&a", "!tag", "%x", "@x",
		"`x", "|", ">", "'q'", `"q"`, "a, b", "[x]", "{x}", "tab\there", "line\nbreak", "é",
		"HIGH:!aNULL:!MD5", "SIZE 10485760", "-", "- x", "? x", "a\\b",
	} {
		var got []string
		doc := "[" + quote(s) + "]"
		if err := yaml.Unmarshal([]byte(doc), &got); err != nil || len(got) != 1 || got[0] != s {
			t.Errorf("quote(%q) = %s reads back as %q, %v", s, quote(s), got, err)
		}
		var m map[string]string
		if err := yaml.Unmarshal([]byte("k: "+quote(s)), &m); err != nil || m["k"] != s {
			t.Errorf("k: %s reads back as %q, %v", quote(s), m["k"], err)
		}
	}
}

// TestCorpusCoversEveryDirective checks that the corpus uses every
// directive of nginx's mail modules at least once.
func TestCorpusCoversEveryDirective(t *testing.T) {
	seen := map[string]bool{}
	var walk func([]*Directive)
	walk = func(ds []*Directive) {
		for _, d := range ds {
			seen[d.Name] = true
			walk(d.Block)
		}
	}
	files, _ := filepath.Glob(filepath.Join(corpus, "*", "*", "*.conf"))
	more, _ := filepath.Glob(filepath.Join(corpus, "*", "*", "*", "*.conf"))
	for _, f := range append(files, more...) {
		r, err := Options{}.readFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if ds, err := Parse(f, r); err == nil {
			walk(ds)
		}
	}
	for name := range mailDirectives {
		if !seen[name] {
			t.Errorf("no configuration of testdata/nginx uses %q", name)
		}
	}
}

// TestCommentsStayComments checks that nothing from the input can end a
// YAML comment early.
func TestCommentsStayComments(t *testing.T) {
	in := "a\nb\rc\u2028d\u0085e\x00f\xffg\tok é"
	got := printable(in)
	if want := `a\u000ab\u000dc\u2028d\u0085e\u0000f\xffg` + "\tok é"; got != want {
		t.Errorf("printable = %q, want %q", got, want)
	}
	var v any
	if err := yaml.Unmarshal([]byte("# "+got+"\nk: v\n"), &v); err != nil {
		t.Error(err)
	}
}

// TestMaxConnectionsFromWorkers: max_connections is worker_connections ×
// worker_processes, with nginx's defaults (512, 1) and auto as the CPUs;
// without an events block (which nginx requires) nothing is set; a second
// events block is nginx's "is duplicate".
func TestMaxConnectionsFromWorkers(t *testing.T) {
	const mail = "mail { auth_http 127.0.0.1:9000; server { listen 127.0.0.1:143; } }\n"
	for conf, want := range map[string]int{
		"events { worker_connections 100; }\n" + mail:                         100,
		"worker_processes 3;\nevents { worker_connections 100; }\n" + mail:    300,
		"worker_processes auto;\nevents { worker_connections 100; }\n" + mail: 700,
		"events { }\n" + mail: 512,
		"worker_processes 2;\nevents { use epoll; }\n" + mail: 1024,
		mail:                           0,
		"worker_processes 4;\n" + mail: 0,
	} {
		cfg, _, err := loadMem(t, map[string]string{"/etc/nginx/nginx.conf": conf}, Options{CPUs: 7})
		if err != nil {
			t.Fatalf("%s: %v", conf, err)
		}
		if cfg.MaxConnections != want {
			t.Errorf("%s: max_connections %d, want %d", conf, cfg.MaxConnections, want)
		}
	}
	_, _, err := loadMem(t, map[string]string{"/etc/nginx/nginx.conf": "events {}\nevents {}\n" + mail}, Options{})
	if err == nil || !strings.Contains(err.Error(), `nginx.conf:2: "events" directive is duplicate`) {
		t.Fatalf("two events blocks: %v", err)
	}
}
