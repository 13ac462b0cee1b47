package enum

import (
	"context"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// liveRun enumerates a lab victim with a generous bound: CI boxes are slow
// and several test packages share the lab.
func liveRun(t *testing.T, addr string, opt Options) *Result {
	t.Helper()
	if opt.Timeout == 0 {
		opt.Timeout = 90 * time.Second
	}
	r := Run(context.Background(), addr, opt)
	if r.Error != "" {
		t.Logf("%s stopped at %s: %s", addr, r.Layer, r.Error)
	}
	return r
}

// rpcclient runs Samba's own client anonymously: the oracle.
func rpcclient(t *testing.T, addr string, smb1 bool, cmds string) string {
	t.Helper()
	args := []string{"-U", "", "-N", addr, "-c", cmds}
	if smb1 {
		args = append([]string{"-m", "NT1", "--option=client min protocol=NT1"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rpcclient", args...).CombinedOutput()
	if err != nil {
		// rpcclient exits 1 on a denied command; the output still says why.
		t.Logf("rpcclient %s: %v", cmds, err)
	}
	return string(out)
}

func checkStatus(r *Result, name string) (result Outcome, status string) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.Result, c.Status
		}
	}
	return "", ""
}

// What a null session sees, per posture (docs/samba.md).
func TestLiveLayers(t *testing.T) {
	addrs := labtest.Require(t, "open", "restricted", "smb2only", "dc")
	t.Run("open", func(t *testing.T) {
		r := liveRun(t, addrs["open"], Options{Checks: CheckNetBIOS | CheckPipes | CheckDialects})
		if r.Ports["445"] != Open || r.Ports["139"] != Open {
			t.Errorf("ports %v", r.Ports)
		}
		for d, want := range map[string]bool{"SMB 1.0": true, "SMB 2.0.2": true, "SMB 3.1.1": true} {
			if r.SMB.Dialects[d] != want {
				t.Errorf("dialect %s = %v, want %v", d, r.SMB.Dialects[d], want)
			}
		}
		if n := r.Sessions["null"]; n == nil || n.Result != Allowed || n.SessionFlags == nil || *n.SessionFlags != 0 {
			t.Errorf("null session = %+v, want allowed with Samba's flags 0", n)
		}
		if g := r.Sessions["guest"]; g == nil || g.Result != Guest || g.SessionFlags == nil || *g.SessionFlags&1 == 0 {
			t.Errorf("guest probe = %+v, want guest with IS_GUEST", g)
		}
		if r.IPC == nil || r.IPC.Result != Allowed {
			t.Errorf("ipc = %+v", r.IPC)
		}
		for _, p := range []string{"lsarpc", "samr", "srvsvc"} {
			if r.Pipes[p] != "open" {
				t.Errorf("pipe %s = %q, want open", p, r.Pipes[p])
			}
		}
		if r.Pipes["netlogon"] != StatusOutcome(ntstatus.ObjectNameNotFound.String()) {
			t.Errorf("netlogon on a standalone Samba = %q, want STATUS_OBJECT_NAME_NOT_FOUND", r.Pipes["netlogon"])
		}
		if r.SMB.NTLM == nil || r.SMB.NTLM.NetBIOSComputer != "OPENSRV" {
			t.Errorf("ntlm = %+v", r.SMB.NTLM)
		}
	})
	t.Run("restricted", func(t *testing.T) {
		r := liveRun(t, addrs["restricted"], Options{})
		if r.IPC == nil || r.IPC.Result != Denied || r.IPC.Status != ntstatus.AccessDenied.String() {
			t.Errorf("ipc = %+v, want denied STATUS_ACCESS_DENIED", r.IPC)
		}
		for p, st := range r.Pipes {
			if st != "skipped" {
				t.Errorf("pipe %s = %q after a denied IPC$", p, st)
			}
		}
		if r.Users != nil || r.Groups != nil || r.Policy != nil || r.Domain != nil {
			t.Errorf("data reported without IPC$: users %v groups %v policy %v domain %v", r.Users, r.Groups, r.Policy, r.Domain)
		}
	})
	t.Run("smb2only", func(t *testing.T) {
		r := liveRun(t, addrs["smb2only"], Options{Checks: CheckMachines | CheckDialects})
		if r.SMB.Dialects["SMB 1.0"] {
			t.Error("SMB 1.0 reported on smb2only")
		}
		if r.Browse == nil || r.Browse.Unavailable != "browse list unavailable: SMB1 disabled on target" {
			t.Errorf("browse = %+v, want unavailable: SMB1 disabled", r.Browse)
		}
	})
	t.Run("dc", func(t *testing.T) {
		r := liveRun(t, addrs["dc"], Options{Checks: CheckLSA})
		n := r.SMB.NTLM
		if n == nil || n.NetBIOSComputer != "DC1" || n.NetBIOSDomain != "LAB" || n.DNSDomain != "lab.test" {
			t.Errorf("ntlm = %+v, want DC1 / LAB / lab.test", n)
		}
		if !r.SMB.SigningRequired {
			t.Error("the DC requires signing; reported not required")
		}
		if s := r.Sessions["null"]; s == nil || s.Result != Allowed {
			t.Errorf("null session on dc = %+v", s)
		}
		if g := r.Sessions["guest"]; g == nil || g.Result != Denied || g.Status != ntstatus.LogonFailure.String() {
			t.Errorf("guest probe on dc (guest disabled) = %+v", g)
		}
		if r.Domain == nil || r.Domain.Name != "LAB" || r.Domain.DNSDomain != "lab.test" || r.Domain.Role != "domain controller" {
			t.Errorf("domain = %+v", r.Domain)
		}
	})
}

var (
	reUser  = regexp.MustCompile(`user:\[([^\]]+)\] rid:\[0x([0-9a-f]+)\]`)
	reGroup = regexp.MustCompile(`group:\[([^\]]+)\] rid:\[0x([0-9a-f]+)\]`)
	reShare = regexp.MustCompile(`(?m)^netname: (.+)$`)
	reSID   = regexp.MustCompile(`Domain Sid: (S-[0-9-]+)`)
	reName  = regexp.MustCompile(`Domain Name: (\S+)`)
)

func ridNames(re *regexp.Regexp, out string) map[uint32]string {
	m := map[uint32]string{}
	for _, x := range re.FindAllStringSubmatch(out, -1) {
		rid, _ := strconv.ParseUint(x[2], 16, 32)
		m[uint32(rid)] = x[1]
	}
	return m
}

// Issue 3 and 4: users, groups, shares and the account domain equal what
// Samba's rpcclient reports for the same victim, over SMB2 and over SMB1.
func TestLiveAgreesWithRpcclient(t *testing.T) {
	addrs := labtest.Require(t, "open", "bulk", "dc", "smb1only")
	for _, tc := range []struct {
		posture string
		smb1    bool
	}{{"open", false}, {"bulk", false}, {"dc", false}, {"smb1only", true}, {"open", true}} {
		name := tc.posture
		if tc.smb1 {
			name += "/smb1"
		}
		t.Run(name, func(t *testing.T) {
			addr := addrs[tc.posture]
			r := liveRun(t, addr, Options{SMB1: tc.smb1, NoGuest: true,
				Checks: CheckUsers | CheckGroups | CheckShares | CheckLSA | CheckPolicy})
			if tc.smb1 && r.SMB.Dialect != "SMB 1.0" {
				t.Fatalf("dialect %q, want SMB 1.0", r.SMB.Dialect)
			}
			oracle := rpcclient(t, addr, tc.smb1, "enumdomusers; enumdomgroups; netshareenumall; lsaquery 5")

			wantUsers := ridNames(reUser, oracle)
			gotUsers := map[uint32]string{}
			for _, u := range r.Users {
				gotUsers[u.RID] = u.Name
			}
			if len(wantUsers) == 0 || !mapsEqual(gotUsers, wantUsers) {
				t.Errorf("users differ from rpcclient enumdomusers: got %d %v, want %d", len(gotUsers), sample(gotUsers), len(wantUsers))
			}
			wantGroups := ridNames(reGroup, oracle)
			gotGroups := map[uint32]string{}
			for _, g := range r.Groups {
				if g.Kind == "domain" {
					gotGroups[g.RID] = g.Name
				}
			}
			if !mapsEqual(gotGroups, wantGroups) {
				t.Errorf("domain groups %v, rpcclient enumdomgroups %v", gotGroups, wantGroups)
			}
			var wantShares, gotShares []string
			for _, x := range reShare.FindAllStringSubmatch(oracle, -1) {
				wantShares = append(wantShares, strings.TrimSpace(x[1]))
			}
			for _, s := range r.Shares {
				gotShares = append(gotShares, s.Name)
			}
			sort.Strings(wantShares)
			sort.Strings(gotShares)
			if len(wantShares) == 0 || !slices.Equal(gotShares, wantShares) {
				t.Errorf("shares %v, rpcclient netshareenumall %v", gotShares, wantShares)
			}
			sid := reSID.FindStringSubmatch(oracle)
			dom := reName.FindStringSubmatch(oracle)
			if r.Domain == nil || sid == nil || dom == nil || r.Domain.SID != sid[1] || r.Domain.Name != dom[1] {
				t.Errorf("account domain %+v, rpcclient lsaquery 5: %v %v", r.Domain, dom, sid)
			}
		})
	}
}

// LabAdmins holds alice on every standalone posture and on the DC.
func TestLiveGroupMembers(t *testing.T) {
	addrs := labtest.Require(t, "open", "dc")
	for _, p := range []string{"open", "dc"} {
		r := liveRun(t, addrs[p], Options{NoGuest: true, Checks: CheckGroups})
		found := false
		for _, g := range r.Groups {
			if g.Name == "LabAdmins" {
				found = true
				if !slices.Contains(g.Members, "alice") {
					t.Errorf("%s: LabAdmins members %v, want alice", p, g.Members)
				}
			}
		}
		if !found {
			t.Errorf("%s: no LabAdmins in %d groups", p, len(r.Groups))
		}
	}
}

// Times are decoded exactly (docs/samba.md, policy times): raw values kept, and the
// seconds are what the settings really are.
func TestLivePolicyTimes(t *testing.T) {
	addrs := labtest.Require(t, "open", "dc")
	sec := func(p *int64) string {
		if p == nil {
			return "null"
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, tc := range []struct {
		posture                             string
		maxAge, minAge, dur, window, logoff string
		threshold                           uint16
		rawMaxAge                           string
	}{
		{"open", "null", "null", "1800", "1800", "null", 5, "0xff6769800098967f"},
		{"dc", "3628800", "86400", "1800", "1800", "null", 5, "0xffffdeff0aa68000"},
	} {
		r := liveRun(t, addrs[tc.posture], Options{NoGuest: true, Checks: CheckPolicy})
		p := r.Policy
		if p == nil || p.Password == nil || p.Lockout == nil || p.Logoff == nil {
			t.Errorf("%s: policy %+v", tc.posture, p)
			continue
		}
		got := []string{sec(p.Password.MaxAgeS), sec(p.Password.MinAgeS), sec(p.Lockout.DurationS), sec(p.Lockout.WindowS), sec(p.Logoff.ForceLogoffS)}
		want := []string{tc.maxAge, tc.minAge, tc.dur, tc.window, tc.logoff}
		if !slices.Equal(got, want) {
			t.Errorf("%s: max/min age, lockout duration/window, force logoff = %v, want %v", tc.posture, got, want)
		}
		if p.Lockout.Threshold != tc.threshold {
			t.Errorf("%s: threshold %d", tc.posture, p.Lockout.Threshold)
		}
		if p.Raw["max_password_age"] != tc.rawMaxAge {
			t.Errorf("%s: raw max age %s, want %s", tc.posture, p.Raw["max_password_age"], tc.rawMaxAge)
		}
	}
}

// restricted1 (restrict anonymous = 1): every denied call is reported with
// its real status and nothing is invented.
func TestLiveRestricted1Denials(t *testing.T) {
	addrs := labtest.Require(t, "restricted1")
	r := liveRun(t, addrs["restricted1"], Options{NoGuest: true, Checks: CheckUsers | CheckShares | CheckGroups | CheckPolicy | CheckLSA})
	if r.Users != nil || r.Shares != nil || r.Groups != nil || r.Policy != nil {
		t.Errorf("data without a successful call: users %v shares %v groups %v policy %v", r.Users, r.Shares, r.Groups, r.Policy)
	}
	if res, st := checkStatus(r, "srvsvc.NetrShareEnum"); res != Denied || st != werror.AccessDenied.String() {
		t.Errorf("share enum %s %s, want denied ERROR_ACCESS_DENIED (rpcclient: WERR_ACCESS_DENIED)", res, st)
	}
	var samrDenied bool
	for _, c := range r.Checks {
		if c.Interface == IfaceSAMR && c.Result == Denied && c.Status == ntstatus.AccessDenied.String() {
			samrDenied = true
		}
	}
	if !samrDenied {
		t.Error("no SAMR call reported denied with STATUS_ACCESS_DENIED")
	}
	// LSA still answers there (docs/samba.md).
	if r.Domain == nil || r.Domain.Name != "RESTRICT1SRV" {
		t.Errorf("account domain %+v, want RESTRICT1SRV from LSA", r.Domain)
	}
}

// Over TCP 139 (NetBIOS session first) a full enum succeeds on open.
func TestLivePort139(t *testing.T) {
	addrs := labtest.Require(t, "open")
	r := liveRun(t, addrs["open"], Options{Port: 139, NoGuest: true})
	if r.Error != "" || r.IPC == nil || r.IPC.Result != Allowed || len(r.Users) != 3 || len(r.Shares) != 4 {
		t.Errorf("over 139: error %q ipc %+v users %d shares %d", r.Error, r.IPC, len(r.Users), len(r.Shares))
	}
}

// On open over SMB1 the domain list holds LAB with master browser OPENSRV
// (nmbd wins the election 30-60 s after start: wait for it), and the
// no-domain server list equals smbclient's Server section.
func TestLiveBrowseList(t *testing.T) {
	addrs := labtest.Require(t, "open")
	deadline := time.Now().Add(120 * time.Second)
	var r *Result
	for {
		r = liveRun(t, addrs["open"], Options{NoGuest: true, Checks: CheckMachines})
		if r.Browse != nil && len(r.Browse.Domains) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	b := r.Browse
	if b == nil || len(b.Domains) != 1 || b.Domains[0].Name != "LAB" || b.Domains[0].Comment != "OPENSRV" {
		t.Fatalf("browse %+v, want domain LAB with master OPENSRV", b)
	}
	out, _ := exec.Command("smbclient", "-U", "%", "-L", "//"+addrs["open"], "-m", "NT1", "--option=client min protocol=NT1").CombinedOutput()
	var want []string
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 1 && (f[0] == "Server" || f[0] == "Workgroup") && len(f) == 2:
			section = f[0]
		case len(f) >= 1 && strings.HasPrefix(f[0], "---"):
		case section == "Server" && len(f) >= 1:
			want = append(want, f[0])
		}
	}
	var got []string
	for _, s := range b.Servers {
		if s.Domain == "" {
			got = append(got, s.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("servers (no domain asked) %v, smbclient Server section %v", got, want)
	}
}

func mapsEqual(a, b map[uint32]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sample(m map[uint32]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, strconv.Itoa(int(k))+"="+v)
		if len(out) == 5 {
			break
		}
	}
	return out
}
