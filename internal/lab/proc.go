package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A daemon is identified by pid and kernel start time, so a recycled pid is
// never mistaken for ours.
type pidRecord struct {
	PID   int
	Start uint64
}

// procStat returns the state letter, parent pid and start time (clock ticks
// since boot) of pid from /proc/pid/stat.
func procStat(pid int) (state byte, ppid int, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	// comm may hold spaces and parens: the fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, errors.New("lab: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, 0, errors.New("lab: short /proc stat")
	}
	// f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime).
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, 0, err
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, 0, err
	}
	return f[0][0], ppid, start, nil
}

// alive reports whether the recorded process still runs (zombies count as gone).
func (r pidRecord) alive() bool {
	if r.PID <= 0 {
		return false
	}
	st, _, start, err := procStat(r.PID)
	return err == nil && start == r.Start && st != 'Z' && st != 'X'
}

func recordOf(pid int) (pidRecord, bool) {
	_, _, start, err := procStat(pid)
	if err != nil {
		return pidRecord{}, false
	}
	return pidRecord{PID: pid, Start: start}, true
}

func readPidRecord(path string) (pidRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pidRecord{}, err
	}
	var r pidRecord
	if _, err := fmt.Sscan(string(b), &r.PID, &r.Start); err != nil {
		return pidRecord{}, fmt.Errorf("lab: %s: %w", path, err)
	}
	return r, nil
}

// cmdlineHas reports whether pid's command line mentions s (our config path).
func cmdlineHas(pid int, s string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(b, []byte(s))
}

// descendants returns every live descendant of the roots, from one /proc scan.
func descendants(roots []int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, _, err := procStat(pid); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	seen := map[int]bool{}
	queue := append([]int(nil), roots...)
	for _, r := range roots {
		seen[r] = true
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

// daemon is a started server process.
type daemon struct {
	rec    pidRecord
	exited chan struct{} // closed if it dies while we are still running
}

// startDaemon runs argv in its own session (Samba signals its whole process
// group on SIGTERM, so daemons must not share one), output to log/NAME.out,
// and records it in pids/NAME.pid. It is not killed or waited for when we
// exit: the daemon outlives `nullsweep lab up` and test processes.
func startDaemon(pdir, name string, argv, env []string, newMountNS bool) (*daemon, error) {
	for _, d := range []string{"log", "pids"} {
		if err := os.MkdirAll(filepath.Join(pdir, d), 0o755); err != nil {
			return nil, err
		}
	}
	out, err := os.OpenFile(filepath.Join(pdir, "log", name+".out"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out // files, not pipes: nothing ties it to us
	cmd.SysProcAttr = daemonAttr(newMountNS)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{exited: make(chan struct{})}
	go func() { cmd.Wait(); close(d.exited) }() // reap if it dies early
	rec, ok := recordOf(cmd.Process.Pid)
	if !ok {
		<-d.exited
		return nil, fmt.Errorf("%s exited at once (see %s)", name, out.Name())
	}
	d.rec = rec
	pf := filepath.Join(pdir, "pids", name+".pid")
	if err := os.WriteFile(pf, fmt.Appendf(nil, "%d %d\n", rec.PID, rec.Start), 0o644); err != nil {
		kill(rec.PID)
		return nil, err
	}
	return d, nil
}

// runningDaemon returns the record of pids/NAME.pid if that process lives.
func runningDaemon(pdir, name string) (pidRecord, bool) {
	r, err := readPidRecord(filepath.Join(pdir, "pids", name+".pid"))
	if err != nil || !r.alive() {
		return pidRecord{}, false
	}
	return r, true
}

// ourProcesses lists the processes of one posture: the daemons we recorded,
// plus helpers Samba wrote to the posture's own pid directory (samba-dcerpcd,
// re-parented to init) whose command line names our config file.
func ourProcesses(pdir, conf string) []pidRecord {
	var roots []pidRecord
	seen := map[int]bool{}
	files, _ := filepath.Glob(filepath.Join(pdir, "pids", "*.pid"))
	for _, f := range files {
		if r, err := readPidRecord(f); err == nil && r.alive() && !seen[r.PID] {
			seen[r.PID] = true
			roots = append(roots, r)
		}
	}
	files, _ = filepath.Glob(filepath.Join(pdir, "run", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 || seen[pid] || !cmdlineHas(pid, conf) {
			continue
		}
		if r, ok := recordOf(pid); ok && r.alive() {
			seen[pid] = true
			roots = append(roots, r)
		}
	}
	return roots
}

// stopProcesses sends SIGTERM to the roots, waits for them and their
// descendants to go, then SIGKILLs what is left. Every pid is checked
// against its start time before each signal.
func stopProcesses(roots []pidRecord, grace time.Duration) error {
	if len(roots) == 0 {
		return nil
	}
	rootPIDs := make([]int, len(roots))
	for i, r := range roots {
		rootPIDs[i] = r.PID
	}
	all := append([]pidRecord(nil), roots...)
	for _, pid := range descendants(rootPIDs) {
		if r, ok := recordOf(pid); ok {
			all = append(all, r)
		}
	}
	for _, r := range roots {
		if r.alive() {
			terminate(r.PID)
		}
	}
	deadline := time.Now().Add(grace)
	for {
		left := 0
		for _, r := range all {
			if r.alive() {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range all {
		if r.alive() {
			kill(r.PID)
		}
	}
	time.Sleep(100 * time.Millisecond)
	var still []int
	for _, r := range all {
		if r.alive() {
			still = append(still, r.PID)
		}
	}
	if len(still) > 0 {
		return fmt.Errorf("lab: processes %v survived SIGKILL", still)
	}
	return nil
}
