package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/rap"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// The Results below follow docs/samba.md (what rpcclient/smbclient saw
// on each lab posture) and the shape of real `nullsweep enum --json` runs
// against the lab; the Windows ones follow Microsoft's documented defaults for anonymous callers.

func u16(v uint16) *uint16 { return &v }
func i64(v int64) *int64   { return &v }
func str(s string) *string { return &s }

// fixtureCalls are the calls the fixtures below use, described as enum
// records them; a name missing here fails the test that uses it.
var fixtureCalls = map[string]enum.Check{
	"srvsvc.NetrServerGetInfo":         enum.Call(enum.LayerCall, enum.IfaceSRVSVC, "NetrServerGetInfo", "level 101").Op(srvsvc.OpNetrServerGetInfo),
	"srvsvc.NetrShareEnum":             enum.Call(enum.LayerCall, enum.IfaceSRVSVC, "NetrShareEnum", "").Op(srvsvc.OpNetrShareEnum),
	"samr.Connect5":                    enum.Call(enum.LayerCall, enum.IfaceSAMR, "Connect5", "access 0x30").Op(samr.OpConnect5),
	"samr.EnumerateUsersInDomain":      enum.Call(enum.LayerCall, enum.IfaceSAMR, "EnumerateUsersInDomain", "resume 0").Op(samr.OpEnumerateUsersInDomain),
	"samr.QueryDisplayInformation":     enum.Call(enum.LayerCall, enum.IfaceSAMR, "QueryDisplayInformation", "class 1 index 0").Op(samr.OpQueryDisplayInformation),
	"samr.QueryInformationDomain2(1)":  enum.Call(enum.LayerCall, enum.IfaceSAMR, "QueryInformationDomain2", "class 1").Op(samr.OpQueryInformationDomain2),
	"samr.QueryInformationDomain2(12)": enum.Call(enum.LayerCall, enum.IfaceSAMR, "QueryInformationDomain2", "class 12").Op(samr.OpQueryInformationDomain2),
	"samr.LookupIdsInDomain":           enum.Call(enum.LayerCall, enum.IfaceSAMR, "LookupIdsInDomain", "3 rids").Op(samr.OpLookupIdsInDomain),
	"lsa.OpenPolicy2":                  enum.Call(enum.LayerCall, enum.IfaceLSA, "OpenPolicy2", "access 0x00000800").Op(lsa.OpOpenPolicy2),
	"lsa.LookupSids":                   enum.Call(enum.LayerCall, enum.IfaceLSA, "LookupSids", "51 sids").Op(lsa.OpLookupSids),
	"rap.NetServerEnum2(domains)":      enum.Call(enum.LayerCall, enum.IfaceRAP, "NetServerEnum2", "domains").Op(rap.OpNetServerEnum2),
	"smb.SessionSetup(null)":           enum.Call(enum.LayerSession, enum.IfaceSMB, "SessionSetup", "null"),
	"smb.TreeConnect(IPC$)":            enum.Call(enum.LayerIPC, enum.IfaceSMB, "TreeConnect", "IPC$"),
}

func fixtureCall(name string) enum.Check {
	c, found := fixtureCalls[name]
	if !found {
		panic("no fixture call " + name)
	}
	return c.Named(name)
}

// ok and denied record a call as enum does, with the status the product
// itself names.
func ok(name string) enum.Check { return fixtureCall(name).Done(0, nil) }
func denied(name string, st error) enum.Check {
	return fixtureCall(name).Done(0, st)
}

var (
	success    = ntstatus.Success.String()
	accessDeny = enum.StatusOutcome(ntstatus.AccessDenied.String())
	noPipe     = enum.StatusOutcome(ntstatus.ObjectNameNotFound.String())
)

var allDialects = map[string]bool{"SMB 1.0": true, "SMB 2.0.2": true, "SMB 2.1": true, "SMB 3.0": true, "SMB 3.0.2": true, "SMB 3.1.1": true}

