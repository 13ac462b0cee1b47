// Package enum holds the anonymous checks: each takes a host's session and
// fills its part of a Result, with the evidence (call → status) that led to it.
package enum

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/ldap"
)

// Schema names the JSON contract version (docs/json.md).
const Schema = "nullsweep/1"

// Result is everything learned about one host. A key that could not be read
// stays nil/absent and the reason is in Checks; an empty non-nil list means
// "read, none". Fields are filled layer by layer; a failure at one layer
// keeps what earlier layers learned.
type Result struct {
	Schema string `json:"schema"`
	Target string `json:"target"`
	// Address is the IP address examined: Target itself, or what it
	// resolved to (absent when resolution failed).
	Address string `json:"address,omitempty"`
	// Error and Layer say where the host's examination stopped, if it did.
	Error string `json:"error,omitempty"`
	Layer Layer  `json:"layer,omitempty"`
	// Account is DOMAIN\user of an authenticated run (enum --user): every
	// SMB check then ran on that user's session. Absent: anonymous.
	Account string `json:"account,omitempty"`

	Ports map[string]Outcome `json:"ports"` // "445","139" → open|closed|filtered
	// Port is the SMB port the session and checks used (445 or 139).
	Port     int                       `json:"port,omitempty"`
	SMB      *SMBInfo                  `json:"smb,omitempty"`
	NetBIOS  *NetBIOS                  `json:"netbios,omitempty"`
	Sessions map[string]*SessionResult `json:"sessions,omitempty"` // "null", "guest"
	IPC      *Step                     `json:"ipc,omitempty"`
	Pipes    map[string]Outcome        `json:"pipes,omitempty"` // name → open | NTSTATUS name | skipped

	ServerInfo    *ServerInfo    `json:"server_info,omitempty"`
	Domain        *Domain        `json:"domain,omitempty"`
	PrimaryDomain *PrimaryDomain `json:"primary_domain,omitempty"`
	Users         []User         `json:"users,omitzero"`
	Machines      []User         `json:"machines,omitzero"` // machine and trust accounts (-M)
	Groups        []Group        `json:"groups,omitzero"`
	Shares        []Share        `json:"shares,omitzero"`
	Policy        *Policy        `json:"policy,omitempty"`
	Trusts        []Trust        `json:"trusts,omitzero"`
	RIDs          []RID          `json:"rids,omitzero"`
	RIDCycling    *RIDCycling    `json:"rid_cycling,omitempty"`
	Names         []NameLookup   `json:"names,omitempty"` // --names: each question and its answer
	Browse        *Browse        `json:"browse,omitempty"`
	// Endpoints is the endpoint mapper's list (-E); LDAP what the LDAP
	// ports said (-D).
	Endpoints *Endpoints   `json:"endpoints,omitempty"`
	LDAP      *ldap.Result `json:"ldap,omitempty"`

	Checks []Check `json:"checks"`
}

// Answered says whether a result that stopped early (layer, err) still
// answers the question asked: SMB ports that refused the connection
// ("tcp/445 closed": a RST) or a null session the server denied are the
// host's answer, not a failure; a deadline, an interrupt, a dropped
// connection or a filtered port is not. A result with no error answered.
func Answered(layer Layer, err string, nullDenied bool) bool {
	switch {
	case err == "":
		return true
	case layer == LayerSession:
		return nullDenied
	case layer == LayerReachability:
		return strings.HasPrefix(err, "tcp/") && strings.HasSuffix(err, " closed")
	}
	return false
}

// SMBInfo is layer 2: negotiate facts.
type SMBInfo struct {
	// Dialects maps each dialect the server answered for to whether it
	// accepted it; nil (absent) when not probed or no probe got an answer.
	Dialects        map[string]bool `json:"dialects,omitempty"` // "SMB 1.0".."SMB 3.1.1" → accepted
	Dialect         string          `json:"dialect,omitempty"`  // used for the checks
	SigningEnabled  bool            `json:"signing_enabled"`
	SigningRequired bool            `json:"signing_required"`
	ServerGUID      string          `json:"server_guid,omitempty"`
	Capabilities    uint32          `json:"capabilities,omitempty"`
	NTLM            *NTLM           `json:"ntlm,omitempty"`
	NativeOS        string          `json:"native_os,omitempty"`
	NativeLanMan    string          `json:"native_lanman,omitempty"`
}

