package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
)

// FindingID names a kind of finding. It never changes when a title is
// reworded: stores and diffs key on it (with Finding.Key where one kind
// occurs several times on a host). docs/audit.md lists every one.
type FindingID string

// Finding IDs.
const (
	FindUnlimitedGuessing     FindingID = "unlimited-guessing"
	FindLockoutDoS            FindingID = "lockout-dos"
	FindPasswordInDescription FindingID = "password-in-description"
	FindPipeWinreg            FindingID = "pipe-winreg"
	FindUsersEnumerable       FindingID = "users-enumerable"
	FindRID500Visible         FindingID = "rid500-visible"
	FindSIDTranslation        FindingID = "sid-translation"
	FindShareAnonymous        FindingID = "share-anonymous"
	FindGuestLogon            FindingID = "guest-logon"
	FindSMB1Enabled           FindingID = "smb1-enabled"
	FindDrift                 FindingID = "drift"
	FindNullSession           FindingID = "null-session-allowed"
	FindSharesEnumerable      FindingID = "shares-enumerable"
	FindPolicyReadable        FindingID = "policy-readable"
	FindGroupsEnumerable      FindingID = "groups-enumerable"
	FindBrowseList            FindingID = "browse-list"
	FindSigningNotRequired    FindingID = "signing-not-required"
	FindSMBPortsOpen          FindingID = "smb-ports-open"
	// The doors beside SMB (doors.go).
	FindLDAPAnonymousSearch FindingID = "ldap-anonymous-search"
	FindRPCOverTCP          FindingID = "rpc-over-tcp"
	FindEndpointList        FindingID = "endpoint-list"
	FindLDAPRootDSE         FindingID = "ldap-rootdse"
)

// FindingIDs lists every finding ID, in docs/audit.md's order.
var FindingIDs = []FindingID{
	FindUnlimitedGuessing, FindLockoutDoS, FindPasswordInDescription, FindPipeWinreg, FindUsersEnumerable,
	FindRID500Visible, FindSIDTranslation, FindShareAnonymous, FindGuestLogon, FindSMB1Enabled, FindDrift,
	FindNullSession, FindSharesEnumerable, FindPolicyReadable, FindGroupsEnumerable, FindBrowseList,
	FindSigningNotRequired, FindSMBPortsOpen, FindLDAPAnonymousSearch, FindRPCOverTCP, FindEndpointList, FindLDAPRootDSE,
}

// kindTitles are titles of each kind of finding without a host's
// particulars (counts, names, thresholds): what a view over many hosts
// shows when their own titles differ.
var kindTitles = map[FindingID]string{
	FindUnlimitedGuessing:     "Unlimited password guessing: users are enumerable and there is no lockout threshold",
	FindLockoutDoS:            "Anyone can lock every account out: users are enumerable and a lockout threshold is set",
	FindPasswordInDescription: "Account descriptions readable anonymously look like they hold a password",
	FindPipeWinreg:            `\PIPE\winreg opens to anonymous callers`,
	FindUsersEnumerable:       "Account names readable anonymously",
	FindRID500Visible:         "RID 500 (built-in Administrator) resolves anonymously",
	FindSIDTranslation:        "Anonymous SID/name translation allowed",
	FindShareAnonymous:        "Shares open to anonymous callers",
	FindGuestLogon:            "Unknown user names are logged on as guest",
	FindSMB1Enabled:           "SMB1 accepted",
	FindDrift:                 "Drift: the host does not do what the policy files say",
	FindNullSession:           "Null session accepted and IPC$ open to anonymous callers",
	FindSharesEnumerable:      "Share list readable anonymously",
	FindPolicyReadable:        "Password and lockout policy readable anonymously",
	FindGroupsEnumerable:      "Groups readable anonymously",
	FindBrowseList:            "Browse list readable anonymously (RAP over SMB1)",
	FindSigningNotRequired:    "SMB signing not required",
	FindSMBPortsOpen:          "SMB reachable on tcp/445 or tcp/139",
	FindLDAPAnonymousSearch:   "The directory answers anonymous LDAP searches",
	FindRPCOverTCP:            "RPC answers anonymously over TCP (ncacn_ip_tcp)",
	FindEndpointList:          "The endpoint mapper lists RPC endpoints to anyone",
	FindLDAPRootDSE:           "LDAP names the domain and the DC to anyone (rootDSE)",
}

// KindTitle is the title of a kind of finding without any one host's
// particulars; an unknown id (a newer database) reads as itself.
func KindTitle(id FindingID) string {
	if t, ok := kindTitles[id]; ok {
		return t
	}
	return string(id)
}

