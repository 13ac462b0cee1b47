package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/sweep"
)

// Loopback addresses of the sweep tests: hostile servers 127.0.1.200-209
// (other packages' tests use other 127.0.1.x), closed space 127.0.2.0/24
// (nothing listens there), dead hosts 127.0.3.x.

// readSweep reads a sweep file: host records by target (a target twice is
// an error) and the last summary.
func readSweep(t *testing.T, path string) (map[string]*sweep.Record, *sweep.Summary) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := map[string]*sweep.Record{}
	var sum *sweep.Summary
	if err := sweep.Read(f, func(l sweep.Line) error {
		if l.Summary != nil {
			sum = l.Summary
			return nil
		}
		if recs[l.Host.Target] != nil {
			return fmt.Errorf("two records for %s", l.Host.Target)
		}
		recs[l.Host.Target] = l.Host
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if sum == nil {
		t.Fatalf("%s: no summary", path)
	}
	return recs, sum
}

// deadHost listens on addr:445 with a full accept queue and never accepts:
// the kernel drops every further SYN, so a connect gets no answer at all,
// as from a host that is down or a firewall that drops (no iptables needed).
func deadHost(t *testing.T, addr string) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	ip := net.ParseIP(addr).To4()
	sa := &syscall.SockaddrInet4{Port: 445}
	copy(sa.Addr[:], ip)
	if err := syscall.Bind(fd, sa); err != nil {
		t.Skipf("dead host %s: %v (run inside a network namespace)", addr, err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	// Backlog 0 holds one connection: fill it.
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "445"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c2, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "445"), 300*time.Millisecond); err == nil {
		c2.Close()
		t.Fatalf("dead host %s still accepts", addr)
	}
}

func listenHostile(t *testing.T, n int, h hostile.Handler) string {
	t.Helper()
	s, err := hostile.Listen(hostile.Addr(n), []int{445, 139}, h)
	if err != nil {
		t.Skipf("hostile listener: %v (run inside a network namespace)", err)
	}
	t.Cleanup(func() { s.Close() })
	return hostile.Addr(n)
}

// hostileCases are servers that stop an examination at a known layer.
func sweepHostiles(t *testing.T, open string) map[string]enum.Layer {
	return map[string]enum.Layer{
		listenHostile(t, 200, hostile.Silent):                                                   enum.LayerNegotiate,
		listenHostile(t, 201, hostile.Script([]byte{0, 0xFF, 0xFF, 0xFF, 0xFE, 'S', 'M', 'B'})): enum.LayerNegotiate,
		listenHostile(t, 202, (&hostile.Proxy{Upstream: open, Rule: func(r *hostile.Reply) {
			if r.Req != nil && !r.Req.SMB1 && r.Req.Command == hostile.CmdSessionSetup && !r.Interim {
				r.Drip(hostile.Frame(r.Raw), time.Second)
			}
		}}).Serve): enum.LayerSession,
	}
}

type findingKey struct {
	ID       audit.FindingID
	Severity audit.Severity
	Setting  string
}

func findingKeys(r *audit.Report) []findingKey {
	var out []findingKey
	for _, f := range r.Findings {
		out = append(out, findingKey{f.ID, f.Severity, f.Setting})
	}
	return out
}

func exposureValues(r *audit.Report) map[string]string {
	out := map[string]string{}
	for _, e := range r.Exposure {
		out[e.Name] = fmt.Sprint(e.Value)
	}
	return out
}

