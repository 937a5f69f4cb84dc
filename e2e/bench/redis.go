package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// redisServer is a redis-server the bench started for a figure.
type redisServer struct {
	addr string // 127.0.0.1:port
	c    *child
}

// stop ends it by its PID.
func (r *redisServer) stop() { r.c.stop() }

// startRedis starts o.RedisServer (redis-server in PATH by default) as a
// child on a free loopback port, in a directory of its own under the work
// directory, persisting nothing, and waits (startTimeout at most) until
// it answers PING. It is registered for stopAll; stop ends it sooner.
func (b *bench) startRedis(ctx context.Context) (*redisServer, error) {
	bin := b.o.RedisServer
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (Debian: apt-get install redis-server): %w", err)
	}
	b.instances++
	dir := filepath.Join(b.dir, "redis-"+strconv.Itoa(b.instances))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	logf, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = logf, logf
	c, err := startChild("redis-server", cmd, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	b.cs.add(c)
	deadline := time.Now().Add(startTimeout)
	for {
		err := pingRedis(addr)
		if err == nil {
			break
		}
		if !c.running() {
			return nil, fmt.Errorf("redis-server exited during start-up (%v; log: %s)", c.err, lastLines(logf.Name()))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			return nil, fmt.Errorf("redis-server on %s does not answer after %v: %v (log: %s)", addr, startTimeout, err, lastLines(logf.Name()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.progress("redis-server ready on %s (%s)", addr, dir)
	return &redisServer{addr: addr, c: c}, nil
}

// pingRedis sends PING to addr and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(l, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(l))
	}
	return nil
}