// MarshalJSON leaves the signing flags out unless a dialect was
// negotiated: they come from the NEGOTIATE response, and false is not
// what a failed negotiate says.
func (s SMBInfo) MarshalJSON() ([]byte, error) {
	type plain SMBInfo
	if s.Dialect != "" {
		return json.Marshal(plain(s))
	}
	return json.Marshal(struct {
		plain
		SigningEnabled  *bool `json:"signing_enabled,omitempty"`
		SigningRequired *bool `json:"signing_required,omitempty"`
	}{plain: plain(s)})
}

// NTLM is what the NTLMSSP CHALLENGE leaked.
type NTLM struct {
	NetBIOSComputer string `json:"netbios_computer,omitempty"`
	NetBIOSDomain   string `json:"netbios_domain,omitempty"`
	DNSComputer     string `json:"dns_computer,omitempty"`
	DNSDomain       string `json:"dns_domain,omitempty"`
	DNSTree         string `json:"dns_tree,omitempty"`
	OSVersion       string `json:"os_version,omitempty"`
}

// NetBIOS is the NBNS node status answer (UDP 137).
type NetBIOS struct {
	Names []NetBIOSName `json:"names"`
	MAC   string        `json:"mac,omitempty"`
}

// NetBIOSName is one registered name.
type NetBIOSName struct {
	Name   string `json:"name"`
	Suffix string `json:"suffix"` // "<20>"
	Type   string `json:"type"`   // "file server", "master browser", …
	Group  bool   `json:"group"`
}

// SessionResult is layer 3 for one kind of logon.
type SessionResult struct {
	Result       Outcome `json:"result"` // allowed | guest | denied | error
	Status       string  `json:"status,omitempty"`
	SessionFlags *uint16 `json:"session_flags,omitempty"`
	Dialect      string  `json:"dialect,omitempty"`
	Form         string  `json:"form,omitempty"` // ntlmssp-anonymous | empty-password | ntlmv2
	Error        string  `json:"error,omitempty"`
}

// Step is a single step's result.
type Step struct {
	Result Outcome `json:"result"` // allowed | denied | error | skipped
	Status string  `json:"status,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// ServerInfo is SRVSVC NetrServerGetInfo 101 and WKSSVC NetrWkstaGetInfo 100.
type ServerInfo struct {
	PlatformID   uint32       `json:"platform_id"`
	Name         string       `json:"name"`
	VersionMajor uint32       `json:"version_major"`
	VersionMinor uint32       `json:"version_minor"`
	Type         uint32       `json:"type"`
	TypeNames    []string     `json:"type_names,omitempty"`
	Comment      string       `json:"comment"`
	Workstation  *Workstation `json:"workstation,omitempty"`
}

// Workstation is WKSSVC NetrWkstaGetInfo level 100.
type Workstation struct {
	PlatformID   uint32 `json:"platform_id"`
	ComputerName string `json:"computer_name"`
	LanGroup     string `json:"lan_group"`
	VersionMajor uint32 `json:"version_major"`
	VersionMinor uint32 `json:"version_minor"`
}

// Domain is the account domain: the one whose users and policy are read.
type Domain struct {
	Name      string `json:"name"`
	SID       string `json:"sid,omitempty"`
	DNSDomain string `json:"dns_domain,omitempty"`
	Forest    string `json:"forest,omitempty"`
	Role      string `json:"role,omitempty"`
}

// PrimaryDomain is LSA PolicyPrimaryDomainInformation; SID is null for a workgroup.
type PrimaryDomain struct {
	Name string  `json:"name"`
	SID  *string `json:"sid"`
}

// User is one account of the account domain.
type User struct {
	RID         uint32 `json:"rid"`
	Name        string `json:"name"`
	FullName    string `json:"full_name"`
	Description string `json:"description"`
	// ACB and Flags are the account-control bits and their names; absent
	// when not read (Samba AD's display information carries none; -d
	// reads them per user).
	ACB   *uint32  `json:"acb,omitempty"`
	Flags []string `json:"flags,omitempty"`
	// Details is SAMR QueryInformationUser class 21 (-d); absent when not
	// asked or refused (the checks say which).
	Details *UserDetails `json:"details,omitempty"`
}

// UserDetails is SAMPR_USER_ALL_INFORMATION ([MS-SAMR] 2.2.7.6) as -d
// reads it: times are RFC 3339 UTC, null for "never"/"not set" (a FILETIME
// of 0 or 0x7fffffffffffffff); raw keeps every FILETIME as read.
type UserDetails struct {
	HomeDirectory      string            `json:"home_directory"`
	HomeDrive          string            `json:"home_drive"`
	ProfilePath        string            `json:"profile_path"`
	ScriptPath         string            `json:"script_path"`
	Workstations       string            `json:"workstations"`
	UserComment        string            `json:"user_comment"`
	PrimaryGroupRID    uint32            `json:"primary_group_rid"`
	LastLogon          *string           `json:"last_logon"`
	LastLogoff         *string           `json:"last_logoff"`
	PasswordLastSet    *string           `json:"password_last_set"`
	PasswordCanChange  *string           `json:"password_can_change"`
	PasswordMustChange *string           `json:"password_must_change"`
	AccountExpires     *string           `json:"account_expires"`
	BadPasswordCount   uint16            `json:"bad_password_count"`
	LogonCount         uint16            `json:"logon_count"`
	PasswordExpired    bool              `json:"password_expired"`
	Raw                map[string]string `json:"raw"`
}

// Group is a domain group or alias with its members as plain names.
type Group struct {
	RID     uint32   `json:"rid"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"` // domain | alias | builtin
	Comment string   `json:"comment,omitempty"`
	Members []string `json:"members"`
}