// stableResult is the part of an enum result that two runs against the
// same server must agree on (no timings, no evidence order).
func stableResult(r *enum.Result) map[string]any {
	out := map[string]any{"layer": r.Layer, "ports": r.Ports}
	for k, s := range r.Sessions {
		out["session "+k] = s.Result
	}
	if r.IPC != nil {
		out["ipc"] = r.IPC.Result
	}
	out["pipes"] = r.Pipes
	var names []string
	for _, u := range r.Users {
		names = append(names, u.Name)
	}
	out["users"] = names
	names = nil
	for _, g := range r.Groups {
		names = append(names, g.Name)
	}
	out["groups"] = names
	var shares []string
	for _, s := range r.Shares {
		shares = append(shares, fmt.Sprintf("%s %s %s", s.Name, s.Anonymous.Connect, s.Anonymous.List))
	}
	out["shares"] = shares
	out["policy"] = r.Policy
	out["domain"] = r.Domain
	if r.SMB != nil {
		out["dialect"] = r.SMB.Dialect
		out["dialects"] = r.SMB.Dialects
	}
	return out
}

// TestSweepLive sweeps the lab's postures, hostile servers, closed and
// dead loopback addresses in one run: one record per target; each lab
// host's result and findings equal its solo `audit`; each hostile host is
// an error with the layer it reached, within --host-timeout.
func TestSweepLive(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	postures := []string{"open", "restricted", "smb1only", "smb2only", "restricted1", "dc"}
	addrs := labtest.Require(t, postures...)
	hostiles := sweepHostiles(t, addrs["open"])
	dead := "127.0.3.1"
	deadHost(t, dead)

	var targets []string
	for _, p := range postures {
		targets = append(targets, addrs[p])
	}
	for h := range hostiles {
		targets = append(targets, h)
	}
	targets = append(targets, "127.0.2.1-16", dead)
	// Generous: the DC's RID cycling shares two cores with the other tests.
	const hostTimeout = 25 * time.Second
	out := filepath.Join(t.TempDir(), "sweep.jsonl")
	args := append([]string{"sweep", "-R", "--host-timeout", hostTimeout.String(), "--connect-timeout", "500ms", "-o", out}, targets...)
	start := time.Now()
	stdout, stderr, code := nullsweep(t, args...)
	took := time.Since(start)
	// Hostile hosts were not examined: exit 2, said on stderr.
	if code != exitIncomplete || !strings.Contains(stderr, "3 of 26 targets not examined") || stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	recs, sum := readSweep(t, out)
	want := len(postures) + len(hostiles) + 16 + 1
	if len(recs) != want || sum.Targets != uint64(want) || sum.Done != uint64(want) || !sum.Complete {
		t.Fatalf("%d records, summary %+v; want %d targets, complete", len(recs), sum, want)
	}
	if sum.Counts[sweep.StatusOpen] != 6 || sum.Counts[sweep.StatusClosed] != 16 || sum.Counts[sweep.StatusFiltered] != 1 || sum.Counts[sweep.StatusError] != 3 {
		t.Errorf("counts %v", sum.Counts)
	}
	for i := 1; i <= 16; i++ {
		if r := recs["127.0.2."+strconv.Itoa(i)]; r == nil || r.Status != sweep.StatusClosed || r.Result != nil {
			t.Errorf("127.0.2.%d: %+v", i, r)
		}
	}
	if r := recs[dead]; r == nil || r.Status != sweep.StatusFiltered || r.Layer != enum.LayerReachability || !strings.Contains(r.Error, "no answer within 500ms") {
		t.Errorf("dead host: %+v", r)
	}
	for h, layer := range hostiles {
		r := recs[h]
		if r == nil || r.Status != sweep.StatusError || r.Layer != layer || r.Result == nil {
			t.Errorf("hostile %s: want error at %s, got %+v", h, layer, r)
			continue
		}
		if bound := hostTimeout + 2*time.Second; time.Duration(r.MS)*time.Millisecond > bound {
			t.Errorf("hostile %s took %d ms, bound %v", h, r.MS, bound)
		}
	}
	// Each lab host equals its solo audit.
	for _, p := range postures {
		a := addrs[p]
		r := recs[a]
		if r == nil || r.Status != sweep.StatusOpen || r.Port != 445 || r.Audit == nil || r.Result == nil {
			t.Errorf("%s (%s): %+v", p, a, r)
			continue
		}
		solo, errOut, code := nullsweep(t, "audit", "--json", "--timeout", "60s", a)
		if code == exitIncomplete {
			t.Errorf("%s: solo audit exit %d: %s", p, code, errOut)
			continue
		}
		var rep struct {
			audit.Report
			// The enum result is not in audit's JSON; the sweep's result
			// is compared with a solo enum below.
		}
		if err := json.Unmarshal([]byte(solo), &rep); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if d := cmp.Diff(findingKeys(&rep.Report), findingKeys(r.Audit)); d != "" {
			t.Errorf("%s: sweep findings differ from solo audit (-audit +sweep):\n%s", p, d)
		}
		if d := cmp.Diff(exposureValues(&rep.Report), exposureValues(r.Audit)); d != "" {
			t.Errorf("%s: sweep exposure differs from solo audit (-audit +sweep):\n%s\nsweep notes %q, %d ms", p, d, r.Audit.Notes, r.MS)
		}
		soloEnum, errOut, code := nullsweep(t, "enum", "--json", "--timeout", "60s", a)
		if code != exitExamined {
			t.Errorf("%s: solo enum exit %d: %s", p, code, errOut)
			continue
		}
		var res enum.Result
		if err := json.Unmarshal([]byte(soloEnum), &res); err != nil {
			t.Fatal(err)
		}
		sr, er := stableResult(r.Result), stableResult(&res)
		// The browse list is the lab's election's, not the host's state.
		if d := cmp.Diff(er, sr); d != "" {
			t.Errorf("%s: sweep result differs from solo enum (-enum +sweep):\n%s", p, d)
		}
	}
	t.Logf("sweep of %d targets took %v", want, took)
}

