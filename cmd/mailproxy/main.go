// Command mailproxy is a drop-in replacement for nginx's mail proxy module:
// it accepts IMAP clients, asks an auth_http service where each user
// belongs, logs in to that backend and splices the two connections.
//
//	mailproxy -c /etc/mailproxy/mailproxy.yaml   run in the foreground
//	mailproxy -t -c FILE                          check a configuration
//	mailproxy -V                                  print the version
//	mailproxy import-nginx [-p PREFIX] FILE       print nginx.conf's mail block as YAML
//
// -c also takes an nginx configuration as is, with nginx's -p and -g
// (importnginx.go).
//
// Exit status: 0 clean stop, 1 runtime failure, 2 configuration error.
package main

import (
	"flag"
	"fmt"
	"io"

	"mailproxy/internal/logging"
	"os"
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
	file := fs.String("c", "/etc/mailproxy/mailproxy.yaml", "configuration `file`")
	test := fs.Bool("t", false, "check the configuration and exit")
	showVersion := fs.Bool("V", false, "print the version and exit")
	level := fs.String("log-level", "", "log level: debug, info, warn or error (overrides log_level)")
	var nginx nginxFlags
	nginx.register(fs)
	if err := fs.Parse(args); err != nil {
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
