package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/lab"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/sweep"
)

// The tests' runs of audit and sweep record into a history of their own,
// never the user's (child processes inherit the environment).
func init() {
	d, err := os.MkdirTemp("", "nullsweep-cmd-xdg")
	if err == nil {
		os.Setenv("XDG_DATA_HOME", d)
	}
}

// sweepFile writes a sweep's JSON Lines: each lab result file (from
// internal/audit/testdata) becomes an open host at target, plus closed
// hosts, and a complete summary unless complete is false.
func sweepFile(t *testing.T, path, plan, runID, shard string, complete bool, open map[string]string, closed ...string) {
	t.Helper()
	hdr := sweep.Header{Schema: sweep.Schema, Kind: sweep.KindHost, RunID: runID, PlanID: plan, Shard: shard, Time: time.Now().UTC()}
	sum := sweep.NewSummary(hdr)
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for target, file := range open {
		raw, err := os.ReadFile(testdata + file)
		if err != nil {
			t.Fatal(err)
		}
		var r enum.Result
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		r.Target = target
		rec := &sweep.Record{Header: hdr, Target: target, Status: sweep.StatusOpen, Port: 445, Result: &r, Audit: audit.Assess(&r, audit.Options{})}
		sum.Add(rec)
		enc.Encode(rec)
	}
	for _, c := range closed {
		rec := &sweep.Record{Header: hdr, Target: c, Status: sweep.StatusClosed, Layer: "reachability"}
		sum.Add(rec)
		enc.Encode(rec)
	}
	sum.Complete = complete
	sum.Targets = sum.Done
	enc.Encode(sum)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// merge, runs and diff over real lab results: shards merged into runs,
// incomplete merges exit 2 naming the shard, a second import changes
// nothing, and diff names what closed and exits 1 on what opened.
func TestMergeRunsDiff(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	f := func(n string) string { return filepath.Join(dir, n) }
	sweepFile(t, f("a1.jsonl"), "planA", "ra1", "1/2", true, map[string]string{"127.0.0.2": "enum-open.json"}, "127.0.0.1")
	sweepFile(t, f("a2.jsonl"), "planA", "ra2", "2/2", true, map[string]string{"127.0.0.3": "enum-restricted.json"}, "127.0.0.4")
	// The next week: the open host was hardened, the restricted one opened.
	sweepFile(t, f("b1.jsonl"), "planA", "rb1", "1/2", true, map[string]string{"127.0.0.2": "enum-restricted.json"}, "127.0.0.1")
	sweepFile(t, f("b2.jsonl"), "planA", "rb2", "2/2", true, map[string]string{"127.0.0.3": "enum-open.json"}, "127.0.0.4")
	sweepFile(t, f("c.jsonl"), "planC", "rc", "1/1", true, nil, "127.0.0.1")
	sweepFile(t, f("half.jsonl"), "planH", "rh", "1/3", true, nil, "127.0.0.1")

	out, errOut, code := nullsweep(t, "merge", "--db", db, f("a1.jsonl"))
	if code != 2 || !strings.Contains(errOut, "shard 2/2") {
		t.Errorf("merge of one shard of two: exit %d, %q %q", code, out, errOut)
	}
	out, _, code = nullsweep(t, "merge", "--db", db, f("a1.jsonl"), f("a2.jsonl"))
	if code != 0 || !strings.Contains(out, "imported 4 targets as run 2") {
		t.Errorf("merge: exit %d, %q", code, out)
	}
	out, _, code = nullsweep(t, "merge", "--db", db, f("a2.jsonl"), f("a1.jsonl"))
	if code != 0 || !strings.Contains(out, "already recorded as run 2") {
		t.Errorf("merge again: exit %d, %q", code, out)
	}
	// A cut-off copy (no summary) of a shard of that complete run.
	b, err := os.ReadFile(f("a2.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	if err := os.WriteFile(f("a2cut.jsonl"), []byte(strings.Join(recs[:len(recs)-1], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = nullsweep(t, "merge", "--db", db, f("a1.jsonl"), f("a2cut.jsonl"))
	if code != 0 || !strings.Contains(out, "already recorded as run 2") || !strings.Contains(out, "run 2 as recorded is complete") || errOut != "" {
		t.Errorf("merge of a cut-off copy of a complete run: exit %d, %q, %q", code, out, errOut)
	}
	_, errOut, code = nullsweep(t, "merge", "--db", db, f("a1.jsonl"), f("c.jsonl"))
	if code != 2 || !strings.Contains(errOut, "different plans") {
		t.Errorf("mixed plans: exit %d, %q", code, errOut)
	}
	_, errOut, code = nullsweep(t, "merge", "--db", db, f("half.jsonl"))
	if code != 2 || !strings.Contains(errOut, "shard 2/3, 3/3") {
		t.Errorf("missing shards: exit %d, %q", code, errOut)
	}
	nullsweep(t, "merge", "--db", db, f("b1.jsonl"), f("b2.jsonl"))

	out, _, code = nullsweep(t, "runs", "--db", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 || !strings.Contains(lines[1], "no") || !strings.Contains(lines[2], "yes") {
		t.Errorf("runs: exit %d\n%s", code, out)
	}

	out, _, code = nullsweep(t, "diff", "--db", db, "--json")
	var d struct {
		A, B  struct{ ID int }
		Hosts []struct {
			Target, State string
			New, Resolved []struct{ Kind, Key string }
		}
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("diff --json: %v\n%s", err, out)
	}
	if code != 1 || d.A.ID != 2 || d.B.ID != 4 {
		t.Errorf("diff: exit %d (want 1: something new), runs %d → %d (want 2 → 4)", code, d.A.ID, d.B.ID)
	}
	states := map[string]string{}
	for _, h := range d.Hosts {
		states[h.Target] = h.State
	}
	want := map[string]string{"127.0.0.1": "unchanged", "127.0.0.2": "resolved", "127.0.0.3": "new", "127.0.0.4": "unchanged"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("host states %v, want %v", states, want)
	}
	_, _, code = nullsweep(t, "diff", "--db", db, "--fail-on", "critical")
	if code != 0 {
		t.Errorf("diff --fail-on critical: exit %d, want 0 (the new findings are high at most)", code)
	}
	out, _, code = nullsweep(t, "diff", "--db", db, "4", "4")
	if code != 0 || !strings.Contains(out, "no change") {
		t.Errorf("diff of a run with itself: exit %d %q", code, out)
	}
	html := filepath.Join(dir, "r.html")
	out, errOut, code = nullsweep(t, "report", "--db", db, "--html", html)
	page, _ := os.ReadFile(html)
	if code != 0 || !strings.Contains(out, "report of run 4") || !strings.Contains(string(page), `<li class="d-resolved">resolved: [high] lockout-dos`) {
		t.Errorf("report: exit %d %q %q; page has the diff: %v", code, out, errOut, strings.Contains(string(page), "d-resolved"))
	}
	if _, errOut, code = nullsweep(t, "report", "--db", db); code != 2 || !strings.Contains(errOut, "--html") {
		t.Errorf("report without --html: exit %d %q", code, errOut)
	}
	_, errOut, code = nullsweep(t, "diff", "--db", db, "77")
	if code != 2 || !strings.Contains(errOut, "no such run") {
		t.Errorf("diff 77: exit %d %q", code, errOut)
	}
}

// A database that cannot be used is a clear error naming the cause.
func TestCorruptDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	os.WriteFile(db, []byte(strings.Repeat("garbage ", 1000)), 0o600)
	_, errOut, code := nullsweep(t, "runs", "--db", db)
	if code != 2 || !strings.Contains(errOut, "corrupt") {
		t.Errorf("runs on a corrupt file: exit %d %q", code, errOut)
	}
}

// audit records each run; two audits of an unchanged lab host diff to "no
// change", and --no-store records nothing.
func TestAuditRecordsRuns(t *testing.T) {
	addr := labtest.Require(t, "open")["open"]
	db := filepath.Join(t.TempDir(), "h.db")
	for range 2 {
		if _, errOut, code := nullsweep(t, "audit", "--db", db, "--json", addr); code != 1 {
			t.Fatalf("audit of the open posture: exit %d (want 1, findings) %s", code, errOut)
		}
	}
	nullsweep(t, "audit", "--no-store", "--db", db, addr)
	out, _, _ := nullsweep(t, "runs", "--db", db, "--json")
	var runs []struct {
		ID       int
		Kind     string
		Targets  int
		Open     int
		Complete bool
		Findings map[string]int
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatal(err, out)
	}
	if len(runs) != 2 || runs[1].Kind != "audit" || !runs[1].Complete || runs[1].Targets != 1 || runs[1].Open != 1 || runs[1].Findings["high"] == 0 {
		t.Fatalf("runs after two audits and one --no-store: %+v", runs)
	}
	out, errOut, code := nullsweep(t, "diff", "--db", db)
	if code != 0 || !strings.HasSuffix(out, "no change\n") {
		t.Errorf("diff of two audits of an unchanged host: exit %d\n%s%s", code, out, errOut)
	}
	// A corrupt database: the report is still written, the error is clear
	// and the exit status says the run was not recorded.
	bad := filepath.Join(t.TempDir(), "bad.db")
	os.WriteFile(bad, []byte(strings.Repeat("garbage ", 1000)), 0o600)
	out, errOut, code = nullsweep(t, "audit", "--db", bad, "--json", addr)
	if code != 2 || !strings.Contains(errOut, "corrupt") || !strings.Contains(out, `"findings"`) {
		t.Errorf("audit with a corrupt history: exit %d, stderr %q, report written: %v", code, errOut, strings.Contains(out, `"findings"`))
	}
}

// A sweep of the lab records its run; a second sweep with --since last
// ends with "no change" and rewrites the HTML report; a database that
// cannot be used leaves the JSONL complete, names the cause and the
// command that imports the file later, and merge then imports it.
func TestSweepRecordsAndDiffs(t *testing.T) {
	addr := labtest.Require(t, "open")["open"]
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	html := filepath.Join(dir, "r.html")
	targets := []string{addr, "127.0.0.1"} // the second: closed (nothing of the lab listens there)
	args := func(out string, extra ...string) []string {
		return append(append([]string{"sweep", "--db", db, "-o", out, "--connect-timeout", "500ms"}, extra...), targets...)
	}
	out, errOut, code := nullsweep(t, args(filepath.Join(dir, "1.jsonl"), "--since", "last", "--html", html)...)
	if code != 1 || !strings.Contains(out, "since the last run: nothing to compare with (run 1 is the first") || !strings.Contains(out, "report: "+html) {
		t.Fatalf("first sweep: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = nullsweep(t, args(filepath.Join(dir, "2.jsonl"), "--since", "last", "--html", html)...)
	if code != 1 || !strings.Contains(out, "since the last run (run 1): no change") {
		t.Fatalf("second sweep: exit %d\n%s%s", code, out, errOut)
	}
	page, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(page), "since the last run (run 1 of") || !strings.Contains(string(page), "OPENSRV") {
		t.Errorf("report after the second sweep: %v", err)
	}
	// A locked-out (here: corrupt) database: the records are all written.
	bad := filepath.Join(dir, "bad.db")
	os.WriteFile(bad, []byte(strings.Repeat("garbage ", 1000)), 0o600)
	jl := filepath.Join(dir, "3.jsonl")
	_, errOut, code = nullsweep(t, append([]string{"sweep", "--db", bad, "-o", jl}, targets...)...)
	if code != 2 || !strings.Contains(errOut, "corrupt") || !strings.Contains(errOut, "nullsweep merge "+jl) {
		t.Errorf("sweep with a corrupt history: exit %d %q", code, errOut)
	}
	recs, _ := os.ReadFile(jl)
	if n := strings.Count(string(recs), `"kind":"host"`); n != len(targets) || !strings.Contains(string(recs), `"complete":true`) {
		t.Errorf("the JSONL of a sweep whose history failed holds %d host records (want %d) or lacks its summary", n, len(targets))
	}
	out, _, code = nullsweep(t, "merge", "--db", db, jl)
	if code != 0 || !strings.Contains(out, "as run 3") {
		t.Errorf("merge of the unrecorded sweep: exit %d %q", code, out)
	}
	out, _, _ = nullsweep(t, "diff", "--db", db)
	if !strings.Contains(out, "no change") {
		t.Errorf("diff of the merged run with the last sweep:\n%s", out)
	}
}

// The loop the history exists for: sweep, change one setting (restrict
// anonymous 0 → 2 on a posture of this test's own), sweep again; the diff
// names what closed, nothing new, nothing unknown, and the untouched host
// unchanged.
func TestSweepChangeSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	other := labtest.Require(t, "smb2only")["smb2only"]
	posture := func(ra string) lab.Posture {
		p, err := lab.Custom("ra-change", "127.0.0.22", "open", []string{"restrict anonymous = " + ra, "server min protocol = NT1"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	addr := labtest.RequireCustom(t, posture("0"))
	dir := t.TempDir()
	db := filepath.Join(dir, "h.db")
	sweepArgs := func(n string) []string {
		return []string{"sweep", "--db", db, "-o", filepath.Join(dir, n+".jsonl"), "--since", "last", addr, other}
	}
	if _, errOut, code := nullsweep(t, sweepArgs("1")...); code != 1 {
		t.Fatalf("first sweep: exit %d %s", code, errOut)
	}
	labtest.RequireCustom(t, posture("2")) // restarts it with the new smb.conf
	out, errOut, code := nullsweep(t, sweepArgs("2")...)
	if code != 1 || !strings.Contains(out, "since the last run (run 1): 0 hosts with something new, 1 resolved") {
		t.Fatalf("second sweep: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = nullsweep(t, "diff", "--db", db, "--json")
	if code != 0 {
		t.Errorf("diff: exit %d, want 0 (nothing new)", code)
	}
	var d struct {
		Hosts []struct {
			Target, State                   string
			New, Resolved, Changed, Unknown []struct{ Kind, Key, Before, After string }
		}
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	for _, h := range d.Hosts {
		if h.Target == other {
			if h.State != "unchanged" {
				t.Errorf("untouched host %s: %s %+v", other, h.State, h)
			}
			continue
		}
		if h.State != "resolved" || len(h.New) != 0 {
			t.Errorf("changed host: state %s, new %v", h.State, h.New)
		}
		// The public share is not listed to a null session any more, so it
		// is not probed: not read is not closed.
		for _, e := range h.Unknown {
			if !strings.Contains(e.Key, "share:public") {
				t.Errorf("unknown after the change: %+v (only the unprobed share may be)", e)
			}
		}
		var findings, exposures []string
		for _, e := range h.Resolved {
			if e.Kind == "finding" {
				findings = append(findings, e.Key)
			} else {
				exposures = append(exposures, e.Key+":"+e.Before+">"+e.After)
			}
		}
		t.Logf("resolved findings %v\nresolved exposures %v\nchanged %v", findings, exposures, h.Changed)
		// What restrict anonymous = 2 closes on Samba (docs/samba.md):
		// the anonymous IPC$ and everything behind it.
		want := []string{"groups-enumerable", "lockout-dos", "null-session-allowed", "policy-readable", "shares-enumerable", "users-enumerable"}
		slices.Sort(findings)
		if !slices.Equal(findings, want) {
			t.Errorf("resolved findings %v, want exactly %v", findings, want)
		}
		for _, want := range []string{"ipc:yes>no", "users:yes>no", "shares-list:yes>no", "password-policy:yes>no"} {
			if !slices.Contains(exposures, want) {
				t.Errorf("resolved exposures %v lack %s", exposures, want)
			}
		}
		// What it leaves open: the guest mapping, SMB1, unsigned sessions.
		for _, kept := range []string{"guest-logon", "smb1-enabled", "signing-not-required"} {
			if slices.Contains(findings, kept) {
				t.Errorf("%s is reported resolved, but restrict anonymous does not govern it", kept)
			}
		}
	}
}

// A resumed sweep records its whole file: the hosts of the first part
// (written before the interruption) and of the second.
func TestResumedSweepRecordsWholeFile(t *testing.T) {
	addr := labtest.Require(t, "open")["open"]
	dir := t.TempDir()
	jl, db := filepath.Join(dir, "s.jsonl"), filepath.Join(dir, "h.db")
	targets := []string{addr, "127.0.0.1", "127.0.0.30"}
	if _, errOut, code := nullsweep(t, append([]string{"sweep", "--no-store", "-o", jl, "--seed", "3"}, targets...)...); code != 1 {
		t.Fatalf("sweep: exit %d %s", code, errOut)
	}
	// Keep the first record only: the sweep "was interrupted" there.
	b, _ := os.ReadFile(jl)
	first, _, _ := strings.Cut(string(b), "\n")
	os.WriteFile(jl, []byte(first+"\n"), 0o600)
	if _, errOut, code := nullsweep(t, append([]string{"sweep", "--db", db, "--resume", jl, "--seed", "3"}, targets...)...); code != 1 {
		t.Fatalf("resume: exit %d %s", code, errOut)
	}
	out, _, _ := nullsweep(t, "runs", "--db", db, "--json")
	var runs []struct {
		Targets  int
		Complete bool
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 1 || runs[0].Targets != 3 || !runs[0].Complete {
		t.Errorf("runs after a resumed sweep: %s (%v)", out, err)
	}
}

// TestReadVerbsWithoutHistory: runs, diff and report on a path with no
// database say so (runs: nothing recorded, exit 0) and leave no database
// behind, as a mistyped --db would.
func TestReadVerbsWithoutHistory(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo.db")
	for _, tt := range []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"runs", "--db", db}, exitExamined, "no runs recorded in " + db, ""},
		{[]string{"runs", "--json", "--db", db}, exitExamined, "[]", ""},
		{[]string{"diff", "--db", db}, exitIncomplete, "", "no history database at " + db + ": nothing recorded yet"},
		{[]string{"report", "--html", filepath.Join(t.TempDir(), "r.html"), "--db", db}, exitIncomplete, "", "no history database at " + db},
	} {
		out, errOut, code := nullsweep(t, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.errs) {
			t.Errorf("%v: exit %d, %q, %q; want %d, %q, %q", tt.args, code, out, errOut, tt.code, tt.out, tt.errs)
		}
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("%v created %s", tt.args, db)
		}
	}
}