// jobManifest reads deploy/k8s/sweep-job.yaml: the container's shell
// script, its environment and the number of completions. The manifest is
// kept to a shape this reader knows; a change to it that the reader does
// not follow fails the test rather than testing something else.
func jobManifest(t *testing.T) (script string, env map[string]string, completions int) {
	t.Helper()
	b, err := os.ReadFile("../../deploy/k8s/sweep-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	env = map[string]string{}
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "completions:"):
			completions, err = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "completions:")))
			if err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(l, "- name: ") && i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "value: "):
			v := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i+1]), "value: "))
			env[strings.TrimPrefix(l, "- name: ")] = strings.Trim(v, `"`)
		case l == "- |" && i > 0 && strings.TrimSpace(lines[i-1]) == "args:":
			indent := -1
			var body []string
			for i++; i < len(lines); i++ {
				s := lines[i]
				n := len(s) - len(strings.TrimLeft(s, " "))
				if strings.TrimSpace(s) != "" {
					if indent < 0 {
						indent = n
					}
					if n < indent {
						break
					}
				}
				body = append(body, strings.TrimPrefix(s, strings.Repeat(" ", max(indent, 0))))
			}
			i--
			script = strings.Join(body, "\n")
		}
	}
	if script == "" || completions < 1 || !strings.Contains(script, "JOB_COMPLETION_INDEX") {
		t.Fatalf("manifest: script %q, completions %d", script, completions)
	}
	return script, env, completions
}

