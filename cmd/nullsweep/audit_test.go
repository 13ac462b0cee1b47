package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

const testdata = "../../internal/audit/testdata/"

type policyJSON struct {
	Platform string `json:"platform"`
	Role     string `json:"role"`
	Settings []struct {
		Name, State, Value string
		Evidence           []string
	} `json:"settings"`
	Exposure []struct{ Name, Value string } `json:"exposure"`
}

func TestPolicyCommand(t *testing.T) {
	tests := []struct {
		files            []string
		setting, value   string
		exposure, expVal string
	}{
		{[]string{"secedit-member-hardened.inf"}, "RestrictAnonymousSAM", "1", "users", "no"},
		{[]string{"member-open.reg"}, "NullSessionPipes", "LSARPC, NETLOGON, SAMR, winreg", "users", "yes"},
		{[]string{"lab-open.smb.conf"}, "restrict anonymous", "0", "users", "yes"},
		{[]string{"lab-open.smb.conf", "lab-restricted.smb.conf"}, "restrict anonymous", "2", "ipc", "no"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.files, "+"), func(t *testing.T) {
			var args []string
			for _, f := range tt.files {
				args = append(args, testdata+f)
			}
			out, errOut, code := nullsweep(t, append([]string{"policy", "--json"}, args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var p policyJSON
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			found := false
			for _, s := range p.Settings {
				if s.Name == tt.setting {
					found = true
					if s.State != "configured" || s.Value != tt.value || len(s.Evidence) == 0 {
						t.Errorf("%s = %+v", s.Name, s)
					}
				}
			}
			if !found {
				t.Errorf("setting %s missing", tt.setting)
			}
			for _, e := range p.Exposure {
				if e.Name == tt.exposure && e.Value != tt.expVal {
					t.Errorf("exposure %s = %s, want %s", e.Name, e.Value, tt.expVal)
				}
			}
			// The text form says the same.
			text, _, code := nullsweep(t, append([]string{"policy"}, args...)...)
			if code != 0 || !strings.Contains(text, tt.setting) || !strings.Contains(text, "What a null session should get") {
				t.Errorf("text (exit %d):\n%s", code, text)
			}
		})
	}
}

func TestAuditUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"policy", testdata + "does-not-exist.inf"},
		{"audit", "--fail-on", "severe", "127.0.0.2"},
		{"audit", "--port", "8", "127.0.0.2"},
		{"audit", "--expect", testdata + "does-not-exist.conf", "127.0.0.2"},
		{"audit"},
	} {
		if _, errOut, code := nullsweep(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
}

type auditJSON struct {
	Schema   string `json:"schema"`
	Host     struct{ Family, Role string }
	Findings []struct {
		ID, Key, Severity, Setting string
		Evidence                   []string
		Fix                        map[string]string
		MayBreak                   []string `json:"may_break"`
	} `json:"findings"`
	Settings []struct{ Name, State, Value string } `json:"settings"`
	Drifts   []struct{ Exposure, Expected, Observed string }
}

func TestAuditCommandLive(t *testing.T) {
	if testing.Short() {
		t.Skip("live lab test")
	}
	addrs := labtest.Require(t, "open", "restricted", "smb2only")

	// open: findings at the default threshold → exit 1; JSON contract.
	out, errOut, code := nullsweep(t, "audit", "--timeout", "60s", "--json", "--shares", "public,data", addrs["open"])
	if code != 1 {
		t.Fatalf("open: exit %d, want 1: %s", code, errOut)
	}
	var rep auditJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.Schema != "nullsweep-audit/1" || rep.Host.Family != "samba" {
		t.Errorf("schema %q host %+v", rep.Schema, rep.Host)
	}
	ids := map[string]bool{}
	for _, f := range rep.Findings {
		ids[strings.TrimSpace(f.ID+" "+f.Key)] = true
		if f.Fix["smb_conf"] == "" || len(f.Evidence) == 0 || f.MayBreak == nil {
			t.Errorf("finding %+v", f)
		}
	}
	for _, id := range []string{"smb1-enabled", "share-anonymous share:public", "null-session-allowed"} {
		if !ids[id] {
			t.Errorf("open: finding %s missing (have %v)", id, ids)
		}
	}
	states := map[string]string{}
	for _, s := range rep.Settings {
		states[s.Name] = s.State + " " + s.Value
	}
	if states["guest ok"] != "observed yes on public" {
		t.Errorf("guest ok: %q", states["guest ok"])
	}

	// --expect: open against restricted's smb.conf drifts on IPC$.
	out, _, code = nullsweep(t, "audit", "--timeout", "60s", "--json", "--fail-on", "medium", "--expect", testdata+"lab-restricted.smb.conf", addrs["open"])
	if code != 1 {
		t.Errorf("drift at --fail-on medium: exit %d", code)
	}
	rep = auditJSON{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range rep.Drifts {
		if d.Exposure == "ipc" && d.Expected == "no" && d.Observed == "yes" {
			found = true
		}
	}
	if !found {
		t.Errorf("no IPC$ drift: %+v", rep.Drifts)
	}

	// Text report for several hosts. --fail-on critical: the lab's lockout
	// threshold is 5, so nothing there is critical → exit 0.
	text, errOut, code := nullsweep(t, "audit", "--timeout", "60s", "--fail-on", "critical", "--shares", "public,nosuchshare", addrs["restricted"], addrs["smb2only"])
	if code != 0 {
		t.Errorf("--fail-on critical: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"nullsweep audit " + addrs["restricted"], "nullsweep audit " + addrs["smb2only"],
		"restrict anonymous               observed: 2", "Share public is readable anonymously", "test it again",
		"share nosuchshare for anonymous callers:", "TREE_CONNECT nosuchshare: STATUS_BAD_NETWORK_NAME (no such share)"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
