package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// procStat is what the benchmark reads from /proc/PID/stat.
type procStat struct {
	ppid                         int
	utime, stime, cutime, cstime int64 // clock ticks
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(f[k], 10, 64); return v }
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
	return procStat{ppid: int(n(1)), utime: n(11), stime: n(12), cutime: n(13), cstime: n(14)}, nil
}

// treePIDs returns root and all its living descendants, root first; nil if
// root is gone.
func treePIDs(root int) []int {
	if _, err := readStat(root); err != nil {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	kids := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			kids[st.ppid] = append(kids[st.ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// treeCPU is the CPU time (user + system) used so far by root and its
// descendants, those still running and those it has reaped.
func treeCPU(root int) time.Duration {
	user, system := treeTimes(root)
	return user + system
}

// treeTimes is treeCPU's user and system time apart.
func treeTimes(root int) (user, system time.Duration) {
	var u, s int64
	for i, pid := range treePIDs(root) {
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		u += st.utime
		s += st.stime
		if i == 0 {
			u += st.cutime
			s += st.cstime
		}
	}
	return time.Duration(u) * clockTick, time.Duration(s) * clockTick
}

// treeCtxSwitches is the number of context switches, voluntary and
// nonvoluntary, made so far by every thread of root and its descendants
// (/proc/PID/task/TID/status; a thread that has exited is no longer
// counted, which a Go process's threads and nginx's processes do not do
// under load). ok is false when root is gone.
func treeCtxSwitches(root int) (n int64, ok bool) {
	pids := treePIDs(root)
	for _, pid := range pids {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			continue
		}
		for _, task := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
			if err != nil {
				continue
			}
			vol, nonvol := parseCtxSwitches(b)
			n += vol + nonvol
		}
	}
	return n, len(pids) > 0
}

// parseCtxSwitches reads voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches from a /proc status file (0 when absent).
func parseCtxSwitches(status []byte) (vol, nonvol int64) {
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "voluntary_ctxt_switches":
			vol = n
		case "nonvoluntary_ctxt_switches":
			nonvol = n
		}
	}
	return vol, nonvol
}

// treeRSS is the resident set of root and its descendants, in KiB (VmRSS
// summed: pages shared between them count once per process).
func treeRSS(root int) int64 {
	var kib int64
	for _, pid := range treePIDs(root) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				f := strings.Fields(v)
				if len(f) > 0 {
					n, _ := strconv.ParseInt(f[0], 10, 64)
					kib += n
				}
			}
		}
	}
	return kib
}

// treeFDs is the number of open descriptors of root and its descendants.
func treeFDs(root int) int {
	n := 0
	for _, pid := range treePIDs(root) {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err == nil {
			n += len(ents)
		}
	}
	return n
}