func sambaBase(target, name string) *enum.Result {
	return &enum.Result{
		Schema: enum.Schema, Target: target,
		Ports: map[string]enum.Outcome{"445": enum.Open, "139": enum.Open},
		SMB: &enum.SMBInfo{Dialects: allDialects, Dialect: "SMB 3.1.1", SigningEnabled: true,
			NTLM: &enum.NTLM{NetBIOSComputer: name, NetBIOSDomain: name, DNSComputer: "vm", OSVersion: "6.1.0"}},
		Sessions: map[string]*enum.SessionResult{
			"null":  {Result: enum.Allowed, Status: success, SessionFlags: u16(0), Dialect: "SMB 3.1.1", Form: "ntlmssp-anonymous"},
			"guest": {Result: enum.Guest, Status: success, SessionFlags: u16(1), Dialect: "SMB 3.1.1", Form: "ntlmv2"},
		},
		IPC: &enum.Step{Result: enum.Allowed, Status: success},
		Pipes: map[string]enum.Outcome{"lsarpc": enum.Open, "samr": enum.Open, "srvsvc": enum.Open, "wkssvc": enum.Open, "winreg": enum.Open,
			"netlogon": noPipe, "browser": noPipe, "epmapper": enum.Open},
		ServerInfo:    &enum.ServerInfo{PlatformID: 500, Name: name, VersionMajor: 6, VersionMinor: 1, Type: 0x809a03, Comment: "lab victim"},
		PrimaryDomain: &enum.PrimaryDomain{Name: "LAB", SID: nil},
		Domain:        &enum.Domain{Name: name, SID: "S-1-5-21-1111111111-2222222222-3333333333"},
		Checks: []enum.Check{
			{Name: "tcp/445", Interface: enum.IfaceTCP, Method: "Connect", Arg: "445", Layer: enum.LayerReachability, Result: enum.OK, Status: string(enum.Open)},
			ok("smb.SessionSetup(null)"),
			ok("smb.TreeConnect(IPC$)"),
		},
	}
}

func labOpen() *enum.Result {
	r := sambaBase("127.0.0.2", "OPENSRV")
	r.Checks = append(r.Checks,
		ok("srvsvc.NetrServerGetInfo"), ok("samr.Connect5"), ok("samr.EnumerateUsersInDomain"), ok("samr.QueryDisplayInformation"),
		ok("samr.QueryInformationDomain2(1)"), ok("samr.QueryInformationDomain2(12)"), ok("srvsvc.NetrShareEnum"),
		ok("lsa.OpenPolicy2"), ok("lsa.LookupSids"))
	r.Users = []enum.User{{RID: 1000, Name: "alice"}, {RID: 1001, Name: "bob"}, {RID: 1002, Name: "svc_backup"}}
	r.Groups = []enum.Group{{RID: 1003, Name: "LabAdmins", Kind: "domain"}, {RID: 1004, Name: "LabOps", Kind: "alias"}}
	r.Shares = []enum.Share{
		{Name: "public", Type: "disk", Anonymous: enum.ShareAnonymous{Connect: enum.OK, List: enum.OK, Entries: []string{"readme.txt"}}},
		{Name: "data", Type: "disk", Anonymous: enum.ShareAnonymous{Connect: accessDeny, List: enum.Skipped}},
		{Name: "IPC$", Type: "ipc", Anonymous: enum.ShareAnonymous{Connect: enum.OK, List: enum.Skipped}},
	}
	r.Policy = &enum.Policy{
		Password: &enum.PasswordPolicy{MinLength: 8},
		Lockout:  &enum.LockoutPolicy{Threshold: 5, DurationS: i64(1800), WindowS: i64(1800)},
	}
	r.RIDs = []enum.RID{{RID: 501, Name: "nobody", Type: "user"}, {RID: 1000, Name: "alice", Type: "user"}}
	r.RIDCycling = &enum.RIDCycling{Path: "lsa", Guest: "nobody"}
	r.Browse = &enum.Browse{Domains: []enum.BrowseServer{{Name: "LAB", TypeFlags: 0x80001000}}, Servers: []enum.BrowseServer{}}
	r.Checks = append(r.Checks, ok("rap.NetServerEnum2(domains)"))
	return r
}

