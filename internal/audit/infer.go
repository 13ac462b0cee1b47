package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
)

// inferers holds, per setting of the table, how its state follows from the
// exposures. The table says what a probe observes; these apply it.
var inferers = map[string]func(v *view) SettingState{
	RestrictAnonymous:         inferRestrictAnonymous,
	RestrictAnonymousSAM:      inferRestrictAnonymousSAM,
	EveryoneIncludesAnonymous: inferEveryone,
	NullSessionPipes:          inferNullSessionPipes,
	NullSessionShares:         inferNullSessionShares,
	RestrictNullSessAccess:    inferRestrictNullSessAccess,
	LSAAnonymousNameLookup:    inferLSAAnonymousNameLookup,
	RestrictRemoteSAM:         inferRestrictRemoteSAM,
	PreWindows2000:            inferPreWindows2000,
	EnableGuestAccount:        inferGuestAccount,
	SMB1:                      inferSMB1,
	RequireSecuritySignature:  inferSigning,
	SMBPorts:                  inferPorts,
	SambaRestrictAnonymous:    inferSambaRestrictAnonymous,
	SambaMapToGuest:           inferSambaMapToGuest,
	SambaGuestOK:              inferSambaGuestOK,
	SambaServerMinProtocol:    inferSambaMinProtocol,
	SambaServerSigning:        inferSambaSigning,
}

// inferSettings gives every applicable row a state: Samba hosts get the
// Samba rows and the Windows rows marked not observable (they do not exist
// there); Windows hosts get the Windows rows; an unidentified host gets
// both, Windows first.
func (v *view) inferSettings() []SettingState {
	var out []SettingState
	for _, s := range Settings {
		switch {
		case s.Platform == "samba" && v.host.Windows():
			continue
		case s.Platform == "samba" && !v.host.Samba():
			why := "platform not identified (no NTLM version, NativeLanMan or server type was seen), so this Samba parameter is not inferred"
			if len(v.host.FamilyEvidence) > 0 {
				why = "platform " + v.host.Family + " (" + strings.Join(v.host.FamilyEvidence, "; ") + "): this Samba parameter is not inferred"
			}
			out = append(out, SettingState{Name: s.Name, State: StateNotObservable, Evidence: []string{why}})
			continue
		case s.Platform == "windows" && v.host.Samba():
			out = append(out, v.windowsOnSamba(s))
			continue
		}
		st := inferers[s.Name](v)
		st.Name = s.Name
		if st.Evidence == nil {
			st.Evidence = []string{}
		}
		out = append(out, st)
	}
	return out
}

func (v *view) windowsOnSamba(s Setting) SettingState {
	why := []string{"target is Samba (" + strings.Join(v.host.FamilyEvidence, "; ") + "): this Windows setting does not exist there"}
	if s.Equivalent != "" {
		why = append(why, s.Name+": the Samba knob for the same effect is smb.conf '"+s.Equivalent+"'")
	}
	if s.Name == PreWindows2000 && v.host.Role == RoleDC {
		why = append(why, s.Name+": Samba AD allows anonymous SAMR enumeration although Pre-Windows 2000 Compatible Access holds only Authenticated Users (docs/samba.md), so the group's membership cannot be read from what a null session sees")
	}
	return SettingState{Name: s.Name, State: StateNotObservable, Evidence: why}
}

func notObs(name string, why ...string) SettingState {
	return SettingState{Name: name, State: StateNotObservable, Evidence: why}
}

func observed(value string, why ...string) SettingState {
	return SettingState{State: StateObserved, Value: value, Evidence: why}
}

func consistent(value string, why ...string) SettingState {
	return SettingState{State: StateConsistent, Value: value, Evidence: why}
}

