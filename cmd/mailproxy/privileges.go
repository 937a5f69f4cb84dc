package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"mailproxy/config"
)

// The system calls dropPrivileges makes; tests replace them.
var (
	geteuid   = os.Geteuid
	setgroups = syscall.Setgroups
	setgid    = syscall.Setgid
	setuid    = syscall.Setuid
	chown     = os.Chown
)

// dropPrivileges gives the process up to cfg.User for good, as nginx's
// user directive does for its workers: called once the listeners are
// bound and the pid file written, before anything is served. Files
// written later (the pid file, removed at exit, and the error_log file,
// reopened on SIGHUP) are given to the user first. The supplementary
// groups become the user's (initgroups), then the group and the user
// are set on every thread (Go's setgid/setuid apply to all of them), and
// the result is checked: a process still able to become root again, or
// a thread left behind, is an error and mailproxy does not start.
//
// Without a user, a process running as root logs a warning; a user given
// to a process that is not root is ignored with a warning, as nginx does.
func dropPrivileges(cfg *config.Config, log *slog.Logger) error {
	u := cfg.User
	if u == nil {
		if geteuid() == 0 {
			log.Warn("running as root: set user (nginx's user directive) to drop privileges once the listeners are bound")
		}
		return nil
	}
	if geteuid() != 0 {
		log.Warn(`the "user" key makes sense only when mailproxy starts as root; ignored`, "user", u.String())
		return nil
	}
	for _, f := range append([]string{cfg.PID}, logFiles(cfg)...) {
		if f == "" {
			continue
		}
		if err := chown(f, u.UID, u.GID); err != nil {
			return fmt.Errorf("cannot give %s to user %s: %w", f, u, err)
		}
	}
	groups := []int{u.GID}
	if acct, err := user.Lookup(u.Name); err == nil {
		if ids, err := acct.GroupIds(); err == nil {
			for _, id := range ids {
				if g, err := strconv.Atoi(id); err == nil && g != u.GID {
					groups = append(groups, g)
				}
			}
		}
	}
	if err := setgroups(groups); err != nil {
		return fmt.Errorf("setgroups(%v): %w", groups, err)
	}
	if err := setgid(u.GID); err != nil {
		return fmt.Errorf("setgid(%d): %w", u.GID, err)
	}
	if err := setuid(u.UID); err != nil {
		return fmt.Errorf("setuid(%d): %w", u.UID, err)
	}
	if err := checkDropped(u); err != nil {
		return err
	}
	log.Info("privileges dropped", "user", u.Name, "group", u.Group, "uid", u.UID, "gid", u.GID)
	return nil
}

// checkDropped verifies that the process runs as u for good.
func checkDropped(u *config.User) error {
	if os.Getuid() != u.UID || os.Geteuid() != u.UID || os.Getgid() != u.GID || os.Getegid() != u.GID {
		return fmt.Errorf("still uid %d/%d gid %d/%d after switching to %s", os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid(), u)
	}
	if u.UID != 0 {
		if err := syscall.Setuid(0); err == nil {
			return errors.New("root could be regained after switching users")
		}
	}
	return threadsDropped(u)
}

// logFiles lists the files of every error_log sink (top level, mail and
// servers), each once.
func logFiles(cfg *config.Config) []string {
	sinks := slices.Clone(cfg.ErrorLog)
	for _, srv := range cfg.Servers {
		sinks = append(sinks, srv.ErrorLog...)
	}
	var files []string
	for _, s := range sinks {
		d := s.Destination
		if d == "stderr" || strings.HasPrefix(d, "syslog:") || slices.Contains(files, d) {
			continue
		}
		files = append(files, d)
	}
	return files
}