func labRestricted1() *enum.Result {
	r := sambaBase("127.0.0.6", "RESTRICT1SRV")
	r.ServerInfo = nil // srvinfo is denied at restrict anonymous = 1
	r.Checks = append(r.Checks,
		denied("srvsvc.NetrServerGetInfo", werror.AccessDenied), ok("samr.Connect5"),
		denied("samr.EnumerateUsersInDomain", ntstatus.AccessDenied), denied("samr.QueryDisplayInformation", ntstatus.AccessDenied),
		denied("samr.QueryInformationDomain2(1)", ntstatus.AccessDenied), denied("srvsvc.NetrShareEnum", werror.AccessDenied),
		ok("lsa.OpenPolicy2"), ok("lsa.LookupSids"))
	r.RIDs = []enum.RID{{RID: 1000, Name: "alice", Type: "user"}, {RID: 1001, Name: "bob", Type: "user"}, {RID: 1002, Name: "svc_backup", Type: "user"}}
	r.RIDCycling = &enum.RIDCycling{Path: "lsa"}
	return r
}

func labRestricted() *enum.Result {
	r := sambaBase("127.0.0.3", "RESTRICTSRV")
	r.IPC = &enum.Step{Result: enum.Denied, Status: string(accessDeny)}
	r.Pipes = map[string]enum.Outcome{"lsarpc": enum.Skipped, "samr": enum.Skipped, "srvsvc": enum.Skipped}
	r.ServerInfo, r.PrimaryDomain, r.Domain = nil, nil, nil
	r.Checks[2] = denied("smb.TreeConnect(IPC$)", ntstatus.AccessDenied)
	return r
}

func labDC() *enum.Result {
	r := sambaBase("127.0.0.10", "DC1")
	r.SMB.Dialects = map[string]bool{"SMB 1.0": false, "SMB 2.0.2": true, "SMB 2.1": true, "SMB 3.0": true, "SMB 3.0.2": true, "SMB 3.1.1": true}
	r.SMB.SigningRequired = true
	r.SMB.NTLM = &enum.NTLM{NetBIOSComputer: "DC1", NetBIOSDomain: "LAB", DNSComputer: "dc1.lab.test", DNSDomain: "lab.test", OSVersion: "6.1.0"}
	r.Sessions["guest"] = &enum.SessionResult{Result: enum.Denied, Status: ntstatus.LogonFailure.String(), Form: "ntlmv2"}
	sid := "S-1-5-21-4444444444-5555555555-6666666666"
	r.PrimaryDomain = &enum.PrimaryDomain{Name: "LAB", SID: str(sid)}
	r.Domain = &enum.Domain{Name: "LAB", SID: sid, DNSDomain: "lab.test"}
	r.ServerInfo.Comment = "Samba 4.17.12-Debian"
	r.Checks = append(r.Checks, ok("samr.EnumerateUsersInDomain"), ok("samr.QueryDisplayInformation"),
		ok("samr.QueryInformationDomain2(12)"), ok("srvsvc.NetrShareEnum"), ok("lsa.OpenPolicy2"),
		denied("lsa.LookupSids", ntstatus.AccessDenied), ok("samr.LookupIdsInDomain"))
	r.Users = []enum.User{{RID: 500, Name: "Administrator"}, {RID: 501, Name: "Guest"}, {RID: 502, Name: "krbtgt"},
		{RID: 1103, Name: "alice"}, {RID: 1104, Name: "bob"}, {RID: 1105, Name: "svc_sql", Description: "pw: Summer2024!"}}
	r.Shares = []enum.Share{{Name: "sysvol", Anonymous: enum.ShareAnonymous{Connect: accessDeny}},
		{Name: "netlogon", Anonymous: enum.ShareAnonymous{Connect: accessDeny}}}
	r.Policy = &enum.Policy{Lockout: &enum.LockoutPolicy{Threshold: 5, DurationS: i64(1800), WindowS: i64(1800)}}
	r.RIDCycling = &enum.RIDCycling{Path: "samr", Denied: []string{"lsa.LookupSids: STATUS_ACCESS_DENIED"}, Administrator: "Administrator"}
	return r
}

