package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
)

// labHost is a real lab posture's enum result (testdata, from
// `nullsweep enum --json`) with its audit verdict, under a new address.
func labHost(t testing.TB, file, target string) *Host {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var r enum.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.Target = target
	rep := audit.Assess(&r, audit.Options{})
	return &Host{Target: target, Status: StatusOpen, Time: time.Now(), Result: &r, Audit: rep}
}

func openTemp(t testing.TB) *DB {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func storeRun(t testing.TB, d *DB, info RunInfo, hosts ...*Host) *Run {
	t.Helper()
	ctx := context.Background()
	w, err := d.Begin(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		w.Add(h)
	}
	if err := w.Finish(ctx, true); err != nil {
		t.Fatal(err)
	}
	r, err := d.Run(ctx, fmt.Sprint(w.ID))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenCreatesWALAndSchema(t *testing.T) {
	d := openTemp(t)
	var mode string
	var v int
	if err := d.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := d.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion() {
		t.Errorf("user_version = %d, %v; want %d", v, err, SchemaVersion())
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct{ xdg, home, want string }{
		{"/data", "/home/u", "/data/nullsweep/history.db"},
		{"", "/home/u", "/home/u/.local/share/nullsweep/history.db"},
		{"relative", "/home/u", "/home/u/.local/share/nullsweep/history.db"},
	}
	for _, tt := range tests {
		t.Setenv("XDG_DATA_HOME", tt.xdg)
		t.Setenv("HOME", tt.home)
		got, err := DefaultPath()
		if err != nil || got != tt.want {
			t.Errorf("XDG_DATA_HOME=%q: %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestRunsKeepEveryRun(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	open := labHost(t, "enum-open.json", "127.0.0.2")
	r1 := storeRun(t, d, RunInfo{Kind: KindSweep, Plan: "p1", Args: []string{"sweep", "127.0.0.0/30"}}, open,
		&Host{Target: "127.0.0.1", Status: StatusClosed}, &Host{Target: "127.0.0.3", Status: StatusFiltered})
	r2 := storeRun(t, d, RunInfo{Kind: KindSweep, Plan: "p1"}, labHost(t, "enum-restricted.json", "127.0.0.2"),
		&Host{Target: "127.0.0.3", Status: StatusFiltered}, &Host{Target: "127.0.0.1", Status: StatusClosed})
	runs, err := d.Runs(ctx)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs = %d, %v; want 2", len(runs), err)
	}
	if r1.Targets != 3 || r1.Open != 1 || r1.Findings["high"] != 1 || r1.Findings["medium"] == 0 {
		t.Errorf("run 1 counts: %d targets, %d open, findings %v", r1.Targets, r1.Open, r1.Findings)
	}
	if r1.TargetsHash == "" || r1.TargetsHash != r2.TargetsHash {
		t.Errorf("same targets in another order: hash %q vs %q", r1.TargetsHash, r2.TargetsHash)
	}
	if got, _ := d.Previous(ctx, r2); got == nil || got.ID != r1.ID {
		t.Errorf("previous of run %d = %v, want run %d", r2.ID, got, r1.ID)
	}
	// Run 1's rows are still run 1's: nothing was overwritten per host.
	h1, err := d.Hosts(ctx, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h1[1].Target != "127.0.0.2" || h1[1].Audit == nil || h1[1].Audit.AtLeast(audit.High) != 1 || h1[1].Result == nil {
		t.Errorf("run 1 host 127.0.0.2 not as stored: %+v", h1[1].Host)
	}
	items := map[string]string{}
	for _, it := range h1[1].Items {
		items[it.Key] = it.State
	}
	for k, want := range map[string]string{KeyReachable: "yes", audit.ExpNullSession: "yes", audit.ExpUsers: "yes", "share:public": "yes", "pipe:samr": "yes", "pipe:netlogon": "no", "share:data": "no"} {
		if items[k] != want {
			t.Errorf("item %s = %q, want %q (items %v)", k, items[k], want, items)
		}
	}
	if last, err := d.Run(ctx, "last"); err != nil || last.ID != r2.ID {
		t.Errorf("last = %v, %v; want run %d", last, err, r2.ID)
	}
	if _, err := d.Run(ctx, "99"); !errors.Is(err, ErrNoRun) {
		t.Errorf("run 99: %v, want ErrNoRun", err)
	}
}

// A database written by an earlier schema version (built here by that
// version's migrations, as the release that had them wrote it) opens with
// today's code, keeps its runs, can be diffed and reported.
func TestOpensOlderDatabase(t *testing.T) {
	for _, version := range []int{1, 2, 3, 4, 5, 6} {
		t.Run(fmt.Sprint("version ", version), func(t *testing.T) { testOpensOlder(t, version) })
	}
}

func testOpensOlder(t *testing.T, version int) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, raw, version); err != nil {
		t.Fatal(err)
	}
	for i, sev := range []int{2, 3} {
		id := i + 1
		if _, err := raw.Exec(`INSERT INTO runs (id, run_id, plan, shard, args, version, started, finished, complete) VALUES (?, ?, 'p', '', '["sweep"]', 'v1', ?, ?, 1)`,
			id, fmt.Sprint("r", id), fmt.Sprintf("2026-01-0%dT00:00:00Z", id), fmt.Sprintf("2026-01-0%dT00:01:00Z", id)); err != nil {
			t.Fatal(err)
		}
		for _, tg := range []string{"192.0.2.1", "192.0.2.2"} {
			if _, err := raw.Exec(`INSERT INTO targets (run, target, status, result) VALUES (?, ?, 'open', '{}')`, id, tg); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := raw.Exec(`INSERT INTO findings (run, target, id, severity, setting, evidence) VALUES (?, '192.0.2.1', 'lockout-dos', ?, 'RestrictAnonymousSAM', '[]')`, id, sev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`INSERT INTO findings (run, target, id, severity, setting, evidence) VALUES (1, '192.0.2.2', 'users-enumerable', 2, 'RestrictAnonymousSAM', '[]')`); err != nil {
		t.Fatal(err)
	}
	// From version 2 on, an audit --user run kept its user view inside
	// the audit JSON only.
	uv := userView()
	if version >= 2 {
		b, _ := json.Marshal(audit.Report{Target: "192.0.2.2", User: uv})
		if _, err := raw.Exec(`UPDATE targets SET audit = ? WHERE run = 1 AND target = '192.0.2.2'`, string(b)); err != nil {
			t.Fatal(err)
		}
		if version >= 6 { // and from 6 on in a column of its own too
			b, _ := json.Marshal(uv)
			if _, err := raw.Exec(`UPDATE targets SET user_view = ? WHERE run = 1 AND target = '192.0.2.2'`, string(b)); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw.Close()

	d, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open version-1 database: %v", err)
	}
	defer d.Close()
	var v int
	d.db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion() {
		t.Errorf("user_version after open = %d, want %d", v, SchemaVersion())
	}
	runs, err := d.Runs(ctx)
	if err != nil || len(runs) != 2 || runs[0].Kind != KindSweep || runs[0].Version != "v1" || runs[0].Targets != 2 {
		t.Fatalf("runs after migration: %v, %v", runs, err)
	}
	prev, err := d.Previous(ctx, runs[1])
	if err != nil || prev.ID != 1 {
		t.Fatalf("previous of run 2 after backfill: %v, %v", prev, err)
	}
	df, err := d.Diff(ctx, prev, runs[1])
	if err != nil {
		t.Fatal(err)
	}
	if df.Hosts[0].State != DiffChanged || df.Hosts[1].State != DiffResolved {
		t.Errorf("diff of version-1 runs: %+v", df.Hosts)
	}
	hosts, _, err := d.ReportHosts(ctx, runs[0].ID)
	if err != nil || len(hosts) != 2 || len(hosts[0].Findings) != 1 {
		t.Fatalf("report of an old run: %v, %v", hosts, err)
	}
	if hosts[0].User != nil {
		t.Errorf("a host looked at anonymously reads back a user view: %+v", hosts[0].User)
	}
	switch {
	case version < 2 && hosts[1].User != nil:
		t.Errorf("schema 1 kept no audit, yet a user view reads back: %+v", hosts[1].User)
	case version >= 2 && !reflect.DeepEqual(hosts[1].User, uv):
		t.Errorf("user view kept in the audit JSON of schema %d reads back as %+v, want %+v", version, hosts[1].User, uv)
	}
	// The results stored beside each target (schema 7 moved them to a
	// table of their own) read back with their hosts.
	all, err := d.Hosts(ctx, runs[0].ID)
	if err != nil || len(all) != 2 || all[0].Result == nil || all[1].Result == nil {
		t.Fatalf("hosts with results of an old run: %+v, %v", all, err)
	}
	if version >= 2 && (all[1].Audit == nil || !reflect.DeepEqual(all[1].Audit.User, uv)) {
		t.Errorf("audit of an old run reads back as %+v", all[1].Audit)
	}
	// And the new tables take rows.
	storeRun(t, d, RunInfo{}, labHost(t, "enum-open.json", "192.0.2.1"))
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	raw, _ := sql.Open("sqlite", "file:"+path)
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrNewer) {
		t.Fatalf("open: %v, want ErrNewer", err)
	}
}

// Locked, full, read-only and corrupt databases give the error that names
// the cause; what was stored before the failure stays.
func TestDatabaseFailures(t *testing.T) {
	ctx := context.Background()
	old := busyTimeout
	busyTimeout = 200 * time.Millisecond
	defer func() { busyTimeout = old }()
	host := labHost(t, "enum-open.json", "127.0.0.2")

	t.Run("corrupt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.db")
		os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 400)), 0o600)
		_, err := Open(ctx, path)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("open: %v, want ErrCorrupt", err)
		}
	})
	t.Run("locked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.db")
		d, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		other, _ := sql.Open("sqlite", "file:"+path)
		defer other.Close()
		conn, _ := other.Conn(ctx)
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			t.Fatal(err)
		}
		_, err = d.Begin(ctx, RunInfo{})
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("begin while another process holds the lock: %v, want ErrLocked", err)
		}
		conn.ExecContext(ctx, "ROLLBACK")
		storeRun(t, d, RunInfo{}, host) // and works once the lock is gone
	})
	t.Run("full", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.db")
		d, err := open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		var pages int
		raw, _ := sql.Open("sqlite", "file:"+path)
		raw.QueryRow("PRAGMA page_count").Scan(&pages)
		raw.Close()
		d, err = open(ctx, path, []string{fmt.Sprintf("max_page_count(%d)", pages+2)})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		w, err := d.Begin(ctx, RunInfo{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 200 {
			h := *host
			h.Target = fmt.Sprintf("127.0.1.%d", i)
			w.Add(&h)
		}
		err = w.Finish(ctx, true)
		if !errors.Is(err, ErrFull) {
			t.Fatalf("finish on a full disk: %v, want ErrFull", err)
		}
		r, err := d.Run(ctx, fmt.Sprint(w.ID))
		if err != nil || !r.Finished.IsZero() || r.Complete {
			t.Errorf("a run that could not be stored must stay unfinished (merge replaces it): %+v, %v", r, err)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.db")
		d, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		storeRun(t, d, RunInfo{}, host)
		d.Close()
		d, err = open(ctx, path, []string{"query_only(1)"})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		_, err = d.Begin(ctx, RunInfo{})
		if !errors.Is(err, ErrReadOnly) {
			t.Fatalf("begin on a read-only database: %v, want ErrReadOnly", err)
		}
		if runs, err := d.Runs(ctx); err != nil || len(runs) != 1 {
			t.Errorf("reading a read-only database: %d runs, %v", len(runs), err)
		}
	})
}

// What a report reads back equals what was stored, from the report's own
// columns and, for rows written before schema 3, from the JSON.
func TestReportHosts(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	h := labHost(t, "enum-open.json", "127.0.0.2")
	r := storeRun(t, d, RunInfo{}, h, &Host{Target: "127.0.0.9", Status: StatusClosed})
	want, _ := Prepare(h)
	check := func(name string) {
		hosts, fixes, err := d.ReportHosts(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hosts) != 2 || hosts[0].Target != "127.0.0.2" || hosts[1].Items[0].State != "no" {
			t.Fatalf("%s: hosts %+v", name, hosts)
		}
		got := hosts[0]
		if got.Name != "OPENSRV" || len(got.Shares) != len(want.Shares) || len(got.Findings) != len(want.Findings) || len(got.Items) != len(want.Items) {
			t.Errorf("%s: name %q, %d shares, %d findings, %d items; want OPENSRV, %d, %d, %d", name, got.Name, len(got.Shares), len(got.Findings), len(got.Items),
				len(want.Shares), len(want.Findings), len(want.Items))
		}
		for _, f := range got.Findings {
			if fx := fixes[f.Fix]; f.Setting != "" && (fx == nil || fx.Setting != f.Setting || fx.MayBreak == nil) {
				t.Errorf("%s: finding %s: fix %+v", name, f.ID, fx)
			}
		}
	}
	check("schema 3 rows")
	if _, err := d.db.Exec("UPDATE targets SET shares = NULL, name = ''; UPDATE findings SET fix = ''"); err != nil {
		t.Fatal(err)
	}
	check("rows as schema 2 wrote them")
}

// A kind of finding whose hosts' titles differ (here their group counts)
// is listed under the kind's title, not one host's; equal titles stay.
func TestWorstFindingsTitles(t *testing.T) {
	a := labHost(t, "enum-open.json", "127.0.0.2")
	b := labHost(t, "enum-open.json", "127.0.0.3")
	b.Result.Groups = b.Result.Groups[:1]
	b.Audit = audit.Assess(b.Result, audit.Options{})
	d := openTemp(t)
	r := storeRun(t, d, RunInfo{}, a, b)
	worst, err := d.WorstFindings(context.Background(), r.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Worst{}
	for _, w := range worst {
		got[w.ID] = w
	}
	for id, want := range map[string]string{
		string(audit.FindGroupsEnumerable): audit.KindTitle(audit.FindGroupsEnumerable),
		string(audit.FindUsersEnumerable):  "Account names readable anonymously",
		string(audit.FindLockoutDoS):       "Anyone can lock every account out: users are enumerable and the lockout threshold is 5",
	} {
		if w := got[id]; w.Title != want || len(w.Hosts) != 2 {
			t.Errorf("%s: title %q on %d hosts, want %q on 2", id, w.Title, len(w.Hosts), want)
		}
	}
}

// The first run over a target set has no predecessor: the error is
// ErrNoRun and says what to do.
func TestPreviousOfFirstRun(t *testing.T) {
	d := openTemp(t)
	r := storeRun(t, d, RunInfo{}, labHost(t, "enum-open.json", "127.0.0.2"))
	_, err := d.Previous(context.Background(), r)
	if !errors.Is(err, ErrNoRun) || !strings.Contains(err.Error(), "first complete run over its 1 target (no such run before it); run the same sweep again") {
		t.Errorf("Previous of the first run = %v", err)
	}
}

// userView is a second look as a user like audit --user gives: the user
// reads the users and a share the stranger does not.
func userView() *audit.UserView {
	return &audit.UserView{Account: `LAB\alice`, Session: "allowed", Status: "STATUS_SUCCESS", Items: []audit.Gap{
		{Key: audit.ExpUsers, Anonymous: audit.No, User: audit.Yes, Gap: audit.GapUserOnly, UserEvidence: "SAMR: 4 users"},
		{Key: "share:data", Anonymous: audit.No, User: audit.Yes, Gap: audit.GapUserOnly},
		{Key: audit.ExpIPC, Anonymous: audit.Yes, User: audit.Yes, Gap: audit.GapBoth},
		{Key: audit.ExpPolicy, Anonymous: audit.Unknown, User: audit.Yes, Gap: audit.GapUnknown},
	}}
}

// A recorded audit or sweep with a user comparison reads back equal, by
// the report's reader and by the full one; a host without one reads nil.
func TestUserViewReadsBack(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{KindAudit, KindSweep} {
		t.Run(kind, func(t *testing.T) {
			d := openTemp(t)
			h := labHost(t, "enum-restricted.json", "127.0.0.3")
			h.Audit.User = userView()
			anon := labHost(t, "enum-open.json", "127.0.0.2")
			r := storeRun(t, d, RunInfo{Kind: kind}, h, anon, &Host{Target: "127.0.0.9", Status: StatusClosed})
			hosts, _, err := d.ReportHosts(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			full, err := d.Hosts(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			for name, hs := range map[string][]*StoredHost{"ReportHosts": hosts, "Hosts": full} {
				if len(hs) != 3 {
					t.Fatalf("%s: %d hosts", name, len(hs))
				}
				for _, got := range hs {
					want := (*audit.UserView)(nil)
					if got.Target == "127.0.0.3" {
						want = userView()
					}
					if !reflect.DeepEqual(got.User, want) {
						t.Errorf("%s: %s: user view %+v, want %+v", name, got.Target, got.User, want)
					}
				}
			}
			var n int
			if err := d.db.QueryRow("SELECT count(*) FROM targets WHERE run = ? AND user_view IS NOT NULL", r.ID).Scan(&n); err != nil || n != 1 {
				t.Errorf("rows with a user view: %d, %v; want 1", n, err)
			}
		})
	}
}