// Exposure keys besides the exposure names (ExpNullSession, …): the items a
// diff compares that Assess does not list as exposures of their own.
const (
	ExpReachable  = "reachable"   // TCP 445 or 139 answers
	ExpGroups     = "groups"      // SAMR group and alias enumeration
	ExpRIDCycling = "rid-cycling" // SIDs translated by RID cycling
	// Prefixes of the per-name keys.
	keyShare = "share:"
	keyPipe  = "pipe:"
	keyUser  = "user:"
)

// ShareKey is the key of the anonymous tree connect to one share.
func ShareKey(name string) string { return keyShare + name }

// PipeKey is the key of the anonymous open of one named pipe.
func PipeKey(name string) string { return keyPipe + name }

// userKey names the account a finding is about.
func userKey(name string) string { return keyUser + name }

// ExposureKeys lists the fixed exposure keys; ShareKey and PipeKey make
// the others. docs/json.md lists every one.
var ExposureKeys = []string{
	ExpReachable, ExpNullSession, ExpGuest, ExpIPC, ExpUsers, ExpGroups, ExpShares, ExpPolicy,
	ExpSIDLookup, ExpRIDCycling, ExpSMB1, ExpSigning,
}

// Item is one exposure a diff compares: a stable key, its state (Yes, No,
// Unknown) and the evidence in one line.
type Item struct {
	Key      string `json:"key"`
	State    string `json:"state"`
	Evidence string `json:"evidence,omitempty"`
}

// Items lists the exposure items of one host, sorted by key: every
// exposure of rep (Assess(r) when rep is nil), and what a diff also
// compares: reachability, each pipe, group enumeration and RID cycling.
// An item that was not examined is absent; Unknown means examined and not
// decided.
func Items(r *enum.Result, rep *Report) []Item {
	if r == nil {
		return nil
	}
	if rep == nil {
		rep = Assess(r, Options{})
	}
	var out []Item
	add := func(key, state string, why ...string) {
		out = append(out, Item{Key: key, State: state, Evidence: strings.Join(slices.DeleteFunc(why, func(s string) bool { return s == "" }), "; ")})
	}
	for _, e := range rep.Exposure {
		add(e.Name, e.Value, e.Because...)
	}
	v := &view{r: r, probes: rep.Probes, exp: map[string]Exposure{}, host: rep.Host}
	v.observe()

	if len(r.Ports) > 0 {
		var why []string
		state := Unknown
		for _, p := range []string{"445", "139"} {
			st, ok := r.Ports[p]
			if !ok {
				continue
			}
			why = append(why, fmt.Sprintf("tcp/%s %s", p, st))
			switch {
			case st == enum.Open:
				state = Yes
			case st == enum.Closed && state == Unknown:
				state = No
			}
		}
		// One filtered port leaves "no" undecided: the host may not have answered.
		if state == No {
			for _, st := range r.Ports {
				if st != enum.Closed {
					state = Unknown
				}
			}
		}
		add(ExpReachable, state, why...)
	}
	for name, st := range r.Pipes {
		switch {
		case st == enum.Open:
			add(PipeKey(name), Yes, v.pipeEvidence(name))
		case st.IsDenied() || st == objectNameNotFound:
			add(PipeKey(name), No, v.pipeEvidence(name))
		case st == enum.Skipped:
			if ipc := v.get(ExpIPC); ipc.Value == No {
				add(PipeKey(name), No, append([]string{v.pipeEvidence(name)}, ipc.Because...)...)
			}
		default:
			add(PipeKey(name), Unknown, v.pipeEvidence(name))
		}
	}
	// Groups: read (or asked for) here, or closed before the call (a
	// denied gate, IPC$ or logon); absent when the check was not selected.
	groupCalls := v.calls(enum.IfaceSAMR, samr.OpEnumerateGroupsInDomain, samr.OpEnumerateAliasesInDomain)
	v.rpcExposure(ExpGroups, "samr", groupCalls, len(r.Groups) > 0, fmt.Sprintf("%d groups read anonymously", len(r.Groups)))
	if g := v.get(ExpGroups); r.Groups != nil || len(groupCalls) > 0 || g.Value == No {
		add(ExpGroups, g.Value, g.Because...)
	}
	if c := r.RIDCycling; c != nil {
		switch {
		case len(r.RIDs) > 0:
			add(ExpRIDCycling, Yes, fmt.Sprintf("%s RID cycling: %d SIDs translated", c.Path, len(r.RIDs)))
		case c.Path == enum.RIDPathNone && len(c.Denied) > 0:
			add(ExpRIDCycling, No, append([]string{"every path denied"}, c.Denied...)...)
		default:
			add(ExpRIDCycling, Unknown, "RID cycling by "+c.Path+" translated nothing")
		}
	}
	slices.SortFunc(out, func(a, b Item) int { return strings.Compare(a.Key, b.Key) })
	return slices.CompactFunc(out, func(a, b Item) bool { return a.Key == b.Key })
}