func win2019Member() *enum.Result {
	return &enum.Result{
		Schema: enum.Schema, Target: "192.0.2.5",
		Ports: map[string]enum.Outcome{"445": enum.Open, "139": enum.Closed},
		SMB: &enum.SMBInfo{Dialects: map[string]bool{"SMB 1.0": false, "SMB 2.0.2": true, "SMB 3.1.1": true}, Dialect: "SMB 3.1.1", SigningEnabled: true,
			NTLM: &enum.NTLM{NetBIOSComputer: "FS01", NetBIOSDomain: "CORP", DNSDomain: "corp.example", OSVersion: "10.0.17763"}},
		Sessions: map[string]*enum.SessionResult{
			"null":  {Result: enum.Allowed, Status: success, SessionFlags: u16(0x2)},
			"guest": {Result: enum.Denied, Status: ntstatus.LogonFailure.String()},
		},
		IPC:    &enum.Step{Result: enum.Allowed, Status: success},
		Pipes:  map[string]enum.Outcome{"lsarpc": accessDeny, "samr": accessDeny, "srvsvc": accessDeny, "netlogon": accessDeny, "winreg": accessDeny, "spoolss": accessDeny},
		Checks: []enum.Check{ok("smb.SessionSetup(null)")},
	}
}

func win2003DC() *enum.Result {
	sid := "S-1-5-21-7-8-9"
	r := &enum.Result{
		Schema: enum.Schema, Target: "192.0.2.2",
		Ports: map[string]enum.Outcome{"445": enum.Open, "139": enum.Open},
		SMB: &enum.SMBInfo{Dialects: map[string]bool{"SMB 1.0": true, "SMB 2.0.2": false}, Dialect: "SMB 1.0", SigningEnabled: true, SigningRequired: true,
			NativeOS: "Windows Server 2003 3790 Service Pack 2", NativeLanMan: "Windows Server 2003 5.2",
			NTLM: &enum.NTLM{NetBIOSComputer: "DC2003", NetBIOSDomain: "OLD", DNSDomain: "old.example", OSVersion: "5.2.3790"}},
		Sessions: map[string]*enum.SessionResult{"null": {Result: enum.Allowed, Status: success}},
		IPC:      &enum.Step{Result: enum.Allowed, Status: success},
		Pipes:    map[string]enum.Outcome{"lsarpc": enum.Open, "samr": enum.Open, "netlogon": enum.Open, "winreg": enum.Open, "srvsvc": accessDeny},
		ServerInfo: &enum.ServerInfo{PlatformID: 500, Name: "DC2003", VersionMajor: 5, VersionMinor: 2,
			Type: 0x0000100b, Comment: ""},
		PrimaryDomain: &enum.PrimaryDomain{Name: "OLD", SID: str(sid)},
		Domain:        &enum.Domain{Name: "OLD", SID: sid},
		Checks: []enum.Check{ok("samr.EnumerateUsersInDomain"), ok("lsa.OpenPolicy2"), ok("lsa.LookupSids"),
			ok("samr.QueryInformationDomain2(12)")},
		Users:      []enum.User{{RID: 500, Name: "root-admin"}, {RID: 1105, Name: "jane23"}},
		Policy:     &enum.Policy{Lockout: &enum.LockoutPolicy{Threshold: 0}},
		RIDCycling: &enum.RIDCycling{Path: "lsa", Administrator: "root-admin"},
	}
	return r
}

func closedHost() *enum.Result {
	return &enum.Result{Schema: enum.Schema, Target: "127.0.0.99", Layer: enum.LayerReachability, Error: "tcp/445 closed",
		Ports: map[string]enum.Outcome{"445": enum.Closed, "139": enum.Closed}, Checks: []enum.Check{}}
}

type settingWant struct{ state, value string }

