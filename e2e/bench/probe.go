package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"
)

// greetings are the prefixes of each protocol's greeting.
var greetings = map[string]string{"imap": "* OK", "pop3": "+OK", "smtp": "220"}

// waitServices polls every service of addrs until it greets, failing when
// c (if not nil) exits, ctx ends or timeout passes.
func waitServices(ctx context.Context, c *child, addrs map[string]string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, svc := range sortedServices(addrs) {
		for {
			err := probe(addrs[svc], serviceProtocol[svc], serviceTLS(svc))
			if err == nil {
				break
			}
			if c != nil && !c.running() {
				return fmt.Errorf("%s exited during start-up (%v)", c.name, c.err)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not answer after %v: %w", addrs[svc], timeout, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// probe connects to addr, reads proto's greeting and hangs up.
func probe(addr, proto string, useTLS bool) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if useTLS {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	}
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(l, greetings[proto]) {
		return fmt.Errorf("greeting %q", strings.TrimSpace(l))
	}
	return nil
}