// Share is one share from SRVSVC NetrShareEnum with the anonymous probes.
type Share struct {
	Name      string         `json:"name"`
	Type      string         `json:"type"` // disk, ipc, printer, device + special/temporary
	TypeRaw   uint32         `json:"type_raw"`
	Comment   string         `json:"comment"`
	Anonymous ShareAnonymous `json:"anonymous"`
}

// ShareAnonymous: each field is OK, Skipped, or the refusing status's name.
type ShareAnonymous struct {
	Connect Outcome  `json:"connect"`
	List    Outcome  `json:"list"`
	Entries []string `json:"entries,omitempty"`
}

// Policy is the account domain's password, lockout and logoff policy.
// Durations are whole seconds; nil means "never"/"none".
type Policy struct {
	Password *PasswordPolicy   `json:"password,omitempty"`
	Lockout  *LockoutPolicy    `json:"lockout,omitempty"`
	Logoff   *LogoffPolicy     `json:"logoff,omitempty"`
	Raw      map[string]string `json:"raw,omitempty"` // field → raw 64-bit value as 0x%016x
}

// PasswordPolicy is DOMAIN_PASSWORD_INFORMATION.
type PasswordPolicy struct {
	MinLength     uint16   `json:"min_length"`
	HistoryLength uint16   `json:"history_length"`
	MaxAgeS       *int64   `json:"max_age_s"`
	MinAgeS       *int64   `json:"min_age_s"`
	Properties    []string `json:"properties"`
	PropertiesRaw uint32   `json:"properties_raw"`
}

// LockoutPolicy is DOMAIN_LOCKOUT_INFORMATION.
type LockoutPolicy struct {
	Threshold uint16 `json:"threshold"`
	DurationS *int64 `json:"duration_s"`
	WindowS   *int64 `json:"window_s"`
}

// LogoffPolicy is DOMAIN_LOGOFF_INFORMATION.
type LogoffPolicy struct {
	ForceLogoffS *int64 `json:"force_logoff_s"`
}

// Trust is one trusted domain.
type Trust struct {
	Name      string `json:"name"`
	DNSName   string `json:"dns_name,omitempty"`
	SID       string `json:"sid,omitempty"`
	Direction string `json:"direction,omitempty"`
	Type      string `json:"type,omitempty"`
}

