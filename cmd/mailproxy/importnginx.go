package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"mailproxy/config"
	"mailproxy/config/nginxconf"
	"mailproxy/proxy"
)

// nginxFlags are nginx's command-line options that mailproxy accepts for
// an nginx configuration file: -p PREFIX and -g DIRECTIVES.
type nginxFlags struct {
	prefix  string
	globals string
}

// register adds -p and -g to fs.
func (n *nginxFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.prefix, "p", "", "nginx `prefix` for an nginx configuration: base of relative pid, error_log and -c paths (default: the file's directory)")
	fs.StringVar(&n.globals, "g", "", "nginx global `directives` for an nginx configuration, e.g. \"pid /run/mailproxy.pid;\"")
}

func (n nginxFlags) set() bool { return n.prefix != "" || n.globals != "" }

func (n nginxFlags) options() nginxconf.Options {
	return nginxconf.Options{Prefix: n.prefix, Globals: n.globals}
}

// loadConfig is load (load.go) for a file that is either mailproxy YAML
// or an nginx configuration (nginxconf.IsNginx decides): an nginx file is
// translated, loaded with config.Parse, its problems reported at their
// nginx file:line, and the server is built as load builds it. A YAML file
// goes to load unchanged; -p and -g are refused with one.
func loadConfig(file string, n nginxFlags) (*config.Config, *proxy.Server, error) {
	cfg, isNginx, err := readConfig(file, n)
	switch {
	case err != nil:
		return nil, nil, err
	case !isNginx && n.set():
		return nil, nil, fmt.Errorf("%s: -p and -g apply to nginx configuration files only, and this is not one", file)
	case !isNginx:
		return load(file)
	}
	return build(cfg)
}

// readConfig reads an nginx configuration (resolving file with -p as
// nginx resolves -c) and loads its translation; isNginx is false, with
// nothing loaded, when the file is not one (or cannot be read without
// -p and -g: load then reports why).
func readConfig(file string, n nginxFlags) (cfg *config.Config, isNginx bool, err error) {
	opts := n.options()
	name, err := opts.ConfigFile(file)
	if err != nil {
		return nil, false, err
	}
	data, err := os.ReadFile(name)
	if err != nil {
		if n.set() {
			return nil, false, err
		}
		return nil, false, nil
	}
	if !nginxconf.IsNginx(data) {
		return nil, false, nil
	}
	r, err := nginxconf.Translate(name, data, opts)
	if err != nil {
		return nil, true, err
	}
	cfg, err = r.Config()
	return cfg, true, err
}

// nginxAtStart holds the -p and -g the server was started with (run sets
// it before serving), so that a reload reads the file as the start did.
var nginxAtStart nginxFlags

// configForReload reads file as -c read it at start: mailproxy YAML with
// config.Load, or an nginx configuration with the same -p and -g. The
// runtime state is not built (Reload builds it). serve.go's reload should
// call it in place of config.Load, so that an nginx.conf reloads too.
func configForReload(file string) (*config.Config, error) {
	cfg, isNginx, err := readConfig(file, nginxAtStart)
	if err != nil || isNginx {
		return cfg, err
	}
	return config.Load(file)
}

// importNginx is `mailproxy import-nginx [-p PREFIX] [-g DIRECTIVES]
// FILE`: it prints the mailproxy YAML equivalent of an nginx
// configuration's mail block on stdout (exit 0), or every problem as
// "FILE:LINE: what is wrong" on stderr (exit 2).
func importNginx(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mailproxy import-nginx", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailproxy import-nginx [-p PREFIX] [-g DIRECTIVES] FILE")
		fmt.Fprintln(stderr, "prints the mailproxy configuration equivalent to the nginx configuration FILE")
		fs.PrintDefaults()
	}
	var n nginxFlags
	n.register(fs)
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitConfig
	}
	out, err := nginxconf.Import(fs.Arg(0), n.options())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "mailproxy: %v\n", err)
		return exitFail
	}
	return exitOK
}
