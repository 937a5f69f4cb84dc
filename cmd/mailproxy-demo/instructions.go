package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
)

// demoInfo is what the instructions describe.
type demoInfo struct {
	listen       listenAddrs       // proxy listeners as configured
	backends     map[string]string // backend address per protocol
	authURL      string
	secretHeader string
	dir          string // temp dir with the generated files
	proxyPID     int
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
// as printed in a POSIX shell (curl needs -g for an IPv6 literal in a URL;
// the SMTP examples read the message from a here-document).
func printInstructions(w io.Writer, d demoInfo) {
	a := listenAddrs{ // the addresses to dial
		imap: connectAddr(d.listen.imap), imaps: connectAddr(d.listen.imaps),
		pop3: connectAddr(d.listen.pop3), pop3s: connectAddr(d.listen.pop3s),
		smtp: connectAddr(d.listen.smtp), smtps: connectAddr(d.listen.smtps),
		sieve: connectAddr(d.listen.sieve), metrics: connectAddr(d.listen.metrics),
	}
	curl := "curl"
	for _, l := range a.list() {
		if strings.HasPrefix(l.addr, "[") {
			curl = "curl -g"
		}
	}
	sieveHost, sievePort, _ := net.SplitHostPort(a.sieve)
	u, al := demoUsers[0], demoUsers[1]
	demo, alice := u.name+":"+u.password, al.name+":"+al.password
	var users, tokens []string
	for _, x := range demoUsers {
		users = append(users, x.name+" / "+x.password)
		tokens = append(tokens, x.name+" / "+x.token)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + u.name + "\x00" + u.password))
	from, to := u.name+"@example.com", al.name+"@example.com"

	fmt.Fprintf(w, `
mailproxy demo is running (mailproxy PID %d). Stop it with Ctrl-C.

  IMAP, STARTTLS offered  %s
  IMAP over TLS           %s
  POP3, STLS offered      %s
  POP3 over TLS           %s
  SMTP, STARTTLS offered  %s  (submission: AUTH PLAIN or LOGIN required)
  SMTP over TLS           %s  (AUTH PLAIN or LOGIN required)
  ManageSieve             %s  (STARTTLS offered)
  metrics                 http://%s/metrics  (also /healthz, /readyz)
  TLS certificate         self-signed for localhost: use -k
  users                   %s
  OAuth 2.0 bearer tokens %s  (XOAUTH2, OAUTHBEARER)
  IMAP backend            %s  (in memory; 3 messages in each INBOX)
  POP3 backend            %s  (in memory; the same 3 messages in each maildrop)
  SMTP backend            %s  (go-smtp, no XCLIENT; logs every message it receives)
  ManageSieve backend     %s  (in memory; no scripts yet)
  auth_http service       %s  (shared secret in header %s)
  generated files         %s  (mailproxy.yaml, users, cert.pem, key.pem)
`, d.proxyPID, a.imap, a.imaps, a.pop3, a.pop3s, a.smtp, a.smtps, a.sieve, a.metrics, strings.Join(users, ", "), strings.Join(tokens, ", "),
		d.backends["imap"], d.backends["pop3"], d.backends["smtp"], d.backends["sieve"], d.authURL, d.secretHeader, d.dir)

	fmt.Fprintf(w, `
Try IMAP:
  # list mailboxes, search the INBOX, fetch message UID 1
  %[1]s --user %[2]s imap://%[4]s/
  %[1]s --user %[2]s 'imap://%[4]s/INBOX?ALL'
  %[1]s --user %[2]s 'imap://%[4]s/INBOX;UID=1'
  # the same over STARTTLS, and over implicit TLS
  %[1]s --ssl-reqd -k --user %[2]s 'imap://%[4]s/INBOX;UID=1'
  %[1]s -k --user %[3]s 'imaps://%[5]s/INBOX;UID=2'
  # by hand; then type: a1 LOGIN demo demo / a2 SELECT INBOX / a3 FETCH 1 BODY[] / a4 LOGOUT
  openssl s_client -quiet -crlf -starttls imap -connect %[4]s
  openssl s_client -quiet -crlf -connect %[5]s
`, curl, demo, alice, a.imap, a.imaps)

	fmt.Fprintf(w, `
Try POP3:
  # list the maildrop, retrieve message 1
  %[1]s --user %[2]s pop3://%[4]s/
  %[1]s --user %[2]s pop3://%[4]s/1
  # the same over STLS, and over implicit TLS
  %[1]s --ssl-reqd -k --user %[2]s pop3://%[4]s/1
  %[1]s -k --user %[3]s pop3s://%[5]s/2
  # by hand; then type: USER demo / PASS demo / LIST / RETR 1 / QUIT
  openssl s_client -quiet -crlf -starttls pop3 -connect %[4]s
  openssl s_client -quiet -crlf -connect %[5]s
`, curl, demo, alice, a.pop3, a.pop3s)

	fmt.Fprintf(w, `
Try SMTP (the SMTP backend logs each message it receives):
  # send a message over STARTTLS, then one over implicit TLS
  %[1]s --ssl-reqd -k --user %[2]s --mail-from %[6]s --mail-rcpt %[7]s --upload-file - --crlf smtp://%[4]s <<'EOF'
From: <%[6]s>
To: <%[7]s>
Subject: Hello through mailproxy

Hi Alice! This went from curl through mailproxy to the SMTP backend.
EOF
  %[1]s -k --user %[3]s --mail-from %[7]s --mail-rcpt %[6]s --upload-file - --crlf smtps://%[5]s <<'EOF'
From: <%[7]s>
To: <%[6]s>
Subject: Re: Hello through mailproxy

Got it, over implicit TLS.
EOF
  # by hand; then type: EHLO me / AUTH PLAIN %[8]s / MAIL FROM:<%[6]s> /
  #   RCPT TO:<%[7]s> / DATA / Subject: hi / (an empty line) / Hello! / . / QUIT
  openssl s_client -quiet -crlf -starttls smtp -connect %[4]s
  openssl s_client -quiet -crlf -connect %[5]s
`, curl, demo, alice, a.smtp, a.smtps, from, to, plain)

	fmt.Fprintf(w, `
Try OAuth 2.0 bearer tokens (curl picks OAUTHBEARER; --login-options AUTH=XOAUTH2 the other):
  %[1]s --oauth2-bearer %[3]s 'imap://%[2]s@%[4]s/INBOX;UID=1'
  %[1]s --oauth2-bearer %[3]s --login-options AUTH=XOAUTH2 pop3://%[2]s@%[5]s/1
  %[1]s --ssl-reqd -k --oauth2-bearer %[3]s --mail-from %[7]s --mail-rcpt %[8]s --upload-file - --crlf smtp://%[2]s@%[6]s <<'EOF'
Subject: Sent with a bearer token

Hello!
EOF
  # a wrong token: the auth service's Auth-Error-SASL challenge, then the refusal
  %[1]s -v --oauth2-bearer wrong-token 'imap://%[2]s@%[4]s/INBOX;UID=1'
`, curl, u.name, u.token, a.imap, a.pop3, a.smtp, from, to)

	fmt.Fprintf(w, `
Try ManageSieve (sieve-connect; Debian package sieve-connect):
  # upload a script, make it active, list the scripts (password: demo)
  printf 'require "fileinto";\nif header :contains "subject" "demo" { fileinto "Demo"; }\n' > demo.sieve
  sieve-connect --server %[1]s --port %[2]s --user demo --notlsverify --upload --localsieve demo.sieve --remotesieve demo
  sieve-connect --server %[1]s --port %[2]s --user demo --notlsverify --activate --remotesieve demo
  sieve-connect --server %[1]s --port %[2]s --user demo --notlsverify --list

Metrics:
  %[3]s http://%[4]s/metrics

`, sieveHost, sievePort, curl, a.metrics)
}
