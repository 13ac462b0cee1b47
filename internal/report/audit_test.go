package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

const auditTestdata = "../audit/testdata/"

func recorded(t testing.TB, name string) *enum.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(auditTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	var r enum.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestAuditTextGolden: the audit text of each recorded lab run (and of the
// open run against the restricted posture's smb.conf) stays as reviewed in
// testdata/audit-*.golden.
func TestAuditTextGolden(t *testing.T) {
	for _, tt := range []struct{ in, expect, golden string }{
		{"enum-open.json", "", "audit-open.golden"},
		{"enum-restricted1.json", "", "audit-restricted1.golden"},
		{"enum-dc.json", "", "audit-dc.golden"},
		{"enum-restricted.json", "", "audit-restricted.golden"},
		{"enum-open.json", "lab-restricted.smb.conf", "audit-open-expect-restricted.golden"},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			opt := audit.Options{}
			if tt.expect != "" {
				cfg, err := audit.ReadConfig(filepath.Join(auditTestdata, tt.expect))
				if err != nil {
					t.Fatal(err)
				}
				opt.Expect = audit.Predict(cfg)
			}
			var got bytes.Buffer
			if err := AuditText(&got, audit.Assess(recorded(t, tt.in), opt)); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got.String() != string(want) {
				t.Errorf("audit text differs from %s (run with -update after review):\n%s", golden, got.String())
			}
		})
	}
}

// TestAuditTextGroupsBySetting: the open posture has seven findings that
// restrict anonymous explains; its fix and may-break list print once, and
// each drift prints once, without a fix that repeats the file's value.
func TestAuditTextGroupsBySetting(t *testing.T) {
	r := recorded(t, "enum-open.json")
	rep := audit.Assess(r, audit.Options{})
	n := 0
	for _, f := range rep.Findings {
		if f.Setting == audit.SambaRestrictAnonymous {
			n++
		}
	}
	var b bytes.Buffer
	if err := AuditText(&b, rep); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if n < 2 || !strings.Contains(text, "Setting: restrict anonymous (") {
		t.Fatalf("%d findings of restrict anonymous; text:\n%s", n, text)
	}
	if c := strings.Count(text, "          restrict anonymous = 2\n"); c != 1 {
		t.Errorf("the restrict anonymous fix prints %d times, want once:\n%s", c, text)
	}
	if c := strings.Count(text, "legacy NetBIOS browsing clients"); c != 1 {
		t.Errorf("its may-break list prints %d times, want once", c)
	}

	cfg, err := audit.ReadConfig(filepath.Join(auditTestdata, "lab-restricted.smb.conf"))
	if err != nil {
		t.Fatal(err)
	}
	rep = audit.Assess(r, audit.Options{Expect: audit.Predict(cfg)})
	b.Reset()
	if err := AuditText(&b, rep); err != nil {
		t.Fatal(err)
	}
	text = b.String()
	for _, d := range rep.Drifts {
		line := audit.ExposureTitle(d.Exposure) + ": expected " + d.Expected + ", observed " + d.Observed
		if c := strings.Count(text, line); c != 1 {
			t.Errorf("drift %q prints %d times, want once", line, c)
		}
	}
	for _, f := range rep.Findings {
		if f.ID == audit.FindDrift && f.Fix != (audit.Fix{}) {
			t.Errorf("drift %s recommends %+v, which the file already sets", f.Key, f.Fix)
		}
	}
	drifts := text[strings.Index(text, "\nAgainst "):]
	if strings.Contains(drifts, "fix (") || !strings.Contains(drifts, "testparm") {
		t.Errorf("drift section:\n%s", drifts)
	}
}

// TestAuditTextIncomplete: a report whose examination stopped says so
// above its findings, and "none" is never printed for it.
func TestAuditTextIncomplete(t *testing.T) {
	r := &enum.Result{Schema: enum.Schema, Target: "192.0.2.1", Ports: map[string]enum.Outcome{"445": enum.Open},
		Layer: enum.LayerNegotiate, Error: "smb: negotiate: context deadline exceeded"}
	var b bytes.Buffer
	if err := AuditText(&b, audit.Assess(r, audit.Options{})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "INCOMPLETE") || strings.Contains(b.String(), "  none\n") {
		t.Errorf("incomplete audit:\n%s", b.String())
	}
}