func TestAssess(t *testing.T) {
	tests := []struct {
		name     string
		r        *enum.Result
		probes   *Probes
		family   string
		role     string
		settings map[string]settingWant
		findings []string // IDs that must be present
		absent   []string // IDs that must not be
		worst    Severity
	}{
		{
			name: "open", r: labOpen(), family: FamilySamba, role: RoleStandalone,
			settings: map[string]settingWant{
				SambaRestrictAnonymous: {StateObserved, "0"},
				SambaMapToGuest:        {StateConsistent, "Bad User or Bad Password"},
				SambaGuestOK:           {StateObserved, "yes on public"},
				SambaServerMinProtocol: {StateConsistent, "NT1 or lower (LANMAN1, LANMAN2)"},
				SambaServerSigning:     {StateConsistent, "default, auto or disabled"},
				RestrictAnonymous:      {StateNotObservable, ""},
				SMBPorts:               {StateObserved, "445 open, 139 open"},
			},
			findings: []string{"lockout-dos", "users-enumerable", "sid-translation", "shares-enumerable", "share-anonymous share:public",
				"guest-logon", "smb1-enabled", "policy-readable", "groups-enumerable", "null-session-allowed", "smb-ports-open", "signing-not-required", "browse-list"},
			absent: []string{"unlimited-guessing", "rid500-visible", "pipe-winreg pipe:winreg", "share-anonymous share:data"},
			worst:  High,
		},
		{
			name: "restricted1", r: labRestricted1(), family: FamilySamba, role: RoleStandalone,
			settings: map[string]settingWant{
				SambaRestrictAnonymous: {StateObserved, "1"},
				SambaMapToGuest:        {StateConsistent, "Bad User or Bad Password"},
			},
			findings: []string{"users-enumerable", "sid-translation", "guest-logon"},
			absent:   []string{"shares-enumerable", "policy-readable", "lockout-dos", "unlimited-guessing"},
			worst:    Medium,
		},
		{
			name: "restricted", r: labRestricted(), family: FamilySamba, role: RoleStandalone,
			probes: &Probes{Control: &ShareProbe{Name: "NULLSWEEP-X", Connect: enum.StatusOutcome(ntstatus.BadNetworkName.String())},
				Shares: []ShareProbe{{Name: "public", Connect: enum.OK, List: enum.OK, Entries: 1}, {Name: "data", Connect: accessDeny}}},
			settings: map[string]settingWant{
				SambaRestrictAnonymous: {StateObserved, "2"},
				SambaGuestOK:           {StateObserved, "yes on public"},
			},
			findings: []string{"share-anonymous share:public", "guest-logon", "smb1-enabled"},
			absent:   []string{"null-session-allowed", "users-enumerable", "shares-enumerable", "sid-translation"},
			worst:    Medium,
		},
		{
			name: "dc", r: labDC(), family: FamilySamba, role: RoleDC,
			settings: map[string]settingWant{
				SambaRestrictAnonymous: {StateObserved, "0"},
				PreWindows2000:         {StateNotObservable, ""},
				SambaServerMinProtocol: {StateObserved, "SMB2_02"},
				SambaServerSigning:     {StateConsistent, "mandatory, or default (mandatory on an AD DC)"},
				SambaMapToGuest:        {StateConsistent, "Never, or Bad User/Bad Password with the AD Guest account disabled"},
				SambaGuestOK:           {StateConsistent, "no on the shares tried (sysvol, netlogon)"},
			},
			findings: []string{"lockout-dos", "password-in-description user:svc_sql", "rid500-visible", "users-enumerable"},
			absent:   []string{"sid-translation", "smb1-enabled", "guest-logon", "signing-not-required", "pipe-winreg pipe:winreg"},
			worst:    High,
		},
		{
			name: "windows 2019 member", r: win2019Member(), family: Family2016, role: RoleUnknown,
			settings: map[string]settingWant{
				NullSessionPipes:         {StateConsistent, "empty (for the pipes tried)"},
				RestrictNullSessAccess:   {StateConsistent, "1"},
				RestrictAnonymousSAM:     {StateNotObservable, ""},
				LSAAnonymousNameLookup:   {StateNotObservable, ""},
				EnableGuestAccount:       {StateConsistent, "0"},
				SMB1:                     {StateObserved, "0"},
				RequireSecuritySignature: {StateObserved, "0"},
			},
			findings: []string{"null-session-allowed", "smb-ports-open", "signing-not-required"},
			absent:   []string{"users-enumerable", "smb1-enabled", "guest-logon"},
			worst:    Low,
		},
		{
			name: "windows 2003 dc", r: win2003DC(), family: FamilyXP2003, role: RoleDC,
			settings: map[string]settingWant{
				PreWindows2000:         {StateObserved, "contains ANONYMOUS LOGON (or Everyone with EveryoneIncludesAnonymous=1)"},
				LSAAnonymousNameLookup: {StateObserved, "1"},
				RestrictAnonymous:      {StateNotObservable, ""},
				RestrictNullSessAccess: {StateConsistent, "1"},
				NullSessionPipes:       {StateConsistent, "contains lsarpc, netlogon, samr, winreg; not srvsvc"},
				SMB1:                   {StateObserved, "1"},
			},
			findings: []string{"unlimited-guessing", "rid500-visible", "pipe-winreg pipe:winreg", "sid-translation", "smb1-enabled"},
			absent:   []string{"lockout-dos", "signing-not-required"},
			worst:    Critical,
		},
		{
			name: "ports closed", r: closedHost(), family: FamilyUnknown, role: RoleUnknown,
			settings: map[string]settingWant{SMBPorts: {StateObserved, "445 closed, 139 closed"}},
			absent:   []string{"smb-ports-open", "null-session-allowed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Assess(tt.r, Options{Probes: tt.probes})
			if rep.Host.Family != tt.family || rep.Host.Role != tt.role {
				t.Errorf("host %s/%s, want %s/%s (%v %v)", rep.Host.Family, rep.Host.Role, tt.family, tt.role, rep.Host.FamilyEvidence, rep.Host.RoleEvidence)
			}
			got := map[string]SettingState{}
			for _, s := range rep.Settings {
				got[s.Name] = s
				if len(s.Evidence) == 0 {
					t.Errorf("setting %s (%s) has no evidence", s.Name, s.State)
				}
				switch s.State {
				case StateObserved, StateConsistent, StateNotObservable:
				default:
					t.Errorf("setting %s has state %q", s.Name, s.State)
				}
			}
			for name, want := range tt.settings {
				s, ok := got[name]
				if !ok {
					t.Errorf("setting %s missing", name)
					continue
				}
				if s.State != want.state || (want.value != "" && s.Value != want.value) {
					t.Errorf("%s = %s %q, want %s %q (evidence %v)", name, s.State, s.Value, want.state, want.value, s.Evidence)
				}
			}
			ids := map[string]Finding{}
			for _, f := range rep.Findings {
				ids[findingName(f)] = f
				if len(f.Evidence) == 0 || f.Why == "" || f.Title == "" {
					t.Errorf("finding %s incomplete: %+v", f.ID, f)
				}
				if f.Fix == (Fix{}) {
					t.Errorf("finding %s has no fix", f.ID)
				}
				if _, ok := Lookup(f.Setting); !ok {
					t.Errorf("finding %s names setting %q, not in the table", f.ID, f.Setting)
				}
				// Samba hosts get smb.conf advice only; Windows hosts no smb.conf.
				if rep.Host.Samba() && (f.Fix.GPO != "" || f.Fix.Registry != "" || f.Fix.SmbConf == "") {
					t.Errorf("Samba finding %s fix %+v", f.ID, f.Fix)
				}
				if rep.Host.Windows() && (f.Fix.SmbConf != "" || f.Fix.GPO == "") {
					t.Errorf("Windows finding %s fix %+v", f.ID, f.Fix)
				}
			}
			for _, id := range tt.findings {
				if _, ok := ids[id]; !ok {
					t.Errorf("finding %s missing; have %v", id, keys(ids))
				}
			}
			for _, id := range tt.absent {
				if _, ok := ids[id]; ok {
					t.Errorf("finding %s present: %+v", id, ids[id])
				}
			}
			if w, _ := rep.Worst(); w != tt.worst {
				t.Errorf("worst %s, want %s", w, tt.worst)
			}
			for i := 1; i < len(rep.Findings); i++ {
				if rep.Findings[i].Severity > rep.Findings[i-1].Severity {
					t.Errorf("findings not worst first at %d", i)
				}
			}
			// The JSON contract: findings[] and settings[] with these keys.
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if _, ok := m["findings"].([]any); !ok {
				t.Errorf("JSON findings not an array: %s", b)
			}
			if _, ok := m["settings"].([]any); !ok {
				t.Errorf("JSON settings not an array")
			}
		})
	}
}

