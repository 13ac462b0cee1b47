package htmlreport

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/store"
)

// Hostile is markup a target may send as a share comment, a NetBIOS name
// or a user description.
const Hostile = `</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b id=injected>bold</b>`

// labHost is the lab's open posture (a real enum result in testdata) at
// target, with hostile text in the fields a target controls when hostile.
func labHost(t testing.TB, target string, hostile bool) *store.StoredHost {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "enum-open.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r enum.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.Target = target
	if hostile {
		r.Shares = append(r.Shares, enum.Share{Name: "evil", Type: "disk", Comment: Hostile})
		r.SMB.NTLM.NetBIOSComputer = Hostile
		r.Users = append(r.Users, enum.User{RID: 1099, Name: "mallory", Description: "pass: " + Hostile})
	}
	h := &store.Host{Target: target, Status: store.StatusOpen, Result: &r, Audit: audit.Assess(&r, audit.Options{})}
	sh, fixes := store.Prepare(h)
	maps.Copy(testFixes, fixes)
	return sh
}

// testFixes collects the fixes of every host labHost made.
var testFixes = map[string]*store.Fix{}

func render(t testing.TB, in Input) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, in); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReportEscapesHostileText(t *testing.T) {
	run := &store.Run{ID: 3, Kind: "sweep", Started: time.Now(), Complete: true}
	out := render(t, Input{Run: run, Hosts: []*store.StoredHost{labHost(t, "127.0.0.2", true)}, NoDiff: "first run", Generated: time.Now(), Fixes: testFixes})
	for _, bad := range []string{"<script>window", "<img src=x", "<b id=injected>", "</script><script>"} {
		if strings.Contains(out, bad) {
			t.Errorf("the report holds raw hostile markup %q", bad)
		}
	}
	if n := strings.Count(out, "<script"); n != 2 {
		t.Errorf("%d <script elements, want 2 (the data and the page's own)", n)
	}
	// The NetBIOS name is in the matrix as text.
	if !strings.Contains(out, "&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;") {
		t.Error("the hostile NetBIOS name is not in the matrix as escaped text")
	}
}

