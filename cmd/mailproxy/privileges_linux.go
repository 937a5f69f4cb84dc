package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mailproxy/config"
)

// threadsDropped checks every thread of the process in /proc: its real,
// effective, saved and file-system ids must all be u's.
func threadsDropped(u *config.User) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("cannot list the process's threads: %v", err)
	}
	wantUID := fmt.Sprintf("%d\t%d\t%d\t%d", u.UID, u.UID, u.UID, u.UID)
	wantGID := fmt.Sprintf("%d\t%d\t%d\t%d", u.GID, u.GID, u.GID, u.GID)
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":\t")
			if k == "Uid" && v != wantUID || k == "Gid" && v != wantGID {
				return fmt.Errorf("thread %s still has %s %s after switching to %s", filepath.Base(filepath.Dir(f)), k, v, u)
			}
		}
	}
	return nil
}