// FuzzAuditText feeds odd Results (seeded with the recorded lab runs)
// through Assess and the text report: no panic, no write error.
func FuzzAuditText(f *testing.F) {
	files, _ := filepath.Glob(auditTestdata + "enum-*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r enum.Result
		if json.Unmarshal(b, &r) != nil {
			return
		}
		rep := audit.Assess(&r, audit.Options{})
		var out bytes.Buffer
		if err := AuditText(&out, rep); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEnumTextColumnsAndFlags: a share name longer than the column does
// not run into the next one, and session flags are spelled one way for
// SMB1 and SMB2.
func TestEnumTextColumnsAndFlags(t *testing.T) {
	one, zero := uint16(1), uint16(0)
	r := &enum.Result{Schema: enum.Schema, Target: "192.0.2.1", Ports: map[string]enum.Outcome{"445": enum.Open},
		Sessions: map[string]*enum.SessionResult{
			"null":  {Result: enum.Allowed, SessionFlags: &zero, Dialect: "SMB 3.1.1"},
			"guest": {Result: enum.Guest, SessionFlags: &one, Dialect: "SMB 1.0"},
		},
		Shares: []enum.Share{
			{Name: "averyverylongsharename", Type: "disk", Anonymous: enum.ShareAnonymous{Connect: enum.OK, List: enum.OK}},
			{Name: "c", Type: "disk", Anonymous: enum.ShareAnonymous{Connect: enum.StatusOutcome(ntstatus.AccessDenied.String()), List: enum.Skipped}},
		},
	}
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.Contains(text, "  averyverylongsharename disk ") || !strings.Contains(text, "  c                      disk ") {
		t.Errorf("share columns:\n%s", text)
	}
	if !strings.Contains(text, "session flags 0x0001 IS_GUEST, SMB 1.0") || strings.Contains(text, "guest,") && !strings.Contains(text, "IS_GUEST") {
		t.Errorf("SMB1 guest flag not spelled IS_GUEST:\n%s", text)
	}
}

// TestAuditUserTextGolden: the recorded anonymous run of the restricted
// posture beside a recorded run as alice (enum --user) prints what alice
// gets that a stranger does not, as reviewed in
// testdata/audit-restricted-alice.golden.
func TestAuditUserTextGolden(t *testing.T) {
	anon := recorded(t, "enum-restricted.json")
	b, err := os.ReadFile(filepath.Join("testdata", "enum-restricted-alice.json"))
	if err != nil {
		t.Fatal(err)
	}
	var user enum.Result
	if err := json.Unmarshal(b, &user); err != nil {
		t.Fatal(err)
	}
	rep := audit.Assess(anon, audit.Options{})
	audit.CompareUser(rep, anon, &user)
	var got bytes.Buffer
	if err := AuditText(&got, rep); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "audit-restricted-alice.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got.String() != string(want) {
		t.Errorf("audit text differs from %s (run with -update after review):\n%s", golden, got.String())
	}
}

// TestAuditTextRefusedPorts: SMB ports that refuse connections are the
// host's answer (exit 0), so the text does not call the audit incomplete.
func TestAuditTextRefusedPorts(t *testing.T) {
	r := &enum.Result{Schema: enum.Schema, Target: "127.0.0.9", Ports: map[string]enum.Outcome{"445": enum.Closed, "139": enum.Closed},
		Layer: enum.LayerReachability, Error: "tcp/445 closed"}
	var b bytes.Buffer
	if err := AuditText(&b, audit.Assess(r, audit.Options{})); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "INCOMPLETE") || !strings.Contains(out, "examination ended at reachability: tcp/445 closed (the host's answer") || !strings.Contains(out, "Findings (0)\n  none\n") {
		t.Errorf("refused ports:\n%s", out)
	}
}