func TestReportContent(t *testing.T) {
	run := &store.Run{ID: 3, Kind: "sweep", Started: time.Now(), Complete: true}
	closed := &store.StoredHost{Host: store.Host{Target: "127.0.0.9", Status: store.StatusClosed}}
	closed.Items = []store.Item{{Key: store.KeyReachable, State: audit.No}}
	out := render(t, Input{Run: run, Hosts: []*store.StoredHost{labHost(t, "127.0.0.2", false), closed}, NoDiff: "no earlier complete run over the same targets", Generated: time.Now(), Fixes: testFixes})
	for _, want := range []string{
		`data-count="targets"><b>2</b>`,
		`data-count="high"><b>1</b>high findings`,
		`since the last run: no earlier complete run over the same targets`,
		"restrict anonymous = 2", // the smb.conf fix line
		"legacy NetBIOS browsing clients",
		`<td class="bad" data-s="100">yes</td>`,
		`<td class="na" data-s="0">not probed</td>`,
		"script-src 'sha256-",
		"#types td:last-child{white-space:nowrap}", // "fix 12" stays on one line in a narrow window
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// The CSP hash is the hash of the script the page carries.
	if !strings.Contains(out, "<script>"+scriptSrc+"</script>") {
		t.Error("the page's script differs from the one its CSP hash allows")
	}
}

func TestReportSinceLastRun(t *testing.T) {
	a := &store.Run{ID: 1, Started: time.Now()}
	b := &store.Run{ID: 2, Started: time.Now()}
	d := &store.Diff{A: a, B: b, Count: map[string]int{store.DiffResolved: 1}, Hosts: []store.HostDiff{{Target: "127.0.0.2", State: store.DiffResolved,
		Resolved: []store.Entry{{Kind: "finding", Key: "users-enumerable", Severity: "medium", Title: "Account names readable anonymously"}}}}}
	out := render(t, Input{Run: b, Hosts: []*store.StoredHost{labHost(t, "127.0.0.2", false)}, Diff: d, Generated: time.Now(), Fixes: testFixes})
	if !strings.Contains(out, `<li class="d-resolved">resolved: [medium] users-enumerable: Account names readable anonymously</li>`) {
		t.Error("the resolved finding is not in the since-the-last-run section")
	}
	d.Hosts[0] = store.HostDiff{Target: "127.0.0.2", State: store.DiffUnchanged}
	d.Count = map[string]int{store.DiffUnchanged: 1}
	out = render(t, Input{Run: b, Hosts: []*store.StoredHost{labHost(t, "127.0.0.2", false)}, Diff: d, Generated: time.Now(), Fixes: testFixes})
	if !strings.Contains(out, "since the last run (run 1 of ") || !strings.Contains(out, "): no change</p>") {
		t.Error(`an empty diff does not say "no change"`)
	}
}

// Findings by type: a kind whose hosts' titles differ (group counts) shows
// the kind's title, not the first host's; equal titles are shown as they are.
func TestReportTypeTitles(t *testing.T) {
	a := labHost(t, "127.0.0.2", false)
	b := labHost(t, "127.0.0.3", false)
	for i, f := range b.Findings {
		if strings.HasPrefix(f.ID, string(audit.FindGroupsEnumerable)) {
			b.Findings[i].Title = "1 groups readable anonymously"
		}
	}
	run := &store.Run{ID: 3, Kind: "sweep", Started: time.Now(), Complete: true}
	out := render(t, Input{Run: run, Hosts: []*store.StoredHost{a, b}, NoDiff: "first run", Generated: time.Now(), Fixes: testFixes})
	want := "<td>" + audit.KindTitle(audit.FindGroupsEnumerable) + " <small>(groups-enumerable)</small>"
	if !strings.Contains(out, want) {
		t.Errorf("findings by type lacks %q", want)
	}
	if !strings.Contains(out, "<td>Account names readable anonymously <small>(users-enumerable)</small>") {
		t.Error("an equal title is not shown as it is")
	}
}

// A report into a directory that does not exist names the user's path,
// not the temporary file the write goes through.
func TestWriteFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodir", "x.html")
	run := &store.Run{ID: 3, Kind: "sweep", Started: time.Now(), Complete: true}
	err := WriteFile(path, Input{Run: run, NoDiff: "first run", Generated: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "cannot write x.html in "+filepath.Dir(path)+": no such file") || strings.Contains(err.Error(), ".nullsweep-report-") {
		t.Errorf("WriteFile into a missing directory: %v", err)
	}
}

// A run recorded with a user comparison, read back from the store as the
// report command reads it: the host's row carries the marker and the
// user's section lists the items, what only the user gets first, every
// text escaped; a host looked at anonymously has neither.
func TestReportUserSection(t *testing.T) {
	ctx := context.Background()
	d, err := store.Open(ctx, filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	anon := labHost(t, "127.0.0.2", false)
	user := labHost(t, "127.0.0.3", false)
	user.Audit.User = &audit.UserView{Account: `LAB\alice`, Session: "allowed", Status: "STATUS_SUCCESS", Items: []audit.Gap{
		{Key: audit.ExpIPC, Anonymous: audit.Yes, User: audit.Yes, Gap: audit.GapBoth},
		{Key: audit.ExpUsers, Anonymous: audit.No, User: audit.Yes, Gap: audit.GapUserOnly, UserEvidence: "SAMR: " + Hostile},
		{Key: audit.ExpPolicy, User: audit.Yes, Gap: audit.GapUnknown},
		{Key: "share:data", Anonymous: audit.No, User: audit.Yes, Gap: audit.GapUserOnly},
	}}
	w, err := d.Begin(ctx, store.RunInfo{Kind: store.KindAudit})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(&anon.Host)
	w.Add(&user.Host)
	if err := w.Finish(ctx, true); err != nil {
		t.Fatal(err)
	}
	run, err := d.Run(ctx, "last")
	if err != nil {
		t.Fatal(err)
	}
	hosts, fixes, err := d.ReportHosts(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := render(t, Input{Run: run, Hosts: hosts, Fixes: fixes, NoDiff: "first run", Generated: time.Now()})

	if n := strings.Count(out, `class="userview"`); n != 1 {
		t.Fatalf("%d user sections, want 1 (one host was looked at as a user)", n)
	}
	if !strings.Contains(out, `<h3>What LAB\alice gets that a stranger does not — 127.0.0.3`) {
		t.Error("the user section's heading does not name the account and the host")
	}
	if !strings.Contains(out, `logon as LAB\alice: allowed (STATUS_SUCCESS); 2 item(s) only the user gets`) {
		t.Error("the user section does not say the logon and the count")
	}
	// The marker is in 127.0.0.3's row only.
	for _, r := range regexp.MustCompile(`(?s)<tr data-i="\d+".*?</tr>`).FindAllString(out, -1) {
		marked := strings.Contains(r, `<a class="usr" href="#user-1"`)
		if want := strings.Contains(r, ">127.0.0.3</button>"); marked != want {
			t.Errorf("row marked %v, want %v: %s", marked, want, r)
		}
		if marked && !strings.Contains(r, `as LAB\alice: +2</a>`) {
			t.Errorf("the marker does not say the account and what it gets more: %s", r)
		}
	}
	sec := out[strings.Index(out, `<table class="usergap">`):]
	sec = sec[:strings.Index(sec, "</table>")]
	var got []string
	for _, m := range regexp.MustCompile(`<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td class="(.*?)">(.*?)</td><td>(.*?)</td></tr>`).FindAllStringSubmatch(sec, -1) {
		got = append(got, strings.Join(m[1:], "|"))
	}
	want := []string{
		"users|no|yes|bad|user only|SAMR: " + template.HTMLEscapeString(Hostile),
		"share:data|no|yes|bad|user only|",
		"password-policy|not examined|yes|unk|unknown|",
		"ipc|yes|yes||both|",
	}
	if !slices.Equal(got, want) {
		t.Errorf("user section rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(out, "<b id=injected>") {
		t.Error("hostile evidence in the user section is not escaped")
	}
}
