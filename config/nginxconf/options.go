package nginxconf

import (
	"os"
	"path/filepath"
)

// Options are nginx's command-line settings that change how a
// configuration is read.
type Options struct {
	// Prefix is nginx's -p: the base of relative pid and error_log paths,
	// and of a relative configuration file name (nginx resolves
	// `-p /srv/nginx -c conf/nginx.conf` to /srv/nginx/conf/nginx.conf).
	// Empty means the directory of the configuration file: nginx would
	// use its compile-time prefix instead (/usr/share/nginx on Debian,
	// /etc/nginx in nginx.org's packages); give -p to match it.
	//
	// Include files and TLS files (ssl_certificate, ssl_password_file, …)
	// are relative to nginx's conf prefix, the directory of the main
	// configuration file — not to the file that holds the directive — as
	// nginx does it.
	Prefix string

	// Globals is the text of nginx's -g option, e.g. "pid /run/x.pid;":
	// main-context directives read before the file (so the file repeating
	// a single-valued one is "is duplicate", as in nginx).
	Globals string

	// CPUs is what worker_processes auto means; 0: the CPUs of this
	// machine (as nginx counts them).
	CPUs int

	// ReadFile and Glob access the file system; nil means os.ReadFile and
	// filepath.Glob. Tests and fuzzing replace them.
	ReadFile func(name string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)

	// forService (Import) moves the pid and error_log files to where the
	// systemd unit lets mailproxy write, with a comment naming nginx's.
	forService bool
}

// paths are the directories relative names are resolved against.
type paths struct {
	file       string // the main configuration file, absolute
	prefix     string // nginx's prefix: pid, error_log
	confPrefix string // nginx's conf prefix: include, TLS files
}

// resolve computes the paths for the configuration file name as given on
// the command line.
func (o Options) resolve(file string) (paths, error) {
	if o.Prefix != "" && !filepath.IsAbs(file) {
		file = filepath.Join(o.Prefix, file)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return paths{}, err
	}
	p := paths{file: abs, confPrefix: filepath.Dir(abs), prefix: filepath.Dir(abs)}
	if o.Prefix != "" {
		if p.prefix, err = filepath.Abs(o.Prefix); err != nil {
			return paths{}, err
		}
	}
	return p, nil
}

func (o Options) readFile(name string) ([]byte, error) {
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return os.ReadFile(name)
}

func (o Options) glob(pattern string) ([]string, error) {
	if o.Glob != nil {
		return o.Glob(pattern)
	}
	return filepath.Glob(pattern)
}

// join returns p when it is absolute, else dir/p.
func join(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