// TestSweepJobManifest runs the Kubernetes Job's command line locally for
// every completion index, on loopback targets: the shards' records cover
// the plan exactly once, with one plan id; a pod retried on a finished
// shard (its file exists) resumes it and adds nothing.
func TestSweepJobManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	open := labtest.Require(t, "open")["open"]
	script, env, completions := jobManifest(t)
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(targets, []byte("# loopback stand-ins for the ConfigMap's ranges\n127.0.2.0/26\n"+open+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env["TARGETS"], env["OUT"] = targets, dir
	run := func(index int) (string, int) {
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "JOB_COMPLETION_INDEX="+strconv.Itoa(index))
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return errb.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return errb.String(), 0
	}
	for i := range completions {
		if stderr, code := run(i); code != 0 {
			t.Fatalf("index %d: exit %d: %s", i, code, stderr)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "shard-*.jsonl"))
	if len(files) != completions {
		t.Fatalf("%d shard files, want %d", len(files), completions)
	}
	seen := map[string]string{}
	plans := map[string]bool{}
	shards := map[string]bool{}
	var total uint64
	for _, f := range files {
		recs, sum := readSweep(t, f)
		plans[sum.PlanID] = true
		shards[sum.Shard] = true
		total += sum.Targets
		if !sum.Complete || sum.Done != uint64(len(recs)) {
			t.Errorf("%s: summary %+v, %d records", f, sum, len(recs))
		}
		for target, r := range recs {
			if prev, dup := seen[target]; dup {
				t.Errorf("%s in %s and %s", target, prev, f)
			}
			seen[target] = f
			if r.Shard != sum.Shard || r.PlanID != sum.PlanID {
				t.Errorf("%s: record of shard %s plan %s in a file of %s %s", target, r.Shard, r.PlanID, sum.Shard, sum.PlanID)
			}
		}
	}
	if len(plans) != 1 || len(shards) != completions {
		t.Errorf("plans %v, shards %v", plans, shards)
	}
	want := map[string]bool{open: true}
	for i := range 64 {
		want["127.0.2."+strconv.Itoa(i)] = true
	}
	if len(seen) != len(want) || total != uint64(len(want)) {
		t.Errorf("%d targets recorded, summaries say %d, want %d", len(seen), total, len(want))
	}
	for target := range want {
		if seen[target] == "" {
			t.Errorf("%s: no record in any shard", target)
		}
	}
	// A retried pod whose shard is finished resumes it: nothing added.
	before, _ := os.ReadFile(files[0])
	if stderr, code := run(0); code != 0 {
		t.Fatalf("rerun of index 0: exit %d: %s", code, stderr)
	}
	recs, sum := readSweep(t, filepath.Join(dir, "shard-1-of-"+strconv.Itoa(completions)+".jsonl"))
	if !sum.Complete || sum.Done != uint64(len(recs)) || bytes.Count(before, []byte("\n")) != len(recs)+1 {
		t.Errorf("rerun changed the shard: %d records, summary %+v", len(recs), sum)
	}
}