// blockedBefore says why an RPC exposure could not be probed, if it was
// stopped at the session, IPC$ or pipe layer.
func (v *view) blockedBefore(pipe string) (string, bool) {
	if e := v.get(ExpNullSession); e.Value != Yes {
		return "no null session: " + strings.Join(e.Because, "; "), true
	}
	if e := v.get(ExpIPC); e.Value != Yes {
		return "no anonymous IPC$: " + strings.Join(e.Because, "; "), true
	}
	if st := v.r.Pipes[pipe]; st != "" && st != enum.Open {
		return v.pipeEvidence(pipe) + " — the pipe layer stops the probe before this setting", true
	}
	return "", false
}

func inferRestrictAnonymous(v *view) SettingState {
	if v.host.Role == RoleDC {
		return notObs("", "target is a domain controller: Microsoft documents no impact of RestrictAnonymous on DCs; see "+PreWindows2000)
	}
	if v.host.Family == Family2000 && v.get(ExpNullSession).Value == Yes && v.get(ExpIPC).Value == No {
		return consistent("2", v.get(ExpIPC).Because...)
	}
	users, shares := v.get(ExpUsers), v.get(ExpShares)
	if shares.Value == Yes || users.Value == Yes && v.host.Family != Family2000 && v.host.Family != FamilyNT4 {
		return observed("0", append(shares.Because, users.Because...)...)
	}
	if shares.Value == No {
		if why, blocked := v.blockedBefore("srvsvc"); blocked {
			return notObs("", why)
		}
		val := "1"
		if v.host.Family == Family2000 {
			val = "1 or 2"
		}
		return consistent(val, append(shares.Because, "anonymous share enumeration denied at the call")...)
	}
	if why, blocked := v.blockedBefore("srvsvc"); blocked {
		return notObs("", why)
	}
	return notObs("", "no share or user enumeration result decided it")
}

func inferRestrictAnonymousSAM(v *view) SettingState {
	switch {
	case v.host.Family == FamilyNT4 || v.host.Family == Family2000:
		return notObs("", "does not exist before Windows XP ("+v.host.OS+")")
	case v.host.Role == RoleDC:
		return notObs("", "target is a domain controller: no impact there; see "+PreWindows2000)
	}
	users := v.get(ExpUsers)
	switch users.Value {
	case Yes:
		return observed("0", users.Because...)
	case No:
		if why, blocked := v.blockedBefore("samr"); blocked {
			return notObs("", why)
		}
		val := "1"
		if v.host.Family == Family2016 || v.host.Family == FamilyWindows {
			val = "1, or RestrictRemoteSAM denies anonymous"
		}
		return consistent(val, users.Because...)
	}
	if why, blocked := v.blockedBefore("samr"); blocked {
		return notObs("", why)
	}
	return notObs("", "no SAMR enumeration result")
}

func inferEveryone(v *view) SettingState {
	return notObs("", "only indirect: it would take an object granted to Everyone but not to ANONYMOUS LOGON; no probe here isolates one")
}

// pipeSets splits enum's pipe results.
func (v *view) pipeSets() (open, denied, absent []string) {
	for p, st := range v.r.Pipes {
		switch {
		case st == enum.Open:
			open = append(open, p)
		case st.IsDenied():
			denied = append(denied, p)
		case st == objectNameNotFound:
			absent = append(absent, p)
		}
	}
	slices.Sort(open)
	slices.Sort(denied)
	slices.Sort(absent)
	return
}

func (v *view) pipeSummary() []string {
	open, denied, absent := v.pipeSets()
	var why []string
	if len(open) > 0 {
		why = append(why, "pipes opened anonymously: "+strings.Join(open, ", "))
	}
	if len(denied) > 0 {
		why = append(why, "pipes denied (STATUS_ACCESS_DENIED): "+strings.Join(denied, ", "))
	}
	if len(absent) > 0 {
		why = append(why, "pipes absent ("+string(objectNameNotFound)+"): "+strings.Join(absent, ", "))
	}
	if v.probes != nil && v.probes.ControlPipe != "" {
		why = append(why, "control pipe (random name): "+string(v.probes.ControlPipe))
	}
	return why
}

