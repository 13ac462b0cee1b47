package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// view is one host's Result with lookups the inference shares.
type view struct {
	r      *enum.Result
	host   Host
	probes *Probes
	exp    map[string]Exposure
	drifts []Drift
	key    string // the Key of the findings newFinding makes
}

// calls returns the checks of interface iface (enum.IfaceSAMR, …) with
// one of the operation numbers, in the order they ran.
func (v *view) calls(iface string, opnums ...uint16) []enum.Check {
	var out []enum.Check
	for _, c := range v.r.Checks {
		if c.Is(iface, opnums...) {
			out = append(out, c)
		}
	}
	return out
}

// ev renders a check as evidence: "samr.EnumerateUsersInDomain: denied (STATUS_ACCESS_DENIED)".
func ev(c enum.Check) string {
	s := c.Name
	if strings.HasPrefix(c.Arg, "access ") && !strings.Contains(s, "(") {
		// Two opens of one handle differ by what they asked for.
		s += "(" + c.Arg + ")"
	}
	s += ": " + string(c.Result)
	if c.Status != "" {
		s += " (" + c.Status + ")"
	} else if c.Detail != "" {
		s += " (" + c.Detail + ")"
	}
	return s
}

// verdict reduces calls to yes (one succeeded), no (one was denied and none
// succeeded) or unknown, with the evidence.
func verdict(cs []enum.Check) (string, []string) {
	var okE, deniedE, otherE []string
	for _, c := range cs {
		switch c.Result {
		case enum.OK:
			okE = append(okE, ev(c))
		case enum.Denied:
			deniedE = append(deniedE, ev(c))
		default:
			otherE = append(otherE, ev(c))
		}
	}
	switch {
	case len(okE) > 0:
		return Yes, collapse(okE)
	case len(deniedE) > 0:
		return No, collapse(deniedE)
	}
	return Unknown, collapse(otherE)
}

// collapse folds repeated evidence lines (one per RID-cycling batch, say)
// into one with a count, keeping first-seen order.
func collapse(lines []string) []string {
	n := map[string]int{}
	var order []string
	for _, l := range lines {
		if n[l] == 0 {
			order = append(order, l)
		}
		n[l]++
	}
	for i, l := range order {
		if n[l] > 1 {
			order[i] = fmt.Sprintf("%s ×%d", l, n[l])
		}
	}
	return order
}

func (v *view) set(name, value, setting string, because ...string) {
	v.exp[name] = Exposure{Name: name, Value: value, Because: because, Setting: setting}
}

func (v *view) get(name string) Exposure {
	if e, ok := v.exp[name]; ok {
		return e
	}
	return Exposure{Name: name, Value: Unknown}
}

func (v *view) sessionEvidence(kind string) string {
	s := v.r.Sessions[kind]
	if s == nil {
		return ""
	}
	e := fmt.Sprintf("SESSION_SETUP (%s): %s", kind, s.Result)
	if s.Status != "" {
		e += " (" + s.Status + ")"
	}
	if f := s.FlagsText(); f != "" {
		e += ", session flags " + f
	}
	if s.Form != "" {
		e += ", " + s.Form
	}
	return e
}

func (v *view) ipcEvidence() string {
	if v.r.IPC == nil {
		return ""
	}
	e := "TREE_CONNECT IPC$: " + string(v.r.IPC.Result)
	if v.r.IPC.Status != "" {
		e += " (" + v.r.IPC.Status + ")"
	}
	return e
}

func (v *view) pipeEvidence(p string) string {
	if st, ok := v.r.Pipes[p]; ok {
		return fmt.Sprintf(`CREATE \PIPE\%s: %s`, p, st)
	}
	return ""
}