// TestSweepResumeAfterInterrupt: a sweep interrupted (SIGINT) at a random
// point, then resumed with --resume, has the same set of records as one
// uninterrupted sweep: every target once, lab hosts with the same findings.
func TestSweepResumeAfterInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	addrs := labtest.Require(t, "open", "restricted")
	dead := "127.0.3.2"
	deadHost(t, dead)
	args := []string{"sweep", "127.0.2.0/25", addrs["open"], addrs["restricted"], dead, "--rate", "100", "--connect-timeout", "300ms", "--seed", "9"}
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.jsonl")
	if _, stderr, code := nullsweep(t, append(args, "-o", whole)...); code != exitFindings {
		t.Fatalf("uninterrupted: exit %d: %s", code, stderr)
	}
	want, wantSum := readSweep(t, whole)

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	for round := range 3 {
		stopAfter := 1 + rng.IntN(len(want)-2)
		t.Logf("round %d: interrupt after %d records (seed %d)", round, stopAfter, seed)
		part := filepath.Join(dir, fmt.Sprintf("part%d.jsonl", round))
		cmd := exec.Command(bin, append(args, "-o", part)...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for {
			b, _ := os.ReadFile(part)
			if bytes.Count(b, []byte("\n")) >= stopAfter {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		sent := time.Now()
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		if el := time.Since(sent); el > 2500*time.Millisecond {
			t.Errorf("exit %v after SIGINT", el)
		}
		got, sum := readSweep(t, part)
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == exitFindings && sum.Complete && len(got) == len(want) {
			// The last hosts finished between the count and the signal:
			// a complete run, nothing to resume.
			t.Logf("round %d: the sweep finished before the interrupt landed", round)
			continue
		}
		if !errors.As(err, &ee) || ee.ExitCode() != exitIncomplete || !strings.Contains(errb.String(), "--resume "+part) {
			t.Fatalf("interrupted sweep: %v, stderr %q", err, errb.String())
		}
		if sum.Complete || sum.Done != uint64(len(got)) {
			// The interrupt may land after the last host; then the sweep
			// is complete and resume has nothing to do.
			if !(sum.Complete && len(got) == len(want)) {
				t.Errorf("interrupted summary %+v with %d records", sum, len(got))
			}
		}
		_, stderr, code := nullsweep(t, append(args, "--resume", part)...)
		if code != exitFindings {
			t.Fatalf("resume: exit %d: %s", code, stderr)
		}
		got, sum = readSweep(t, part)
		if !sum.Complete || sum.Done != wantSum.Done || sum.RunID == "" || sum.PlanID != wantSum.PlanID {
			t.Errorf("resumed summary %+v", sum)
		}
		if len(got) != len(want) {
			t.Errorf("resumed: %d records, want %d", len(got), len(want))
		}
		for target, w := range want {
			g := got[target]
			if g == nil || g.Status != w.Status || g.Index != w.Index {
				t.Errorf("%s: resumed %+v, uninterrupted %+v", target, g, w)
				continue
			}
			if w.Audit != nil && (g.Audit == nil || !cmp.Equal(findingKeys(w.Audit), findingKeys(g.Audit))) {
				t.Errorf("%s: findings differ after resume", target)
			}
		}
	}
}

// TestSweepInterruptInFlight: SIGINT with hosts in the middle of phase 2
// (servers that never answer, --host-timeout far away): the sweep stops
// within 2 s, writes the finished records and a summary marked incomplete,
// and exits 2; the cut hosts have no record (a resume examines them).
func TestSweepInterruptInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	silent := []string{listenHostile(t, 205, hostile.Silent), listenHostile(t, 206, hostile.Silent)}
	out := filepath.Join(t.TempDir(), "s.jsonl")
	cmd := exec.Command(bin, append([]string{"sweep", "--host-timeout", "5m", "-o", out, "127.0.2.0/28"}, silent...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if el := time.Since(sent); el > 2500*time.Millisecond {
		t.Errorf("exit %v after SIGINT", el)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitIncomplete || !strings.Contains(errb.String(), "interrupted (SIGINT)") {
		t.Errorf("exit %v, stderr %q", err, errb.String())
	}
	recs, sum := readSweep(t, out)
	if sum.Complete || sum.Done != 16 || len(recs) != 16 || sum.Targets != 18 {
		t.Errorf("summary %+v, %d records", sum, len(recs))
	}
	for _, s := range silent {
		if recs[s] != nil {
			t.Errorf("record for the interrupted host %s: %+v", s, recs[s])
		}
	}
}

// TestSweepClosedSpace: a sweep of closed addresses answers for every
// target (closed is an answer) and exits 0; --only-open writes only the
// summary, which still counts them.
func TestSweepClosedSpace(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		extra   []string
		records int
	}{
		{nil, 64},
		{[]string{"--only-open"}, 0},
	} {
		out := filepath.Join(dir, fmt.Sprintf("closed%d.jsonl", len(tc.extra)))
		stdout, stderr, code := nullsweep(t, append([]string{"sweep", "127.0.2.64/26", "-o", out}, tc.extra...)...)
		if code != exitExamined || stderr != "" || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", tc.extra, code, stderr, stdout)
		}
		recs, sum := readSweep(t, out)
		if len(recs) != tc.records || !sum.Complete || sum.Counts[sweep.StatusClosed] != 64 || sum.Done != 64 {
			t.Errorf("%v: %d records, summary %+v", tc.extra, len(recs), sum)
		}
	}
}