func inferNullSessionPipes(v *view) SettingState {
	if e := v.get(ExpIPC); e.Value != Yes {
		return notObs("", "no anonymous IPC$: "+strings.Join(e.Because, "; "))
	}
	open, denied, _ := v.pipeSets()
	why := v.pipeSummary()
	switch {
	case len(open) == 0 && len(denied) > 0:
		return consistent("empty (for the pipes tried)", why...)
	case len(denied) > 0:
		return consistent("contains "+strings.Join(open, ", ")+"; not "+strings.Join(denied, ", "), why...)
	case len(open) > 0:
		return consistent("contains "+strings.Join(open, ", ")+", or RestrictNullSessAccess=0", why...)
	}
	return notObs("", "no pipe result")
}

// defaultAnonPipes are the pipes a current Windows lets anonymous open by
// role (NullSessionPipes defaults, 2003 SP1 and later).
func defaultAnonPipes(role string) []string {
	if role == RoleDC {
		return []string{"lsarpc", "netlogon", "samr"}
	}
	return nil
}

func inferRestrictNullSessAccess(v *view) SettingState {
	if e := v.get(ExpIPC); e.Value != Yes {
		return notObs("", "no anonymous IPC$: "+strings.Join(e.Because, "; "))
	}
	open, denied, _ := v.pipeSets()
	why := v.pipeSummary()
	var extra []string
	for _, p := range open {
		if !slices.Contains(defaultAnonPipes(v.host.Role), p) {
			extra = append(extra, p)
		}
	}
	switch {
	case len(denied) > 0:
		return consistent("1", append(why, "a pipe that exists was refused: the restriction is enforced")...)
	case len(extra) > 0:
		return consistent("0, or "+strings.Join(extra, ", ")+" added to NullSessionPipes", append(why, "pipes outside the default NullSessionPipes for role "+v.host.Role+" opened")...)
	case len(open) > 0:
		return consistent("1 or 0", why...)
	}
	return notObs("", "no pipe result")
}

func inferNullSessionShares(v *view) SettingState {
	yes, no, why := v.shareVerdicts()
	if c := v.controlEvidence(); c != "" {
		why = append(why, c)
	}
	switch {
	case len(yes) > 0:
		return consistent("contains "+strings.Join(yes, ", ")+", or RestrictNullSessAccess=0", why...)
	case len(no) > 0:
		return consistent("empty (for the shares tried: "+strings.Join(no, ", ")+")", why...)
	}
	return notObs("", "no share was tree-connected anonymously (none listed; name shares with --shares)")
}

func (v *view) controlEvidence() string {
	if v.probes == nil || v.probes.Control == nil {
		return ""
	}
	c := v.probes.Control
	s := fmt.Sprintf("control share %q (random name): %s", c.Name, c.Connect)
	if c.Connect != badNetworkName {
		s += " — not a proper BAD_NETWORK_NAME, so a denial elsewhere may mean 'absent'"
	}
	return s
}

func inferLSAAnonymousNameLookup(v *view) SettingState {
	sid := v.get(ExpSIDLookup)
	opens := v.calls(enum.IfaceLSA, lsaOpenPolicy...)
	openVal, openWhy := verdict(opens)
	switch {
	case sid.Value == Yes:
		return observed("1", sid.Because...)
	case sid.Value == No && openVal == Yes:
		return observed("0", append(openWhy, sid.Because...)...)
	case openVal == No:
		return notObs("", append(openWhy, "LsarOpenPolicy2 itself was denied: the LSA anonymous block (TurnOffAnonymousBlock) or the pipe restriction decides first")...)
	}
	if why, blocked := v.blockedBefore("lsarpc"); blocked {
		return notObs("", why)
	}
	if sid.Value == No {
		return consistent("0", sid.Because...)
	}
	return notObs("", "no LSA lookup result")
}