// RID is one SID translated by RID cycling.
//
// In a Result's JSON, domain is an index into rid_cycling.domains rather
// than the name: every SID a server translates shares its referenced
// domain's name (up to lsa.MaxDomainNameLen characters), so repeating it
// would make the JSON far larger than the reply (docs/bounds.md). Result's
// MarshalJSON and UnmarshalJSON convert; Go code sees the name.
type RID struct {
	RID    uint32 `json:"rid"`
	SID    string `json:"sid"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
	Type   string `json:"type"` // user, group, alias, well-known, domain, deleted, invalid, unknown, computer

	// domainRef is 1 + the index of Domain in rid_cycling.domains while a
	// Result is encoded or decoded; 0 otherwise (domain is then the name).
	domainRef int
}

// RID cycling paths.
const (
	RIDPathLSA  = "lsa"  // LsarLookupSids
	RIDPathSAMR = "samr" // SamrLookupIdsInDomain
	RIDPathNone = "none" // every path refused
)

// NameLookup is one name asked with --names and what became of it.
type NameLookup struct {
	Name   string `json:"name"`   // as asked
	Result string `json:"result"` // mapped | not-mapped | not-looked-up
	SID    string `json:"sid,omitempty"`
	Domain string `json:"domain,omitempty"`
	Type   string `json:"type,omitempty"` // as in rids[]
	// Via names the call that answered; Status its status (LSA's
	// STATUS_SOME_NOT_MAPPED and the like).
	Via    string `json:"via,omitempty"`
	Status string `json:"status,omitempty"`
	// Error says why a name was not looked up (the call failed or the
	// path never got that far).
	Error string `json:"error,omitempty"`
}

// Results of a NameLookup.
const (
	NameMapped      = "mapped"
	NameNotMapped   = "not-mapped"
	NameNotLookedUp = "not-looked-up"
)

// RIDCycling summarises how SIDs were translated.
type RIDCycling struct {
	Path string `json:"path"` // lsa | samr | none
	// LSAAccess is the access mask of the policy handle LSA translated on
	// (path lsa): 0x800 POLICY_LOOKUP_NAMES, or what a server that refuses
	// it granted instead (0x1 POLICY_VIEW_LOCAL_INFORMATION, 0x02000000
	// MAXIMUM_ALLOWED).
	LSAAccess     uint32            `json:"lsa_access,omitempty"`
	Denied        []string          `json:"denied,omitempty"`
	DomainSIDs    map[string]string `json:"domain_sids,omitempty"`   // source → SID
	Administrator string            `json:"administrator,omitempty"` // RID 500's name
	Guest         string            `json:"guest,omitempty"`         // RID 501's name

	// domains is the JSON's table of the domains rids[] refer to; it
	// exists only while a Result is encoded or decoded.
	domains []RIDDomain
}

// RIDDomain is one entry of rid_cycling.domains: a domain's name as the
// server gave it and the SID its RIDs were counted in.
type RIDDomain struct {
	Name string `json:"name"`
	SID  string `json:"sid"`
}

// Browse is RAP NetServerEnum2 over \PIPE\LANMAN.
type Browse struct {
	Unavailable string         `json:"unavailable,omitempty"`
	Servers     []BrowseServer `json:"servers"`
	Domains     []BrowseServer `json:"domains"`
}

// BrowseServer is one browse list entry.
type BrowseServer struct {
	Name string `json:"name"`
	// Domain is the domain the server list was asked for ("" = none, as
	// smbclient -L asks); empty for entries of the domain list.
	Domain    string `json:"domain,omitempty"`
	TypeFlags uint32 `json:"type_flags"`
	Comment   string `json:"comment"`
}

// FlagsText spells a session's flags one way for both dialect families:
// the hex value and the flag names ([MS-SMB2] 2.2.6 SessionFlags
// IS_GUEST, IS_NULL, ENCRYPT_DATA; for SMB1 the Action field's
// SMB_SETUP_GUEST, [MS-CIFS] 2.2.4.53.2, is the same IS_GUEST). "" when
// the server sent none.
func (s *SessionResult) FlagsText() string {
	if s == nil || s.SessionFlags == nil {
		return ""
	}
	f := *s.SessionFlags
	out := fmt.Sprintf("0x%04x", f)
	var names []string
	if f&0x1 != 0 {
		names = append(names, "IS_GUEST")
	}
	if s.Dialect != "SMB 1.0" {
		if f&0x2 != 0 {
			names = append(names, "IS_NULL")
		}
		if f&0x4 != 0 {
			names = append(names, "ENCRYPT_DATA")
		}
	}
	if len(names) > 0 {
		out += " " + strings.Join(names, "|")
	}
	return out
}
