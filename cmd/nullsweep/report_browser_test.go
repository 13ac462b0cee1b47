package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/htmlreport"
	"github.com/nullsweep/nullsweep/internal/lab"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/store"
	"github.com/nullsweep/nullsweep/internal/sweep"
)

// hostileComment is what the hostile posture's share says about itself: it
// tries to end the data script, start its own, run an event handler and
// add an element.
const hostileComment = `</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b id=injected>bold</b>`

// browser starts Debian's chromium headless, offline: no sandbox (tests run
// as root), no GPU, nothing that would phone home, a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("chromium not found: scripts/setup.sh installs it")
		}
		t.Skip("chromium not found: run scripts/setup.sh")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// artifactDir is where browser tests keep their screenshots: artifacts/ at
// the repository root (git ignores it), or $NULLSWEEP_ARTIFACTS.
func artifactDir(t *testing.T) string {
	d := os.Getenv("NULLSWEEP_ARTIFACTS")
	if d == "" {
		d = filepath.Join("..", "..", "artifacts")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// wantCell is what the matrix must say for one column, from the record's
// exposure items (the JSON of the sweep), in the report's words.
func wantCell(items []audit.Item, key string, count bool) string {
	if !count {
		for _, it := range items {
			if it.Key == key {
				return it.State
			}
		}
		return "not probed"
	}
	yes, seen, unk := 0, 0, 0
	for _, it := range items {
		if strings.HasPrefix(it.Key, key) {
			seen++
			switch it.State {
			case audit.Yes:
				yes++
			case audit.Unknown:
				unk++
			}
		}
	}
	switch {
	case yes > 0:
		return fmt.Sprintf("yes: %d", yes)
	case seen == 0:
		return "not probed"
	case unk > 0:
		return "unknown"
	}
	return "no"
}

type matrixRow struct {
	Target string   `json:"target"`
	Hidden bool     `json:"hidden"`
	Cells  []string `json:"cells"`
}

const readMatrix = `Array.from(document.querySelectorAll("#matrix tbody tr:not(.detail)")).map(function (r) {
  return {target: r.cells[0].textContent, hidden: r.hidden, cells: Array.from(r.cells).slice(5).map(function (c) { return c.textContent; })};
})`

// The report of a real lab sweep, opened in a real browser: the matrix
// says what the sweep's JSON says, a filter click hides exactly the hosts
// without that exposure, and a share comment made of markup and script is
// shown as text while nothing of it runs.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("live test")
	}
	addrs := labtest.Require(t, "open", "restricted", "smb2only")
	hp, err := lab.Custom("hostile", "127.0.0.21", "open", nil,
		"[evil]\n  path = $POSTURE_DIR/shares/public\n  comment = "+hostileComment+"\n  guest ok = yes\n  read only = yes")
	if err != nil {
		t.Fatal(err)
	}
	hostile := labtest.RequireCustom(t, hp)
	ctx := browser(t)
	dir := t.TempDir()
	jl, html := filepath.Join(dir, "sweep.jsonl"), filepath.Join(dir, "report.html")
	targets := []string{addrs["open"], addrs["restricted"], addrs["smb2only"], hostile, "127.0.0.1"}
	_, errOut, code := nullsweep(t, append([]string{"sweep", "--db", filepath.Join(dir, "h.db"), "-o", jl, "--html", html, "--connect-timeout", "1s"}, targets...)...)
	if code != 1 {
		t.Fatalf("sweep: exit %d, want 1 (findings)\n%s", code, errOut)
	}
	want := map[string][]string{}
	withNull := []string{}
	f, err := os.Open(jl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = sweep.Read(f, func(l sweep.Line) error {
		r := l.Host
		if r == nil {
			return nil
		}
		var items []audit.Item
		if r.Result != nil {
			items = audit.Items(r.Result, r.Audit)
		}
		if !slices.ContainsFunc(items, func(it audit.Item) bool { return it.Key == audit.ExpReachable }) {
			st := map[sweep.Status]string{sweep.StatusOpen: "yes", sweep.StatusClosed: "no"}[r.Status]
			items = append(items, audit.Item{Key: audit.ExpReachable, State: cmpOr(st, "unknown")})
		}
		var row []string
		for _, c := range []struct {
			key   string
			count bool
		}{{audit.ExpReachable, false}, {audit.ExpNullSession, false}, {audit.ExpGuest, false}, {audit.ExpIPC, false}, {"pipe:", true},
			{audit.ExpUsers, false}, {"share:", true}, {audit.ExpPolicy, false}, {audit.ExpRIDCycling, false}, {audit.ExpSMB1, false}, {audit.ExpSigning, false}} {
			row = append(row, wantCell(items, c.key, c.count))
		}
		want[r.Target] = row
		if row[1] == audit.Yes {
			withNull = append(withNull, r.Target)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(targets) || len(withNull) == 0 || len(withNull) == len(targets) {
		t.Fatalf("the lab sweep should give %d records, some with a null session and some without: %v", len(targets), want)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate("file://"+html),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
	); err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]matrixRow](readMatrix))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range rows {
		got[r.Target] = r.Cells
	}
	for target, w := range want {
		if !slices.Equal(got[target], w) {
			t.Errorf("matrix row %s = %q, the sweep's JSON says %q", target, got[target], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("matrix has %d rows, the sweep %d records", len(got), len(want))
	}

	// Filter: only hosts with a null session.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#only-1`))); err != nil {
		t.Fatal(err)
	}
	if rows, err = chromedp.Run(ctx, chromedp.Evaluate[[]matrixRow](readMatrix)); err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, r := range rows {
		if !r.Hidden {
			shown = append(shown, r.Target)
		}
	}
	slices.Sort(shown)
	slices.Sort(withNull)
	if !slices.Equal(shown, withNull) {
		t.Errorf("after the null-session filter click the matrix shows %v, want %v", shown, withNull)
	}

	// Sort by the worst finding: worst first.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`th[data-sort="worst"]`))); err != nil {
		t.Fatal(err)
	}
	ranks, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`Array.from(document.querySelectorAll("#matrix tbody tr")).filter(function (r) { return !r.hidden; }).map(function (r) { return +r.dataset.w; })`))
	if err != nil || len(ranks) != len(withNull) || !slices.IsSortedFunc(ranks, func(a, b int) int { return b - a }) {
		t.Errorf("after a click on 'worst' the rows' severities are %v (%v), want %d rows, worst first", ranks, err, len(withNull))
	}

	// The hostile host's details: the comment is text, nothing ran.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(fmt.Sprintf(`//tr[td/button[text()=%q]]//button`, hostile))),
		chromedp.WaitVisible(chromedp.CSS(`tr.detail`)),
	); err != nil {
		t.Fatal(err)
	}
	detail, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`tr.detail`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fix (smb.conf):", "restrict anonymous = 2", "may break:"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the host's details lack %q", want)
		}
	}
	if !strings.Contains(detail, hostileComment) {
		t.Errorf("the hostile share comment is not shown as text in the host's details: %q", detail)
	}
	effects, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[window.__pwned === undefined ? 0 : 1, document.querySelectorAll("#injected, b[id]").length, document.scripts.length, document.images.length]`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(effects, []int{0, 0, 2, 0}) {
		t.Errorf("hostile markup took effect: [__pwned, injected elements, scripts, images] = %v, want [0 0 2 0]", effects)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifactDir(t), "report-lab.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// A report of 10,000 hosts opens in pages of 100 and pages on.
func TestLargeReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	raw, err := os.ReadFile(testdata + "enum-open.json")
	if err != nil {
		t.Fatal(err)
	}
	var r enum.Result
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	one, fixes := store.Prepare(&store.Host{Target: r.Target, Status: store.StatusOpen, Result: &r, Audit: audit.Assess(&r, audit.Options{})})
	var hosts []*store.StoredHost
	for i := range 10000 {
		h := *one
		h.Target = fmt.Sprintf("198.18.%d.%d", i>>8, i&255)
		hosts = append(hosts, &h)
	}
	html := filepath.Join(t.TempDir(), "big.html")
	t0 := time.Now()
	err = htmlreport.WriteFile(html, htmlreport.Input{Run: &store.Run{ID: 1, Kind: "sweep", Started: time.Now(), Complete: true},
		Hosts: hosts, Fixes: fixes, NoDiff: "none", Generated: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(html)
	t.Logf("written in %v, %.2f MB", time.Since(t0).Round(time.Millisecond), float64(st.Size())/1e6)
	ctx := browser(t)
	t0 = time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+html), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	opened := time.Since(t0)
	info, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("pageinfo")))
	if err != nil || info != "page 1 of 100 (10000 of 10000 hosts)" {
		t.Errorf("page info %q, %v", info, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("next"))); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#matrix tbody tr")).filter(function (r) { return !r.hidden; }).map(function (r) { return r.cells[0].textContent; })`))
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 100 || shown[0] != "198.18.0.100" || shown[99] != "198.18.0.199" {
		t.Errorf("page 2 shows %d rows, %v … %v; want 198.18.0.100 … 198.18.0.199", len(shown), shown[:min(1, len(shown))], shown[max(0, len(shown)-1):])
	}
	t.Logf("opened in chromium in %v (page 1 of 100 ready)", opened.Round(time.Millisecond))
	if opened > 20*time.Second {
		t.Errorf("a 10,000-host report took %v to open", opened)
	}
}