func inferRestrictRemoteSAM(v *view) SettingState {
	users := v.get(ExpUsers)
	switch {
	case v.host.Role == RoleDC:
		return notObs("", "domain controllers do not apply it by default (the AD ACL applies)")
	case users.Value == Yes:
		return consistent("not defined, or grants anonymous", users.Because...)
	}
	if why, blocked := v.blockedBefore("samr"); blocked {
		return notObs("", why)
	}
	connects := v.calls(enum.IfaceSAMR, samr.OpConnect2, samr.OpConnect5)
	if val, why := verdict(connects); val == No {
		if v.host.Family == Family2016 {
			return consistent("O:SYG:SYD:(A;;RC;;;BA) (the 2016+ default) or stricter", why...)
		}
		return consistent("defined and denying anonymous", why...)
	}
	return notObs("", "anonymous and non-admin callers are both refused under it; telling it from RestrictAnonymousSAM needs an authenticated probe")
}

func inferPreWindows2000(v *view) SettingState {
	if v.host.Role != RoleDC {
		return notObs("", "applies to domain controllers; role "+v.host.Role)
	}
	users := v.get(ExpUsers)
	switch users.Value {
	case Yes:
		return observed("contains ANONYMOUS LOGON (or Everyone with EveryoneIncludesAnonymous=1)", users.Because...)
	case No:
		if why, blocked := v.blockedBefore("samr"); blocked {
			return notObs("", why)
		}
		return consistent("no ANONYMOUS LOGON, no Everyone", users.Because...)
	}
	return notObs("", "no SAMR enumeration result")
}

func inferGuestAccount(v *view) SettingState {
	g := v.get(ExpGuest)
	switch g.Value {
	case Yes:
		return observed("1", append(g.Because, "a random unknown user was logged on as guest")...)
	case No:
		return consistent("0", g.Because...)
	}
	return notObs("", g.Because...)
}

func inferSMB1(v *view) SettingState {
	e := v.get(ExpSMB1)
	switch e.Value {
	case Yes:
		return observed("1", e.Because...)
	case No:
		return observed("0", e.Because...)
	}
	return notObs("", "no dialect probe")
}

func inferSigning(v *view) SettingState {
	e := v.get(ExpSigning)
	switch e.Value {
	case Yes:
		return observed("1", e.Because...)
	case No:
		return observed("0", e.Because...)
	}
	return notObs("", "no NEGOTIATE response")
}

func inferPorts(v *view) SettingState {
	p445, p139 := v.r.Ports["445"], v.r.Ports["139"]
	if p445 == "" && p139 == "" {
		return notObs("", "ports not probed")
	}
	return observed(fmt.Sprintf("445 %s, 139 %s", orDash(p445), orDash(p139)), "tcp/445: "+orDash(p445), "tcp/139: "+orDash(p139))
}

func orDash[S ~string](s S) string {
	if s == "" {
		return "not probed"
	}
	return string(s)
}

func inferSambaRestrictAnonymous(v *view) SettingState {
	sess, ipc := v.get(ExpNullSession), v.get(ExpIPC)
	if sess.Value != Yes {
		return notObs("", "no null session: "+strings.Join(sess.Because, "; "))
	}
	if ipc.Value == No {
		return observed("2", append(sess.Because, ipc.Because...)...)
	}
	if ipc.Value != Yes {
		return notObs("", "IPC$ not probed")
	}
	users, shares, sid := v.get(ExpUsers), v.get(ExpShares), v.get(ExpSIDLookup)
	switch {
	case users.Value == Yes || shares.Value == Yes:
		return observed("0", decided(Yes, ipc, users, shares)...)
	case users.Value == No || shares.Value == No:
		return observed("1", append(decided(No, users, shares), decided(Yes, ipc, sid)...)...)
	}
	return consistent("0 or 1", append(ipc.Because, "IPC$ open; no SAMR/SRVSVC call decided between 0 and 1")...)
}

