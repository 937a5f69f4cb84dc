package main

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// demoInfo is what the instructions describe.
type demoInfo struct {
	imapAddr, imapsAddr string // proxy listeners as configured
	backend             string // IMAP backend address
	authURL             string
	secretHeader        string
	dir                 string // temp dir with the generated files
	proxyPID            int
}

// connectAddr turns a listen address into one a client can dial: a
// wildcard host becomes loopback.
func connectAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// printInstructions writes how to reach the demo, with commands that work
// as printed (curl needs -g for an IPv6 literal in a URL).
func printInstructions(w io.Writer, d demoInfo) {
	imap, imaps := connectAddr(d.imapAddr), connectAddr(d.imapsAddr)
	curl := "curl"
	if strings.HasPrefix(imap, "[") || strings.HasPrefix(imaps, "[") {
		curl = "curl -g"
	}
	u := demoUsers[0]
	a := demoUsers[1]
	var users []string
	for _, x := range demoUsers {
		users = append(users, x.name+" / "+x.password)
	}
	fmt.Fprintf(w, `
mailproxy demo is running (mailproxy PID %d). Stop it with Ctrl-C.

  IMAP, STARTTLS offered  %s
  IMAP over TLS           %s  (self-signed certificate for localhost: use -k)
  users                   %s
  IMAP backend            %s  (in memory; 3 messages in each INBOX)
  auth_http service       %s  (shared secret in header %s)
  generated files         %s  (mailproxy.yaml, users, cert.pem, key.pem)

Try:
  # list mailboxes, search the INBOX, fetch message UID 1
  %[9]s --user %[10]s imap://%[2]s/
  %[9]s --user %[10]s 'imap://%[2]s/INBOX?ALL'
  %[9]s --user %[10]s 'imap://%[2]s/INBOX;UID=1'
  # the same over STARTTLS, and over implicit TLS
  %[9]s --ssl-reqd -k --user %[10]s 'imap://%[2]s/INBOX;UID=1'
  %[9]s -k --user %[11]s 'imaps://%[3]s/INBOX;UID=2'
  # by hand; then type: a1 LOGIN demo demo / a2 SELECT INBOX / a3 FETCH 1 BODY[] / a4 LOGOUT
  openssl s_client -quiet -crlf -starttls imap -connect %[2]s
  openssl s_client -quiet -crlf -connect %[3]s

`, d.proxyPID, imap, imaps, strings.Join(users, ", "), d.backend, d.authURL, d.secretHeader, d.dir,
		curl, u.name+":"+u.password, a.name+":"+a.password)
}
