package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"mailproxy/authservice"
)

// hashCommand is `mailproxy-auth hash [-scheme S] [-cost N] [-rounds N]`:
// it reads one password from stdin (its first line, the line break
// dropped) and prints the PASSWORD field of a users file for it, e.g.
// {BLF-CRYPT}$2y$10$…, to stdout.
func hashCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mailproxy-auth hash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scheme := fs.String("scheme", authservice.SchemeBLFCrypt, "`SCHEME`: BLF-CRYPT (bcrypt), SHA512-CRYPT or SHA256-CRYPT, as Dovecot names them")
	cost := fs.Int("cost", 0, "bcrypt `cost` (4 to 31; 0: bcrypt's default, 10)")
	rounds := fs.Int("rounds", 0, "SHA-crypt `rounds` (1000 to 999999999; 0: the default, 5000)")
	fs.Usage = func() {
		io.WriteString(stderr, `usage: mailproxy-auth hash [-scheme SCHEME] [-cost N] [-rounds N] < password
prints the hash of the password on stdin's first line, as the PASSWORD
field of a users file; for example:
  read -rs PW && printf '%s\n' "$PW" | mailproxy-auth hash
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "unexpected argument", fs.Arg(0))
		fs.Usage()
		return usageError{errors.New("unexpected argument")}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	password := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if password == "" {
		return errors.New("hash: no password on stdin")
	}
	h, err := authservice.HashPassword(password, *scheme, *cost, *rounds)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	_, err = fmt.Fprintln(stdout, h)
	return err
}
