// Command mailproxy is a drop-in replacement for nginx's mail proxy module:
// it accepts IMAP, POP3, SMTP and ManageSieve clients, asks an auth_http
// service where each user belongs, logs in to that backend and splices
// the two connections.
//
//	mailproxy -c /etc/mailproxy/mailproxy.yaml   run in the foreground
//	mailproxy -t -c FILE                          check a configuration
//	mailproxy -V, --version                       print the version
//	mailproxy import-nginx [-p PREFIX] FILE       print nginx.conf's mail block as YAML
//
// -c also takes an nginx configuration as is, with nginx's -p and -g
// (importnginx.go).
//
// Exit status: 0 clean stop (and -h), 1 runtime failure, 2 configuration
// error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"mailproxy/internal/logging"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const (
	exitOK     = 0
	exitFail   = 1
	exitConfig = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "import-nginx" {
		return importNginx(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("mailproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if wantsHelp(args) {
		fs.SetOutput(stdout)
	}
	fs.Usage = func() { usage(fs) }
	file := fs.String("c", "/etc/mailproxy/mailproxy.yaml", "configuration `file`: mailproxy YAML, or an nginx configuration")
	test := fs.Bool("t", false, "check the configuration and exit")
	showVersion := fs.Bool("V", false, "print the version and exit (also --version)")
	fs.BoolVar(showVersion, "version", false, "print the version and exit")
	level := fs.String("log-level", "", "`level` of every log sink, overriding the configuration: debug, info, notice, warn, error, crit, alert or emerg")
	var nginx nginxFlags
	nginx.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mailproxy: unexpected argument %q\n", fs.Arg(0))
		fs.SetOutput(stderr)
		fs.Usage()
		return exitConfig
	}
	if *showVersion {
		fmt.Fprintln(stdout, "mailproxy version "+version)
		return exitOK
	}
	if *level != "" {
		if _, err := logging.ParseLevel(*level); err != nil {
			fmt.Fprintf(stderr, "mailproxy: -log-level: %v\n", err)
			return exitConfig
		}
	}
	cfg, srv, err := loadConfig(*file, nginx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	if *test {
		fmt.Fprintf(stdout, "mailproxy: the configuration file %s syntax is ok\nconfiguration ok\n", *file)
		return exitOK
	}
	nginxAtStart = nginx // for reloads
	return serve(*file, cfg, srv, *level, stderr)
}

// wantsHelp reports -h or -help (with one or two dashes) among args: the
// usage then goes to stdout, as asked for.
func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		switch a {
		case "-h", "--h", "-help", "--help":
			return true
		}
		return false
	})
}

// usage prints the commands and the options of fs.
func usage(fs *flag.FlagSet) {
	fmt.Fprint(fs.Output(), `usage:
  mailproxy [-c FILE] [-log-level LEVEL]      run in the foreground (systemd: Type=notify)
  mailproxy -t [-c FILE]                      check the configuration and exit
  mailproxy -V | --version                    print the version and exit
  mailproxy [-p PREFIX] [-g DIRECTIVES] -c /etc/nginx/nginx.conf
                                              run an nginx configuration as is
  mailproxy import-nginx [-p PREFIX] [-g DIRECTIVES] FILE
                                              print an nginx configuration as mailproxy YAML

Signals: SIGHUP reloads, SIGQUIT stops gracefully, SIGTERM and SIGINT stop at once.
Exit status: 0 stopped cleanly, 1 runtime failure, 2 configuration error.
See mailproxy(8) and mailproxy.yaml(5).

options:
`)
	fs.PrintDefaults()
}