// rpcExposure decides an exposure reached through a pipe: the call's own
// verdict, else what stopped the probe before it.
func (v *view) rpcExposure(name, pipe string, cs []enum.Check, data bool, dataWhy string) {
	val, why := verdict(cs)
	var gate []string
	if g, gwhy := verdict(v.gateCalls(pipe)); g == No {
		gate = gwhy
	}
	switch {
	case val != Unknown:
		v.set(name, val, "", why...)
	case data:
		v.set(name, Yes, "", dataWhy)
	case len(gate) > 0:
		v.set(name, No, "", append(gate, "denied before the call itself")...)
	case v.get(ExpNullSession).Value == No:
		v.set(name, No, "", v.sessionEvidence(enum.SessionNull))
	case v.get(ExpIPC).Value == No:
		v.set(name, No, "", v.ipcEvidence(), "no IPC$, so no RPC pipe")
	case v.r.Pipes[pipe] != "" && v.r.Pipes[pipe] != enum.Open && v.r.Pipes[pipe] != enum.Skipped:
		if v.r.Pipes[pipe].IsDenied() {
			v.set(name, No, "", v.pipeEvidence(pipe))
		} else {
			v.set(name, Unknown, "", v.pipeEvidence(pipe))
		}
	default:
		v.set(name, Unknown, "", append(why, "no call decided it")...)
	}
}