// decided gathers the reasons of the exposures that have the value want.
func decided(want string, es ...Exposure) []string {
	var out []string
	for _, e := range es {
		if e.Value == want {
			out = append(out, e.Because...)
		}
	}
	return out
}

func inferSambaMapToGuest(v *view) SettingState {
	g := v.get(ExpGuest)
	switch {
	case g.Value == Yes:
		return consistent("Bad User or Bad Password", append(g.Because, "a random unknown user was logged on as guest")...)
	case g.Value == No && v.host.Role == RoleDC:
		return consistent("Never, or Bad User/Bad Password with the AD Guest account disabled", g.Because...)
	case g.Value == No:
		return consistent("Never (or Bad Uid)", g.Because...)
	}
	return notObs("", g.Because...)
}

func inferSambaGuestOK(v *view) SettingState {
	yes, no, why := v.shareVerdicts()
	switch {
	case len(yes) > 0:
		return observed("yes on "+strings.Join(yes, ", "), why...)
	case len(no) > 0:
		return consistent("no on the shares tried ("+strings.Join(no, ", ")+")", why...)
	}
	return notObs("", "no share was tree-connected anonymously (none listed; name shares with --shares)")
}

func inferSambaMinProtocol(v *view) SettingState {
	if v.r.SMB == nil || len(v.r.SMB.Dialects) == 0 {
		return notObs("", "no dialect probe")
	}
	d := v.r.SMB.Dialects
	why := []string{dialectList(d)}
	if d["SMB 1.0"] {
		if !d["SMB 2.0.2"] && !d["SMB 2.1"] && !d["SMB 3.0"] && !d["SMB 3.0.2"] && !d["SMB 3.1.1"] {
			why = append(why, "no SMB2 dialect: server max protocol = NT1 as well")
		}
		return consistent("NT1 or lower (LANMAN1, LANMAN2)", why...)
	}
	for _, p := range []struct{ dialect, param string }{
		{"SMB 2.0.2", "SMB2_02"}, {"SMB 2.1", "SMB2_10"}, {"SMB 3.0", "SMB3_00"}, {"SMB 3.0.2", "SMB3_02"}, {"SMB 3.1.1", "SMB3_11"},
	} {
		if d[p.dialect] {
			return observed(p.param, why...)
		}
	}
	return notObs("", why...)
}

func dialectList(d map[string]bool) string {
	var on, off []string
	for _, n := range []string{"SMB 1.0", "SMB 2.0.2", "SMB 2.1", "SMB 3.0", "SMB 3.0.2", "SMB 3.1.1"} {
		if v, ok := d[n]; ok {
			if v {
				on = append(on, n)
			} else {
				off = append(off, n)
			}
		}
	}
	s := "dialects accepted: " + strings.Join(on, ", ")
	if len(off) > 0 {
		s += "; refused: " + strings.Join(off, ", ")
	}
	return s
}

func inferSambaSigning(v *view) SettingState {
	e := v.get(ExpSigning)
	switch {
	case e.Value == Yes && v.host.Role == RoleDC:
		return consistent("mandatory, or default (mandatory on an AD DC)", e.Because...)
	case e.Value == Yes:
		return consistent("mandatory", e.Because...)
	case e.Value == No:
		return consistent("default, auto or disabled", e.Because...)
	}
	return notObs("", "no NEGOTIATE response")
}

// shareVerdicts splits the probed shares into those an anonymous caller
// could and could not connect to, with the evidence for each.
func (v *view) shareVerdicts() (yes, no, why []string) {
	for _, s := range v.shareProbes() {
		e, ok := v.exp["share:"+s.Name]
		if !ok {
			continue
		}
		switch e.Value {
		case Yes:
			yes = append(yes, s.Name)
		case No:
			no = append(no, s.Name)
		}
		why = append(why, e.Because...)
	}
	return yes, no, why
}
