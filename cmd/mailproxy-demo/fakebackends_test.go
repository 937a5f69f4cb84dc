package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"
)

// fakeBackendSession does, as the fake proxy, what mailproxy does with the
// backend of protocol at addr, and reports what it found with logf:
// "imap backend INBOX has N messages", "pop3 backend maildrop has N
// messages", "smtp backend accepted a message" or "sieve backend logged
// in".
func fakeBackendSession(protocol, addr string, logf func(string, ...any)) error {
	switch protocol {
	case "imap":
		return fakeIMAPLogin(addr, logf)
	case "pop3":
		return fakePOP3Login(addr, logf)
	case "smtp":
		return fakeSMTPSend(addr, logf)
	case "sieve":
		return fakeSieveLogin(addr, logf)
	}
	return fmt.Errorf("unknown protocol %q", protocol)
}

// fakeIMAPLogin logs in to the backend as demo and counts the INBOX.
func fakeIMAPLogin(addr string, logf func(string, ...any)) error {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login("demo", "demo").Wait(); err != nil {
		return err
	}
	sd, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return err
	}
	logf("imap backend INBOX has %d messages", sd.NumMessages)
	return c.Logout().Wait()
}

// fakePOP3Login logs in to the backend as demo with USER/PASS, as
// mailproxy does, and counts the maildrop with STAT.
func fakePOP3Login(addr string, logf func(string, ...any)) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var stat string
	for _, cmd := range []string{"", "USER demo", "PASS demo", "STAT", "QUIT"} {
		if cmd != "" {
			if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
				return err
			}
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+OK") {
			return fmt.Errorf("%q: %q", cmd, line)
		}
		if cmd == "STAT" {
			stat = line
		}
	}
	var n, size int
	if _, err := fmt.Sscanf(stat, "+OK %d %d", &n, &size); err != nil {
		return fmt.Errorf("STAT answer %q: %v", stat, err)
	}
	logf("pop3 backend maildrop has %d messages", n)
	return nil
}

// fakeSMTPSend sends a message to the backend without authentication, as
// mailproxy does with xclient off once the client has authenticated.
func fakeSMTPSend(addr string, logf func(string, ...any)) error {
	c, err := gosmtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("fake.client"); err != nil {
		return err
	}
	msg := "From: <demo@example.com>\r\nTo: <alice@example.com>\r\nSubject: fake proxy check\r\n\r\nHello.\r\n"
	if err := c.SendMail("demo@example.com", []string{"alice@example.com"}, strings.NewReader(msg)); err != nil {
		return err
	}
	logf("smtp backend accepted a message")
	return c.Quit()
}

// fakeSieveLogin logs in to the ManageSieve backend as demo with
// AUTHENTICATE "PLAIN", as mailproxy does.
func fakeSieveLogin(addr string, logf func(string, ...any)) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "OK") {
			break
		}
	}
	io.WriteString(c, "AUTHENTICATE \"PLAIN\" \""+base64.StdEncoding.EncodeToString([]byte("\x00demo\x00demo"))+"\"\r\n")
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "OK") {
		return fmt.Errorf("AUTHENTICATE: %q", line)
	}
	logf("sieve backend logged in")
	io.WriteString(c, "LOGOUT\r\n")
	return nil
}