// gateCalls are the handle-opening calls in front of a pipe's queries: a
// denial there decides every query behind it.
func (v *view) gateCalls(pipe string) []enum.Check {
	switch pipe {
	case "samr":
		return v.calls(enum.IfaceSAMR, samrConnect...)
	case "lsarpc":
		// Only an open that asked for POLICY_LOOKUP_NAMES gates the
		// lookups ([MS-LSAT] 3.1.4.4, 3.1.4.5): a server may grant
		// anonymous callers POLICY_VIEW_LOCAL_INFORMATION (domain
		// queries) and refuse lookups, as Samba AD does.
		var out []enum.Check
		for _, c := range v.calls(enum.IfaceLSA, lsaOpenPolicy...) {
			if m, ok := accessMask(c.Arg); ok && m&policyLookupNames != 0 {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// policyLookupNames is POLICY_LOOKUP_NAMES ([MS-LSAD] 2.2.1.1.2).
const policyLookupNames = 0x00000800

// accessMask reads the desired access a handle-opening check recorded as
// its argument ("access 0x00000800").
func accessMask(arg string) (uint32, bool) {
	h, ok := strings.CutPrefix(arg, "access ")
	if !ok {
		return 0, false
	}
	m, err := strconv.ParseUint(strings.TrimPrefix(h, "0x"), 16, 32)
	return uint32(m), err == nil
}

// observe fills v.exp from the Result and the extra probes.
func (v *view) observe() {
	r := v.r
	switch s := r.Sessions[enum.SessionNull]; {
	case s != nil && (s.Result == enum.Allowed || s.Result == enum.Guest):
		v.set(ExpNullSession, Yes, "", v.sessionEvidence(enum.SessionNull))
	case s != nil && s.Result == enum.Denied:
		v.set(ExpNullSession, No, "", v.sessionEvidence(enum.SessionNull))
	case r.Ports["445"] == enum.Closed && r.Ports["139"] == enum.Closed:
		v.set(ExpNullSession, No, "", "tcp/445 closed, tcp/139 closed")
	case r.Ports["445"] != enum.Open && r.Ports["139"] != enum.Open:
		// Silence (filtered) or a port never answered is not a refusal.
		v.set(ExpNullSession, Unknown, "", fmt.Sprintf("tcp/445 %s, tcp/139 %s: a port that gave no answer may still serve SMB", portWord(r.Ports["445"]), portWord(r.Ports["139"])))
	default:
		v.set(ExpNullSession, Unknown, "")
	}
	switch {
	case r.IPC != nil && r.IPC.Result == enum.Allowed:
		v.set(ExpIPC, Yes, "", v.ipcEvidence())
	case r.IPC != nil && r.IPC.Result == enum.Denied:
		v.set(ExpIPC, No, "", v.ipcEvidence())
	case v.get(ExpNullSession).Value == No:
		v.set(ExpIPC, No, "", v.get(ExpNullSession).Because...)
	default:
		v.set(ExpIPC, Unknown, "")
	}
	v.rpcExposure(ExpUsers, "samr", v.calls(enum.IfaceSAMR, samr.OpEnumerateUsersInDomain, samr.OpQueryDisplayInformation),
		len(r.Users) > 0, fmt.Sprintf("%d users read anonymously", len(r.Users)))
	v.rpcExposure(ExpShares, "srvsvc", v.calls(enum.IfaceSRVSVC, srvsvc.OpNetrShareEnum),
		len(r.Shares) > 0, fmt.Sprintf("%d shares listed anonymously", len(r.Shares)))
	v.rpcExposure(ExpPolicy, "samr", v.calls(enum.IfaceSAMR, samr.OpQueryInformationDomain, samr.OpQueryInformationDomain2, samr.OpGetDomainPasswordInformation),
		r.Policy != nil, "password policy read anonymously")
	lsaData := r.RIDCycling != nil && r.RIDCycling.Path == enum.RIDPathLSA
	v.rpcExposure(ExpSIDLookup, "lsarpc", v.calls(enum.IfaceLSA, lsa.OpLookupSids, lsa.OpLookupNames), lsaData, "RID cycling went through LSA LookupSids")
	if e := v.get(ExpSIDLookup); e.Value != Yes && r.RIDCycling != nil && r.RIDCycling.Path == enum.RIDPathSAMR && len(r.RIDs) > 0 {
		// The LSA verdict stands; what a stranger still gets by RID
		// belongs beside it.
		v.set(ExpSIDLookup, e.Value, e.Setting, append(slices.Clone(e.Because), fmt.Sprintf("RID to name still works through SAMR LookupIdsInDomain: %d SIDs translated", len(r.RIDs)))...)
	}

	switch g := r.Sessions[enum.SessionGuest]; {
	case g != nil && (g.Result == enum.Guest || g.Result == enum.Allowed):
		v.set(ExpGuest, Yes, "", v.sessionEvidence(enum.SessionGuest))
	case g != nil && g.Result == enum.Denied:
		v.set(ExpGuest, No, "", v.sessionEvidence(enum.SessionGuest))
	default:
		v.set(ExpGuest, Unknown, "", "no guest probe result")
	}
	// Only a dialect the server answered for is evidence; the signing
	// flags exist only in a NEGOTIATE response that chose a dialect.
	if r.SMB != nil {
		if on, ok := r.SMB.Dialects[smb.SMB1.String()]; ok {
			v.set(ExpSMB1, yesNo(on), "", "NEGOTIATE NT LM 0.12: "+acceptWord(on))
		} else if r.SMB.Dialect == smb.SMB1.String() {
			v.set(ExpSMB1, Yes, "", "NEGOTIATE: the checks ran over NT LM 0.12")
		}
		if r.SMB.Dialect != "" {
			v.set(ExpSigning, yesNo(r.SMB.SigningRequired), "", fmt.Sprintf("NEGOTIATE (%s) SecurityMode: signing enabled %v, required %v", r.SMB.Dialect, r.SMB.SigningEnabled, r.SMB.SigningRequired))
		}
	}
	for _, s := range v.shareProbes() {
		switch {
		case s.Connect == enum.OK:
			v.set(ShareKey(s.Name), Yes, "", "TREE_CONNECT "+s.Name+": ok"+listWord(s.List))
		case s.Connect == badNetworkName:
			// A name asked for (--shares) that does not exist is shown,
			// not dropped: nothing by that name is exposed.
			v.set("share:"+s.Name, No, "", "TREE_CONNECT "+s.Name+": "+string(s.Connect)+" (no such share)")
		case s.Connect == "" || s.Connect == enum.Skipped:
		case s.Connect.IsDenied() || s.Connect == badImpersonation:
			v.set(ShareKey(s.Name), No, "", "TREE_CONNECT "+s.Name+": "+string(s.Connect))
		default:
			v.set(ShareKey(s.Name), Unknown, "", "TREE_CONNECT "+s.Name+": "+string(s.Connect))
		}
	}
}

func acceptWord(b bool) string {
	if b {
		return "accepted"
	}
	return "refused"
}

func listWord(l enum.Outcome) string {
	switch l {
	case "", enum.Skipped:
		return ""
	case enum.OK:
		return ", root listing ok"
	}
	return ", root listing " + string(l)
}

// Statuses the share verdicts tell apart: absent, and a refusal Windows
// gives a null session on a share it does not grant.
var (
	badNetworkName   = enum.StatusOutcome(ntstatus.BadNetworkName.String())
	badImpersonation = enum.StatusOutcome(ntstatus.BadImpersonationLevel.String())
	// objectNameNotFound is a pipe the server does not have.
	objectNameNotFound = enum.StatusOutcome(ntstatus.ObjectNameNotFound.String())
)

// Operation numbers of the handle-opening calls in front of the queries.
var (
	samrConnect   = []uint16{samr.OpConnect2, samr.OpConnect5, samr.OpOpenDomain}
	lsaOpenPolicy = []uint16{lsa.OpOpenPolicy, lsa.OpOpenPolicy2}
)

// ShareProbe is one anonymous tree connect, from enum's share list or
// from names the user gave (--shares).
type ShareProbe struct {
	Name    string       `json:"name"`
	Listed  bool         `json:"listed"`            // came from NetrShareEnum
	Connect enum.Outcome `json:"connect"`           // ok | NTSTATUS name | skipped
	List    enum.Outcome `json:"list,omitempty"`    // ok | NTSTATUS name | skipped
	Entries int          `json:"entries,omitempty"` // names in the root listing
}

// Probes are audit's own anonymous probes beside enum's.
type Probes struct {
	Shares []ShareProbe `json:"shares,omitempty"`
	// Control is the tree connect to a random share name: a proper
	// STATUS_BAD_NETWORK_NAME shows the server tells "absent" from "denied".
	Control *ShareProbe `json:"control,omitempty"`
	// ControlPipe is the status of opening a random pipe name.
	ControlPipe enum.Outcome `json:"control_pipe,omitempty"`
}

// shareProbes merges enum's share results with audit's probes (the probe
// wins for a name both have).
func (v *view) shareProbes() []ShareProbe {
	var out []ShareProbe
	idx := map[string]int{}
	for _, s := range v.r.Shares {
		idx[strings.ToLower(s.Name)] = len(out)
		out = append(out, ShareProbe{Name: s.Name, Listed: true, Connect: s.Anonymous.Connect, List: s.Anonymous.List, Entries: len(s.Anonymous.Entries)})
	}
	if v.probes != nil {
		for _, p := range v.probes.Shares {
			if i, ok := idx[strings.ToLower(p.Name)]; ok {
				p.Listed = p.Listed || out[i].Listed
				out[i] = p
				continue
			}
			idx[strings.ToLower(p.Name)] = len(out)
			out = append(out, p)
		}
	}
	return slices.DeleteFunc(out, func(s ShareProbe) bool { return strings.EqualFold(s.Name, "IPC$") })
}

// exposures returns v.exp in a stable order.
func (v *view) exposures() []Exposure {
	var out []Exposure
	for _, n := range []string{ExpNullSession, ExpIPC, ExpUsers, ExpShares, ExpPolicy, ExpSIDLookup, ExpGuest, ExpSMB1, ExpSigning} {
		if e, ok := v.exp[n]; ok {
			out = append(out, e)
		}
	}
	var shares []Exposure
	for n, e := range v.exp {
		if strings.HasPrefix(n, keyShare) {
			shares = append(shares, e)
		}
	}
	slices.SortFunc(shares, func(a, b Exposure) int { return strings.Compare(a.Name, b.Name) })
	return append(out, shares...)
}

func portWord(o enum.Outcome) string {
	if o == "" {
		return "not probed"
	}
	return string(o)
}
