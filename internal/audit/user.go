package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// UserView is the second look at a host, as a user (audit --user): per
// item, what the stranger (the anonymous run) and the user saw, and the
// gap between them.
type UserView struct {
	Account string `json:"account"`
	// Session is the user's logon: allowed, guest, denied or error, with
	// the status.
	Session string `json:"session"`
	Status  string `json:"status,omitempty"`
	// Error and Layer say where the user's run stopped, if it did.
	Error string     `json:"error,omitempty"`
	Layer enum.Layer `json:"layer,omitempty"`
	// CredentialRefused: the server refused the credential
	// (STATUS_LOGON_FAILURE, STATUS_ACCOUNT_LOCKED_OUT, ...); it was tried
	// once and not used again on this host.
	CredentialRefused bool  `json:"credential_refused,omitempty"`
	Items             []Gap `json:"items"`
}

// Gap is one item seen twice.
type Gap struct {
	Key string `json:"key"`
	// Anonymous and User are yes, no or unknown; absent when that run did
	// not examine the item.
	Anonymous string `json:"anonymous,omitempty"`
	User      string `json:"user,omitempty"`
	// Gap: "user only" (the stranger is kept out, the user is not), "both",
	// "neither", "anonymous only", or "unknown" when either side is not
	// decided.
	Gap          string `json:"gap"`
	UserEvidence string `json:"user_evidence,omitempty"`
}

// Gap values.
const (
	GapUserOnly      = "user only"
	GapBoth          = "both"
	GapNeither       = "neither"
	GapAnonymousOnly = "anonymous only"
	GapUnknown       = "unknown"
)

// notIdentity are items that do not depend on who logs on.
var notIdentity = []string{ExpNullSession, ExpGuest, ExpReachable, ExpSMB1, ExpSigning}

// refusedLogon lists the statuses after which a credential is not used
// again on a host: another try could only count as another bad password
// towards the account's lockout.
var refusedLogon = []ntstatus.Status{ntstatus.LogonFailure, ntstatus.AccountLockedOut, ntstatus.AccountDisabled,
	ntstatus.PasswordExpired, ntstatus.AccountRestriction, ntstatus.WrongPassword}

// CredentialRefused reports whether the user run's logon was refused with
// one of the statuses that stop the credential's use on that host.
func CredentialRefused(user *enum.Result) bool {
	s := user.Sessions["user"]
	if s == nil || s.Result != enum.Denied {
		return false
	}
	for _, st := range refusedLogon {
		if s.Status == st.String() {
			return true
		}
	}
	return false
}

// CompareUser sets rep.User from the user run, and adds the notes where
// the authenticated view decides what the anonymous one leaves open.
func CompareUser(rep *Report, anon, user *enum.Result) {
	v := &UserView{Account: user.Account, Error: user.Error, Layer: user.Layer, CredentialRefused: CredentialRefused(user), Items: []Gap{}}
	if s := user.Sessions["user"]; s != nil {
		v.Session, v.Status = string(s.Result), s.Status
	}
	rep.User = v
	if v.CredentialRefused {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the credential of %s was refused (%s): it was tried once and not used again on this host", v.Account, v.Status))
		return
	}
	au := map[string]Item{}
	for _, it := range Items(anon, rep) {
		au[it.Key] = it
	}
	us := map[string]Item{}
	if v.Session == string(enum.Allowed) {
		for _, it := range Items(user, nil) {
			us[it.Key] = it
		}
	}
	keys := []string{}
	for k := range au {
		keys = append(keys, k)
	}
	for k := range us {
		if _, ok := au[k]; !ok {
			keys = append(keys, k)
		}
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return slices.Contains(notIdentity, k) })
	slices.Sort(keys)
	// The session itself: the stranger's null session against the user's.
	if n := anon.Sessions["null"]; n != nil || v.Session != "" {
		g := Gap{Key: "session", UserEvidence: v.Status}
		if n != nil {
			g.Anonymous = stateOf(n.Result == enum.Allowed, n.Result == enum.Denied)
		}
		if v.Session != "" {
			g.User = stateOf(v.Session == string(enum.Allowed), v.Session == string(enum.Denied))
		}
		g.Gap = gapOf(g.Anonymous, g.User)
		v.Items = append(v.Items, g)
	}
	for _, k := range keys {
		g := Gap{Key: k, Anonymous: au[k].State, User: us[k].State, UserEvidence: us[k].Evidence}
		g.Gap = gapOf(g.Anonymous, g.User)
		v.Items = append(v.Items, g)
	}
	rep.Notes = append(rep.Notes, v.decisions()...)
	v.settle(rep.Settings)
}