// findingName is the ID, and the key where the finding has one.
func findingName(f Finding) string {
	if f.Key != "" {
		return string(f.ID) + " " + f.Key
	}
	return string(f.ID)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAssessSeedPoints(t *testing.T) {
	// Minasi 2003's two sharpest cases, told apart by the lockout threshold.
	r := labOpen()
	r.Policy.Lockout.Threshold = 0
	rep := Assess(r, Options{})
	var f *Finding
	for i := range rep.Findings {
		if rep.Findings[i].ID == FindUnlimitedGuessing {
			f = &rep.Findings[i]
		}
	}
	if f == nil || f.Severity != Critical {
		t.Fatalf("no critical unlimited-guessing finding: %+v", rep.Findings)
	}
	if !strings.Contains(strings.Join(f.Evidence, "\n"), "threshold 0") {
		t.Errorf("evidence lacks the threshold: %v", f.Evidence)
	}
	// A renamed Administrator is named as such.
	rep = Assess(win2003DC(), Options{})
	for _, f := range rep.Findings {
		if f.ID == FindRID500Visible && !strings.Contains(f.Title, "Renamed Administrator unmasked: RID 500 is root-admin") {
			t.Errorf("rid500 title %q", f.Title)
		}
		if f.ID == FindRID500Visible && f.Setting != LSAAnonymousNameLookup {
			t.Errorf("rid500 via LSA names %s", f.Setting)
		}
	}
}

func TestAssessDrift(t *testing.T) {
	// The restricted1 observation against the open posture's smb.conf.
	p := Predict(readTestConfig(t, "lab-open.smb.conf"))
	rep := Assess(labRestricted1(), Options{Expect: p})
	want := map[string]bool{ExpUsers: true, ExpShares: true, ExpPolicy: true}
	for _, d := range rep.Drifts {
		if !want[d.Exposure] {
			t.Errorf("unexpected drift %+v", d)
		}
		delete(want, d.Exposure)
	}
	if len(want) > 0 {
		t.Errorf("missing drifts %v (have %+v)", want, rep.Drifts)
	}
	n := 0
	for _, f := range rep.Findings {
		if f.ID == FindDrift {
			n++
			// The file already sets the value: a drift recommends no fix.
			if f.Setting != SambaRestrictAnonymous || f.Fix != (Fix{}) {
				t.Errorf("drift finding %+v", f)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d drift findings, want 3", n)
	}
	// A Windows template against a Samba host is flagged as such.
	rep = Assess(labRestricted1(), Options{Expect: Predict(readTestConfig(t, "secedit-member-hardened.inf"))})
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "describe a windows host but the target is samba") {
		t.Errorf("notes %v", rep.Notes)
	}
	// Its own smb.conf gives no drift.
	rep = Assess(labRestricted1(), Options{Expect: Predict(readTestConfig(t, "lab-restricted1.smb.conf"))})
	if len(rep.Drifts) != 0 || rep.Compared == 0 {
		t.Errorf("drifts %+v, compared %d", rep.Drifts, rep.Compared)
	}
}

func TestSeverity(t *testing.T) {
	for _, s := range []Severity{Info, Low, Medium, High, Critical} {
		got, err := ParseSeverity(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("%s → %v %v", s, got, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestSettingsTable(t *testing.T) {
	want := []string{RestrictAnonymous, RestrictAnonymousSAM, EveryoneIncludesAnonymous, NullSessionPipes, NullSessionShares,
		RestrictNullSessAccess, LSAAnonymousNameLookup, RestrictRemoteSAM, PreWindows2000, EnableGuestAccount, SMB1,
		RequireSecuritySignature, SMBPorts, DSHeuristics, RestrictRemoteClients, EnableAuthEpResolution, RPCPorts, LDAPPorts,
		SambaRestrictAnonymous, SambaMapToGuest, SambaGuestOK, SambaServerMinProtocol, SambaServerSigning,
		SambaDCERPCEndpointServers, SambaRPCPortRange}
	for _, n := range want {
		s, ok := Lookup(n)
		if !ok {
			t.Errorf("row %s missing", n)
			continue
		}
		if s.Title == "" || len(s.Values) == 0 || len(s.Defaults) == 0 || s.Recommended == "" || s.Observe == "" || len(s.MayBreak) == 0 || len(s.References) == 0 {
			t.Errorf("row %s incomplete", n)
		}
		if s.Platform == "windows" && (s.GPO == "" || s.Template == "" || s.Registry == "") {
			t.Errorf("Windows row %s lacks GPO/template/registry", n)
		}
		if s.Platform == "samba" && s.SmbConf == "" {
			t.Errorf("Samba row %s lacks smb.conf", n)
		}
		if _, ok := inferers[n]; !ok {
			t.Errorf("row %s has no inference", n)
		}
		if s.Equivalent != "" {
			if _, ok := Lookup(s.Equivalent); !ok {
				t.Errorf("row %s: equivalent %q not in table", n, s.Equivalent)
			}
		}
	}
	if len(Settings) != len(want) {
		t.Errorf("%d rows, want %d", len(Settings), len(want))
	}
}
