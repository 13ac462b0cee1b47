package audit

import (
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/rap"
)

// Severity orders findings; --fail-on compares against it.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, s) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("audit: unknown severity %q (want info, low, medium, high or critical)", s)
}

// MarshalText writes the name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err == nil {
		*s = v
	}
	return err
}

// Finding is one exposure with what allows it and how to close it.
type Finding struct {
	ID FindingID `json:"id"`
	// Key says what the finding is about where one ID occurs more than
	// once on a host: ShareKey, PipeKey, "user:NAME", or the drifting
	// exposure's key.
	Key      string   `json:"key,omitempty"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Why says why it matters, in Minasi 2003's terms (Mark Minasi, Windows Networking
	// Tech Page #37, December 2003).
	Why      string   `json:"why"`
	Evidence []string `json:"evidence"`
	Setting  string   `json:"setting,omitempty"`
	Fix      Fix      `json:"fix"`
	MayBreak []string `json:"may_break"`
}

// Fix is the change that closes a finding, in each form it can be applied.
type Fix struct {
	GPO      string `json:"gpo,omitempty"`
	Registry string `json:"registry,omitempty"`
	Template string `json:"template,omitempty"`
	SmbConf  string `json:"smb_conf,omitempty"`
}

// settingFor picks the row that governs an effect on this host: the
// Windows row, or its Samba equivalent on Samba (the Samba row for a
// Samba-only effect).
func (v *view) settingFor(windows, samba string) string {
	if v.host.Samba() && samba != "" {
		return samba
	}
	if windows == "" {
		return samba
	}
	return windows
}

// newFinding fills the fix and may-break list from the settings table.
func (v *view) newFinding(id FindingID, sev Severity, setting, title, why string, evidence ...string) Finding {
	f := Finding{ID: id, Key: v.key, Severity: sev, Title: title, Why: why, Evidence: evidence, Setting: setting, MayBreak: []string{}}
	if f.Evidence == nil {
		f.Evidence = []string{}
	}
	row, ok := Lookup(setting)
	if !ok {
		return f
	}
	f.MayBreak = append(f.MayBreak, row.MayBreak...)
	if row.Platform != "samba" && !v.host.Samba() {
		f.Fix.GPO, f.Fix.Registry, f.Fix.Template = row.GPO, row.Reg, row.Template
	}
	switch {
	case row.Platform == "samba" || row.Platform == "any":
		f.Fix.SmbConf = row.SmbConf
	case !v.host.Windows():
		// Unidentified platform: give the Samba line too.
		if eq, ok := Lookup(row.Equivalent); ok {
			f.Fix.SmbConf = eq.SmbConf
		} else {
			f.Fix.SmbConf = row.SmbConf
		}
	}
	if row.Platform == "any" && v.host.Windows() {
		f.Fix.SmbConf = ""
	}
	return f
}

// keyed returns a view whose next finding carries key.
func (v *view) keyed(key string) *view {
	k := *v
	k.key = key
	return &k
}

// usersSetting is the row that governs anonymous user enumeration here.
func (v *view) usersSetting() string {
	switch {
	case v.host.Samba():
		return SambaRestrictAnonymous
	case v.host.Role == RoleDC:
		return PreWindows2000
	case v.host.Family == Family2000 || v.host.Family == FamilyNT4:
		return RestrictAnonymous
	}
	return RestrictAnonymousSAM
}

func (v *view) findings() []Finding {
	r := v.r
	var out []Finding
	add := func(f Finding) { out = append(out, f) }
	nullOK := v.get(ExpNullSession).Value == Yes

	// Reachability: Minasi 2003's "absolute null killer".
	if st := v.r.Ports; st["445"] == enum.Open || st["139"] == enum.Open {
		sev := Info
		if nullOK {
			sev = Low
		}
		var open []string
		for _, p := range []string{"445", "139"} {
			if st[p] == enum.Open {
				open = append(open, "tcp/"+p)
			}
		}
		add(v.newFinding(FindSMBPortsOpen, sev, SMBPorts, "SMB reachable on "+strings.Join(open, " and "),
			"Null sessions cannot happen without TCP 139/445; blocking them at the firewall is the only control that removes the whole class.",
			"tcp/445: "+orDash(st["445"]), "tcp/139: "+orDash(st["139"])))
	}
	if nullOK && v.get(ExpIPC).Value == Yes {
		sess := v.get(ExpNullSession)
		add(v.newFinding(FindNullSession, Low, v.settingFor(SMBPorts, SambaRestrictAnonymous), "Null session accepted and IPC$ open to anonymous callers",
			"Anyone can log on with an empty user name and password and reach the RPC pipes; every exposure below rides on this logon.",
			append(sess.Because, v.get(ExpIPC).Because...)...))
	}

	// Users, and Minasi 2003's sharpest point: users + lockout policy.
	users := v.get(ExpUsers)
	names := v.userNames()
	if users.Value == Yes || len(names) > 0 {
		setting := v.usersSetting()
		var ev []string
		if users.Value == Yes {
			ev = append(ev, users.Because...)
		} else {
			// The list came from RID cycling although enumeration is closed.
			path := "RID cycling"
			if r.RIDCycling != nil && r.RIDCycling.Path != "" {
				path = r.RIDCycling.Path + " RID cycling"
				if r.RIDCycling.Path == enum.RIDPathLSA {
					setting = v.settingFor(LSAAnonymousNameLookup, SambaRestrictAnonymous)
					ev = append(ev, v.get(ExpSIDLookup).Because...)
				}
			}
			ev = append(ev, "user enumeration itself: "+users.Value, "names found by "+path)
		}
		if len(names) > 0 {
			ev = append(ev, fmt.Sprintf("%d account names seen: %s", len(names), sample(names, 8)))
		}
		add(v.newFinding(FindUsersEnumerable, Medium, setting, "Account names readable anonymously",
			"A stranger gets every account name to aim password guesses at (Minasi 2003: 'letting anyone see your list of users is probably a bad idea').", ev...))
		lock := v.lockout()
		switch {
		case lock == nil:
		case lock.Threshold > 0:
			add(v.newFinding(FindLockoutDoS, High, setting,
				fmt.Sprintf("Anyone can lock every account out: users are enumerable and the lockout threshold is %d", lock.Threshold),
				"With the full user list and a lockout threshold, a stranger can send a few bad passwords per account and lock the whole domain out; only the built-in Administrator at the console still logs on (Minasi 2003).",
				append(ev, lockoutEvidence(lock)...)...))
		default:
			add(v.newFinding(FindUnlimitedGuessing, Critical, setting,
				"Unlimited password guessing: users are enumerable and there is no lockout threshold",
				"Every enumerated account can be guessed at without limit; only the security log would notice (Minasi 2003: 'five million failed logins').",
				append(ev, lockoutEvidence(lock)...)...))
		}
		for _, u := range r.Users {
			if d := strings.ToLower(u.Description); strings.Contains(d, "pw") || strings.Contains(d, "pass") {
				add(v.keyed(userKey(u.Name)).newFinding(FindPasswordInDescription, High, setting,
					"Account description readable anonymously looks like it holds a password: "+u.Name,
					"Descriptions are returned with the user list; a password written there is handed to anyone who asks. Change that password and clear the description first; the setting below then hides the list.",
					fmt.Sprintf("user %s (RID %d) description %q", u.Name, u.RID, u.Description)))
			}
		}
	}

	// RID 500, the RedButton check.
	if name, how, path, ok := v.rid500(); ok {
		title := "RID 500 (built-in Administrator) resolves anonymously to " + name
		if !strings.EqualFold(name, "Administrator") {
			title = "Renamed Administrator unmasked: RID 500 is " + name
		}
		setting := v.settingFor(LSAAnonymousNameLookup, SambaRestrictAnonymous)
		if path != enum.RIDPathLSA {
			setting = v.usersSetting()
		}
		add(v.newFinding(FindRID500Visible, Medium, setting, title,
			"The Administrator's SID is the domain SID plus 500, so renaming it hides nothing from a caller allowed to translate SIDs (Minasi 2003's RedButton).", how))
	}
	if sid := v.get(ExpSIDLookup); sid.Value == Yes {
		add(v.newFinding(FindSIDTranslation, Medium, v.settingFor(LSAAnonymousNameLookup, SambaRestrictAnonymous), "Anonymous SID/name translation allowed",
			"LSA lookups let a stranger walk RIDs and name every account and group, even where enumeration is closed.", sid.Because...))
	}
	if p := v.get(ExpPolicy); p.Value == Yes {
		add(v.newFinding(FindPolicyReadable, Low, v.usersSetting(), "Password and lockout policy readable anonymously",
			"Knowing the lockout threshold and window tells an attacker exactly how fast to guess without tripping it.", p.Because...))
	}
	if len(r.Groups) > 0 {
		_, why := verdict(v.calls(enum.IfaceSAMR, samr.OpEnumerateGroupsInDomain, samr.OpEnumerateAliasesInDomain, samr.OpGetMembersInGroup, samr.OpGetMembersInAlias))
		add(v.newFinding(FindGroupsEnumerable, Low, v.usersSetting(), fmt.Sprintf("%d groups readable anonymously", len(r.Groups)),
			"Group names and members show who the administrators are.", append(why, fmt.Sprintf("groups: %s", sample(groupNames(r), 8)))...))
	}
	if b := r.Browse; b != nil && b.Unavailable == "" && len(b.Servers)+len(b.Domains) > 0 {
		_, why := verdict(v.calls(enum.IfaceRAP, rap.OpNetServerEnum2))
		var names []string
		for _, s := range append(append([]enum.BrowseServer{}, b.Domains...), b.Servers...) {
			names = append(names, s.Name)
		}
		add(v.newFinding(FindBrowseList, Low, v.settingFor(SMB1, SambaServerMinProtocol), "Browse list readable anonymously (RAP over SMB1)",
			"Minasi 2003's 'net view /domain' works whatever else is restricted: anyone gets the list of domains and machines. RAP runs only over SMB1.",
			append(why, "browse entries: "+sample(names, 8))...))
	}
	if s := v.get(ExpShares); s.Value == Yes {
		add(v.newFinding(FindSharesEnumerable, Low, v.settingFor(RestrictAnonymous, SambaRestrictAnonymous), "Share list readable anonymously",
			"The share list is the map for the next step: which shares to try, hidden ones included when read over RPC.", s.Because...))
	}
	for _, s := range v.shareProbes() {
		if e := v.exp[ShareKey(s.Name)]; e.Value == Yes {
			sev := Medium
			title := "Share " + s.Name + " opens to anonymous callers"
			if s.List == enum.OK {
				title = "Share " + s.Name + " is readable anonymously"
			}
			f := v.keyed(ShareKey(s.Name)).newFinding(FindShareAnonymous, sev, v.settingFor(NullSessionShares, SambaGuestOK), title,
				"Anything in it is public to anyone who can reach the server; on Samba a guest ok share stays readable even with restrict anonymous = 2.", e.Because...)
			// The smb.conf lines go in this share's own section.
			f.Fix.SmbConf = strings.Replace(f.Fix.SmbConf, "[share]", "["+s.Name+"]", 1)
			add(f)
		}
	}
	if g := v.get(ExpGuest); g.Value == Yes {
		add(v.newFinding(FindGuestLogon, Medium, v.settingFor(EnableGuestAccount, SambaMapToGuest), "Unknown user names are logged on as guest",
			"Any user name with any password gets a guest logon, and with it whatever Guest and Everyone may read.", g.Because...))
	}
	if s := v.get(ExpSMB1); s.Value == Yes {
		add(v.newFinding(FindSMB1Enabled, Medium, v.settingFor(SMB1, SambaServerMinProtocol), "SMB1 accepted",
			"SMB1 carries the browse list and RAP calls to anonymous callers, and is the dialect of the worst SMB server bugs; current Windows does not install it.", s.Because...))
	}
	if s := v.get(ExpSigning); s.Value == No {
		add(v.newFinding(FindSigningNotRequired, Low, v.settingFor(RequireSecuritySignature, SambaServerSigning), "SMB signing not required",
			"Unsigned sessions can be relayed or tampered with; note a null session has no key and is exempt either way, so this does not stop anonymous enumeration.", s.Because...))
	}
	if !v.host.Samba() {
		for p, st := range r.Pipes {
			if st == enum.Open && p == "winreg" {
				add(v.keyed(PipeKey(p)).newFinding(FindPipeWinreg, High, NullSessionPipes, `\PIPE\winreg opens to anonymous callers`,
					"winreg is the remote registry: the one named pipe Minasi 2003 says you do not want to grant anonymous access to.", v.pipeEvidence(p)))
			}
		}
	}
	for _, d := range v.drifts {
		f := v.keyed(d.Exposure).newFinding(FindDrift, Medium, d.Setting,
			fmt.Sprintf("Drift: %s expected %s, observed %s", d.Exposure, d.Expected, d.Observed),
			"The policy file says one thing and the server does another: either the file is not what is deployed, the service was not reloaded, or something else overrides it.",
			append(prefix("expected: ", d.ExpectedBecause), prefix("observed: ", d.ObservedBecause)...)...)
		// The file already holds the value the setting's fix would set:
		// repeating it is no advice; the deployment is what to check.
		f.Fix = Fix{}
		add(f)
	}
	out = append(out, v.doorFindings()...)
	return out
}

func prefix(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

func (v *view) userNames() []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range v.r.Users {
		if !seen[u.Name] {
			seen[u.Name] = true
			out = append(out, u.Name)
		}
	}
	for _, x := range v.r.RIDs {
		if x.Type == "user" && !seen[x.Name] {
			seen[x.Name] = true
			out = append(out, x.Name)
		}
	}
	return out
}

func groupNames(r *enum.Result) []string {
	out := make([]string, 0, len(r.Groups))
	for _, g := range r.Groups {
		out = append(out, g.Name)
	}
	return out
}

func sample(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:n], ", ") + fmt.Sprintf(", … (%d more)", len(list)-n)
}

type lockoutInfo struct {
	Threshold          uint16
	DurationS, WindowS *int64
}

func (v *view) lockout() *lockoutInfo {
	p := v.r.Policy
	if p == nil || p.Lockout == nil {
		return nil
	}
	return &lockoutInfo{Threshold: p.Lockout.Threshold, DurationS: p.Lockout.DurationS, WindowS: p.Lockout.WindowS}
}

func lockoutEvidence(l *lockoutInfo) []string {
	dur := func(p *int64) string {
		if p == nil {
			return "never"
		}
		return fmt.Sprintf("%d min", *p/60)
	}
	return []string{fmt.Sprintf("samr.QueryInformationDomain lockout: threshold %d, duration %s, window %s", l.Threshold, dur(l.DurationS), dur(l.WindowS))}
}

// rid500 finds the name of RID 500 and how it was learned.
// path is the RID-cycling path (enum.RIDPathLSA, …) or "users" for the
// SAMR user list.
func (v *view) rid500() (name, how, path string, ok bool) {
	r := v.r
	if r.RIDCycling != nil && r.RIDCycling.Administrator != "" {
		return r.RIDCycling.Administrator, fmt.Sprintf("%s RID cycling: RID 500 → %s", r.RIDCycling.Path, r.RIDCycling.Administrator), r.RIDCycling.Path, true
	}
	for _, x := range r.RIDs {
		if x.RID == 500 && x.Type == "user" && x.Name != "" {
			path := enum.RIDPathLSA
			if r.RIDCycling != nil {
				path = r.RIDCycling.Path
			}
			return x.Name, fmt.Sprintf("%s RID cycling: %s → %s", path, x.SID, x.Name), path, true
		}
	}
	for _, u := range r.Users {
		if u.RID == 500 {
			return u.Name, fmt.Sprintf("samr user list: RID 500 → %s", u.Name), "users", true
		}
	}
	return "", "", "", false
}