// settle lets the second look decide the restrict-anonymous settings
// where the anonymous view alone cannot: a refusal the user gets too is
// not that setting's doing (the observation drops to "consistent"), and a
// refusal only the stranger gets is evidence for it.
func (v *UserView) settle(settings []SettingState) {
	ipc, _ := v.gap(ExpIPC)
	users, _ := v.gap(ExpUsers)
	for i := range settings {
		s := &settings[i]
		if s.Name != RestrictAnonymous && s.Name != RestrictAnonymousSAM && s.Name != SambaRestrictAnonymous {
			continue
		}
		if s.State != StateObserved {
			continue
		}
		switch {
		case ipc.Gap == GapNeither || (ipc.Gap == GapBoth && users.Gap == GapNeither && s.Value != "0"):
			s.State = StateConsistent
			s.Evidence = append(s.Evidence, fmt.Sprintf("as %s the same is refused: the refusal is not anonymous-only, so it does not show this setting", v.Account))
		case ipc.Gap == GapUserOnly:
			s.Evidence = append(s.Evidence, fmt.Sprintf("as %s: IPC$ allowed (refused to anonymous callers only)", v.Account))
		case users.Gap == GapUserOnly:
			s.Evidence = append(s.Evidence, fmt.Sprintf("as %s: users enumerated (refused to anonymous callers only)", v.Account))
		}
	}
}

func stateOf(yes, no bool) string {
	switch {
	case yes:
		return Yes
	case no:
		return No
	}
	return Unknown
}

func gapOf(anon, user string) string {
	switch {
	case anon == No && user == Yes:
		return GapUserOnly
	case anon == Yes && user == Yes:
		return GapBoth
	case anon == No && user == No:
		return GapNeither
	case anon == Yes && user == No:
		return GapAnonymousOnly
	}
	return GapUnknown
}

func (v *UserView) gap(key string) (Gap, bool) {
	for _, g := range v.Items {
		if g.Key == key {
			return g, true
		}
	}
	return Gap{}, false
}

// decisions are what the second look settles: RestrictAnonymous 2 against
// 1 (IPC$ itself refused to strangers only, or only the enumerations), and
// that a refusal users get too is no restriction of anonymous access.
func (v *UserView) decisions() []string {
	var out []string
	ipc, _ := v.gap(ExpIPC)
	switch ipc.Gap {
	case GapUserOnly:
		out = append(out, fmt.Sprintf("IPC$ is refused to a stranger and open to %s: anonymous access is restricted as such (RestrictAnonymous=2, or Samba's restrict anonymous = 2), not IPC$ closed to everyone", v.Account))
	case GapNeither:
		out = append(out, fmt.Sprintf("IPC$ is refused to %s too: the refusal is no anonymous restriction", v.Account))
	case GapBoth:
		var enums []string
		for _, k := range []string{ExpUsers, ExpGroups, ExpShares, ExpPolicy} {
			if g, ok := v.gap(k); ok && g.Gap == GapUserOnly {
				enums = append(enums, ExposureTitle(k))
			}
		}
		if len(enums) > 0 {
			out = append(out, fmt.Sprintf("IPC$ is open to a stranger but %s only to %s: enumerations are restricted for anonymous callers (RestrictAnonymous=1 or RestrictAnonymousSAM, or Samba's restrict anonymous = 1), not closed", strings.Join(enums, ", "), v.Account))
		}
	}
	var neither []string
	for _, g := range v.Items {
		if g.Gap == GapNeither && g.Key != ExpIPC && g.Key != "session" {
			neither = append(neither, g.Key)
		}
	}
	if len(neither) > 0 {
		out = append(out, fmt.Sprintf("refused to %s too, so no anonymous restriction: %s", v.Account, strings.Join(neither, ", ")))
	}
	if g, ok := v.gap(ExpUsers); ok && g.User == No {
		out = append(out, fmt.Sprintf("%s cannot enumerate users either: SAMR is closed to users (on Windows 2016 and later, RestrictRemoteSAM)", v.Account))
	}
	return out
}
