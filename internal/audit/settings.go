// Package audit turns what a null session saw (an enum.Result) into a
// verdict: which setting allows each exposure, how to close it, and what
// closing it may break. The settings are one data table (Settings); the
// inference, the findings and the offline policy prediction all read it.
package audit

import "strings"

// Setting is one row of the settings table: a Windows policy, registry
// value, firewall rule or Samba parameter that decides what an anonymous
// caller gets. The Windows facts come from the Microsoft documents each row names in References, the
// Samba rows from smb.conf(5) of Samba 4.17.
type Setting struct {
	// Name is the registry value, policy key or smb.conf parameter; it is
	// the "name"/"setting" used in JSON.
	Name string
	// Platform is "windows", "samba" or "any" (the network).
	Platform string
	// Title is the GPO display name or what the row is about.
	Title string
	// GPO is the policy path and the recommended choice.
	GPO string
	// Registry is where the value lives: key, value name and type.
	Registry string
	// Template is the GptTmpl.inf / secedit line with the recommended value.
	Template string
	// Reg is the .reg fragment with the recommended value.
	Reg string
	// SmbConf is the smb.conf line(s) with the recommended value.
	SmbConf string
	// Values lists the possible values and what each means.
	Values []Value
	// Defaults lists the default per OS family and role.
	Defaults []Default
	// Recommended is the hardened value and who recommends it.
	Recommended string
	// Observe says how a remote anonymous probe can see the setting.
	Observe string
	// MayBreak lists what closing it is known to break (Minasi 2003's list,
	// mapped to settings by KB823659 and the References).
	MayBreak []string
	// References names the documents behind the row.
	References []string
	// Equivalent names the row for the same effect on the other platform
	// (a Windows row's Samba parameter and the reverse).
	Equivalent string
}

// Value is one possible value of a setting.
type Value struct {
	Value   string
	Meaning string
}

// Default is a setting's default for one OS family or role.
type Default struct {
	Family string
	Value  string
}

// Names of the settings, as used in JSON and in the table.
const (
	RestrictAnonymous         = "RestrictAnonymous"
	RestrictAnonymousSAM      = "RestrictAnonymousSAM"
	EveryoneIncludesAnonymous = "EveryoneIncludesAnonymous"
	NullSessionPipes          = "NullSessionPipes"
	NullSessionShares         = "NullSessionShares"
	RestrictNullSessAccess    = "RestrictNullSessAccess"
	LSAAnonymousNameLookup    = "LSAAnonymousNameLookup"
	RestrictRemoteSAM         = "RestrictRemoteSAM"
	PreWindows2000            = "PreWindows2000CompatibleAccess"
	EnableGuestAccount        = "EnableGuestAccount"
	SMB1                      = "SMB1"
	RequireSecuritySignature  = "RequireSecuritySignature"
	SMBPorts                  = "SMBPorts"

	SambaRestrictAnonymous = "restrict anonymous"
	SambaMapToGuest        = "map to guest"
	SambaGuestOK           = "guest ok"
	SambaServerMinProtocol = "server min protocol"
	SambaServerSigning     = "server signing"
)

const (
	gpoBase      = `Computer Configuration\Windows Settings\Security Settings\Local Policies\Security Options\`
	regLsa       = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Lsa`
	regLanman    = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters`
	tmplLsa      = `MACHINE\System\CurrentControlSet\Control\Lsa\`
	tmplLanman   = `MACHINE\System\CurrentControlSet\Services\LanManServer\Parameters\`
	kb823659     = "KB823659 (Client, service, and program issues can occur if you change security settings and user rights assignments)"
	breakBrowse  = "Network Neighborhood / browsing from Windows 9x and NT4 clients, and those systems as master browsers"
	breakBackup  = "remote-agent backups by Backup Exec 8.5 and earlier"
	breakExpired = "changing an expired password from a Windows client"
	breakMac     = "password changes from Macintosh clients"
	breakTrust   = "NT4-style trusts and editing ACLs across a one-way trust (picking groups of the trusted domain)"
	breakMigrate = "migration tools that translate SIDs anonymously (ADMT and the like)"
	breakOlder   = "clients one or more versions older than the server (Minasi 2003: version X-1 and earlier)"
	breakSAMApps = "third-party applications that enumerate the SAM remotely (use audit mode first: events 16962–16969)"
)

// Settings is the table. Order is the report order.
var Settings = []Setting{
	{
		Name:     RestrictAnonymous,
		Platform: "windows",
		Title:    "Network access: Do not allow anonymous enumeration of SAM accounts and shares (Windows 2000: Additional restrictions for anonymous connections)",
		GPO:      gpoBase + "Network access: Do not allow anonymous enumeration of SAM accounts and shares = Enabled",
		Registry: regLsa + `\RestrictAnonymous (REG_DWORD)`,
		Template: `[Registry Values] ` + tmplLsa + `RestrictAnonymous=4,1`,
		Reg:      "[" + regLsa + "]\n\"RestrictAnonymous\"=dword:00000001",
		SmbConf:  "[global]\n  restrict anonymous = 2",
		Values: []Value{
			{"0", "no additional restriction: anonymous callers may list SAM accounts and shares"},
			{"1", "anonymous callers may not enumerate SAM account names and shares (single lookups still work, KB143474)"},
			{"2", "Windows 2000 only: no access without explicit anonymous permissions (KB246261); XP and later moved this to EveryoneIncludesAnonymous=0"},
		},
		Defaults:    []Default{{"all Windows versions and roles", "0"}},
		Recommended: "1 on member servers and workstations (CIS L1, STIG); Microsoft says it has no impact on domain controllers",
		Observe:     "non-DC: anonymous SRVSVC NetrShareEnum and SAMR user enumeration fail with ACCESS_DENIED when 1 (if the pipes open at all); a DC is governed by Pre-Windows 2000 Compatible Access instead",
		MayBreak:    []string{breakBrowse, breakBackup, breakTrust, breakOlder},
		References:  []string{"KB143474", "KB246261", kb823659, "CIS 2.3.10.3"},
		Equivalent:  SambaRestrictAnonymous,
	},
	{
		Name:        RestrictAnonymousSAM,
		Platform:    "windows",
		Title:       "Network access: Do not allow anonymous enumeration of SAM accounts",
		GPO:         gpoBase + "Network access: Do not allow anonymous enumeration of SAM accounts = Enabled",
		Registry:    regLsa + `\RestrictAnonymousSAM (REG_DWORD)`,
		Template:    `[Registry Values] ` + tmplLsa + `RestrictAnonymousSAM=4,1`,
		Reg:         "[" + regLsa + "]\n\"RestrictAnonymousSAM\"=dword:00000001",
		SmbConf:     "[global]\n  restrict anonymous = 1",
		Values:      []Value{{"0", "default permissions: anonymous may enumerate SAM accounts"}, {"1", "anonymous may not enumerate SAM accounts"}},
		Defaults:    []Default{{"NT4, 2000", "(does not exist)"}, {"XP/2003 and later, all roles", "1"}},
		Recommended: "1 (CIS L1, member servers); no impact on domain controllers",
		Observe:     "non-DC: anonymous SamrEnumerateUsersInDomain / QueryDisplayInformation → ACCESS_DENIED when 1; success ⇒ 0",
		MayBreak:    []string{breakTrust, breakExpired, breakMac, breakOlder},
		References:  []string{kb823659, "CIS 2.3.10.2"},
		Equivalent:  SambaRestrictAnonymous,
	},
	{
		Name:        EveryoneIncludesAnonymous,
		Platform:    "windows",
		Title:       "Network access: Let Everyone permissions apply to anonymous users",
		GPO:         gpoBase + "Network access: Let Everyone permissions apply to anonymous users = Disabled",
		Registry:    regLsa + `\EveryoneIncludesAnonymous (REG_DWORD)`,
		Template:    `[Registry Values] ` + tmplLsa + `EveryoneIncludesAnonymous=4,0`,
		Reg:         "[" + regLsa + "]\n\"EveryoneIncludesAnonymous\"=dword:00000000",
		Values:      []Value{{"0", "the anonymous token does not carry the Everyone SID"}, {"1", "anonymous callers act as members of Everyone"}},
		Defaults:    []Default{{"2000", "behaves as 1"}, {"XP/2003 and later", "0"}},
		Recommended: "0 (CIS L1, STIG)",
		Observe:     "indirect only: anonymous access to something granted to Everyone but not to ANONYMOUS LOGON (an Everyone-only share ACL; on a DC, Pre-Windows 2000 Compatible Access holding only Everyone) ⇒ 1",
		MayBreak:    []string{breakOlder},
		References:  []string{kb823659, "CIS 2.3.10.5"},
	},
	{
		Name:        NullSessionPipes,
		Platform:    "windows",
		Title:       "Network access: Named Pipes that can be accessed anonymously",
		GPO:         gpoBase + "Network access: Named Pipes that can be accessed anonymously = (empty on members; LSARPC, NETLOGON, SAMR on DCs)",
		Registry:    regLanman + `\NullSessionPipes (REG_MULTI_SZ)`,
		Template:    `[Registry Values] ` + tmplLanman + `NullSessionPipes=7,` + "  (DC: NullSessionPipes=7,LSARPC,NETLOGON,SAMR)",
		Reg:         "[" + regLanman + "]\n\"NullSessionPipes\"=hex(7):00,00",
		Values:      []Value{{"list of pipe names", "pipes an anonymous caller may open; enforced only while RestrictNullSessAccess=1"}},
		Defaults:    []Default{{"before 2003 SP1", "COMNAP, COMNODE, SQL\\QUERY, SPOOLSS, LLSRPC, NETLOGON, LSARPC, SAMR, BROWSER"}, {"2003 SP1 and later, DC", "netlogon, samr, lsarpc"}, {"2003 SP1 and later, member/client", "(empty)"}},
		Recommended: "DC: LSARPC, NETLOGON, SAMR (+BROWSER only if Computer Browser runs); members: none (CIS); never winreg",
		Observe:     "anonymous CREATE of \\PIPE\\name on IPC$ for each well-known pipe: success vs STATUS_ACCESS_DENIED; a random control pipe tells 'absent' from 'denied'",
		MayBreak:    []string{breakTrust, breakBrowse + " (BROWSER pipe)", "RD Licensing servers (HydraLSPipe, TermServLicensing)", breakExpired},
		References:  []string{kb823659, "CIS 2.3.10.7", "Metasploit pipe_auditor"},
	},
	{
		Name:        NullSessionShares,
		Platform:    "windows",
		Title:       "Network access: Shares that can be accessed anonymously",
		GPO:         gpoBase + "Network access: Shares that can be accessed anonymously = (empty)",
		Registry:    regLanman + `\NullSessionShares (REG_MULTI_SZ)`,
		Template:    `[Registry Values] ` + tmplLanman + `NullSessionShares=7,`,
		Reg:         "[" + regLanman + "]\n\"NullSessionShares\"=hex(7):00,00",
		SmbConf:     "[share]\n  guest ok = no",
		Values:      []Value{{"list of share names", "shares an anonymous caller may tree-connect to (still subject to share and NTFS ACLs); enforced while RestrictNullSessAccess=1"}},
		Defaults:    []Default{{"older Windows", "COMCFG, DFS$"}, {"current Windows", "(empty)"}},
		Recommended: "empty (CIS, STIG)",
		Observe:     "anonymous TREE_CONNECT to each listed or named share: success ⇒ listed (or RestrictNullSessAccess=0); BAD_NETWORK_NAME ⇒ no such share",
		MayBreak:    []string{"DFS when DFS$ must be reachable anonymously (Minasi 2003)", breakOlder},
		References:  []string{kb823659, "CIS 2.3.10.12"},
		Equivalent:  SambaGuestOK,
	},
	{
		Name:        RestrictNullSessAccess,
		Platform:    "windows",
		Title:       "Network access: Restrict anonymous access to Named Pipes and Shares",
		GPO:         gpoBase + "Network access: Restrict anonymous access to Named Pipes and Shares = Enabled",
		Registry:    regLanman + `\RestrictNullSessAccess (REG_DWORD)`,
		Template:    `[Registry Values] ` + tmplLanman + `RestrictNullSessAccess=4,1`,
		Reg:         "[" + regLanman + "]\n\"RestrictNullSessAccess\"=dword:00000001",
		Values:      []Value{{"1", "anonymous callers are limited to NullSessionPipes and NullSessionShares"}, {"0", "anonymous callers may open any pipe or share their token's ACLs allow"}},
		Defaults:    []Default{{"NT 3.5 and later, all roles", "1"}},
		Recommended: "1 (CIS L1, STIG CAT I)",
		Observe:     "an unlisted pipe (srvsvc, winreg on a member) opens anonymously ⇒ 0, or that pipe was added to NullSessionPipes; several pipes are cross-checked",
		MayBreak:    []string{breakOlder},
		References:  []string{kb823659, "CIS 2.3.10.10"},
	},
	{
		Name:        LSAAnonymousNameLookup,
		Platform:    "windows",
		Title:       "Network access: Allow anonymous SID/Name translation",
		GPO:         gpoBase + "Network access: Allow anonymous SID/Name translation = Disabled",
		Registry:    "LSA policy object (not a registry value): ANONYMOUS LOGON granted POLICY_LOOKUP_NAMES",
		Template:    `[System Access] LSAAnonymousNameLookup = 0`,
		SmbConf:     "(Samba AD denies it to S-1-5-7 already; a standalone Samba has no separate knob: restrict anonymous = 2 closes IPC$ to anonymous)",
		Values:      []Value{{"1", "anonymous LsarLookupSids/LookupNames allowed: a renamed Administrator (RID 500) is unmasked"}, {"0", "denied"}},
		Defaults:    []Default{{"member/client", "0"}, {"DC, 2003 R2 and earlier", "1"}, {"DC, 2008 and later", "0 per Microsoft's text (its table says 1: verify)"}},
		Recommended: "0 (CIS L1, STIG CAT I)",
		Observe:     "anonymous LsarOpenPolicy2(POLICY_LOOKUP_NAMES) + LsarLookupSids(domain SID-500): a name ⇒ 1; ACCESS_DENIED at the lookup ⇒ 0; denial already at the open ⇒ the LSA anonymous block or the pipe restriction, not this setting",
		MayBreak:    []string{breakMigrate, breakTrust, breakOlder},
		References:  []string{kb823659, "CIS 2.3.10.1", "MS-LSAD 3.1.4.4.1"},
	},
	{
		Name:        RestrictRemoteSAM,
		Platform:    "windows",
		Title:       "Network access: Restrict clients allowed to make remote calls to SAM",
		GPO:         gpoBase + `Network access: Restrict clients allowed to make remote calls to SAM = Administrators: Remote Access: Allow`,
		Registry:    regLsa + `\RestrictRemoteSam (REG_SZ, SDDL)`,
		Template:    `[Registry Values] ` + tmplLsa + `RestrictRemoteSAM=1,"O:BAG:BAD:(A;;RC;;;BA)"`,
		Reg:         "[" + regLsa + "]\n\"RestrictRemoteSam\"=\"O:BAG:BAD:(A;;RC;;;BA)\"",
		Values:      []Value{{"SDDL", "security descriptor checked on every remote SAMR call"}, {"(empty)", "not enforced"}},
		Defaults:    []Default{{"Windows 10 1607 / Server 2016 and later, non-DC", "O:SYG:SYD:(A;;RC;;;BA) (Administrators only)"}, {"DC", "no restriction (the AD ACL applies)"}, {"earlier Windows", "no check"}},
		Recommended: "O:BAG:BAD:(A;;RC;;;BA) on member servers (CIS L1, STIG WN22-MS-000060)",
		Observe:     "SamrConnect and later SAMR calls → ACCESS_DENIED for anonymous and for non-admin users on 2016+ members; only an authenticated probe separates it from RestrictAnonymousSAM",
		MayBreak:    []string{breakSAMApps, breakExpired},
		References:  []string{"Microsoft: Network access: Restrict clients allowed to make remote calls to SAM", kb823659},
	},
	{
		Name:        PreWindows2000,
		Platform:    "windows",
		Title:       "Pre-Windows 2000 Compatible Access (S-1-5-32-554) membership, domain controllers",
		GPO:         `Active Directory Users and Computers\Builtin\Pre-Windows 2000 Compatible Access: remove ANONYMOUS LOGON and Everyone`,
		Registry:    "AD group membership (not a registry value)",
		Template:    `[Group Membership] *S-1-5-32-554__Members = *S-1-5-11`,
		Values:      []Value{{"contains ANONYMOUS LOGON (S-1-5-7) or Everyone (S-1-1-0)", "anonymous callers may enumerate users and groups on DCs"}, {"Authenticated Users only", "anonymous enumeration denied"}},
		Defaults:    []Default{{"2000 DC", "Everyone"}, {"2003 and later DC", "Authenticated Users (ANONYMOUS LOGON only if 'pre-Windows 2000 compatible permissions' was chosen at dcpromo)"}},
		Recommended: "no ANONYMOUS LOGON, no Everyone",
		Observe:     "Windows DC: anonymous SamrEnumerateUsersInDomain / QueryDisplayInformation succeed ⇒ ANONYMOUS LOGON (or Everyone with EveryoneIncludesAnonymous=1) is a member. Not inferable on Samba AD, which allows anonymous SAMR enumeration with Authenticated Users alone (docs/samba.md)",
		MayBreak:    []string{breakTrust, "NT4 RAS servers and NT4 member servers reading user properties", breakOlder},
		References:  []string{"Microsoft: Requirements for network management functions on AD DCs", kb823659},
	},
	{
		Name:        EnableGuestAccount,
		Platform:    "windows",
		Title:       "Accounts: Guest account status (and the mapping of unknown users to Guest)",
		GPO:         gpoBase + "Accounts: Guest account status = Disabled",
		Registry:    "SAM account flag (not a registry value)",
		Template:    `[System Access] EnableGuestAccount = 0`,
		SmbConf:     "[global]\n  map to guest = Never",
		Values:      []Value{{"1", "Guest enabled: an unknown user's logon is mapped to Guest"}, {"0", "Guest disabled"}},
		Defaults:    []Default{{"2000, XP, 2003 and later", "0"}},
		Recommended: "0 (CIS)",
		Observe:     "a logon as a random unknown user (NTLMv2, no ANONYMOUS flag) comes back IS_GUEST (SMB2 SessionFlags 0x1, SMB1 Action 0x1) ⇒ enabled",
		MayBreak:    []string{"guest printing and guest file access some small offices rely on"},
		References:  []string{"MS-GPSB 2.2.1.3", "CIS 2.3.1.2"},
		Equivalent:  SambaMapToGuest,
	},
	{
		Name:        SMB1,
		Platform:    "windows",
		Title:       "SMB 1.0 server (LanmanServer SMB1)",
		GPO:         `Remove the SMB 1.0/CIFS feature (Remove-WindowsFeature FS-SMB1 / Disable-WindowsOptionalFeature SMB1Protocol), or ` + regLanman + `\SMB1 = 0`,
		Registry:    regLanman + `\SMB1 (REG_DWORD)`,
		Template:    `[Registry Values] ` + tmplLanman + `SMB1=4,0`,
		Reg:         "[" + regLanman + "]\n\"SMB1\"=dword:00000000",
		SmbConf:     "[global]\n  server min protocol = SMB2_02",
		Values:      []Value{{"1/absent", "SMB1 (NT LM 0.12) accepted"}, {"0", "SMB1 refused at negotiate"}},
		Defaults:    []Default{{"up to Windows 10 1703 / Server 2016", "enabled"}, {"Windows 10 1709 / Server 2019 and later", "not installed"}},
		Recommended: "disabled",
		Observe:     "an SMB1 NEGOTIATE offering NT LM 0.12 is accepted or refused",
		MayBreak:    []string{"the browse list (RAP NetServerEnum2 is SMB1 only)", "Windows XP/2003 and older clients, old NAS and printers that scan to SMB1 shares"},
		References:  []string{"Microsoft: SMBv1 is not installed by default in Windows 10 1709 and Windows Server 1709 and later"},
		Equivalent:  SambaServerMinProtocol,
	},
	{
		Name:        RequireSecuritySignature,
		Platform:    "windows",
		Title:       "Microsoft network server: Digitally sign communications (always)",
		GPO:         gpoBase + "Microsoft network server: Digitally sign communications (always) = Enabled",
		Registry:    regLanman + `\RequireSecuritySignature (REG_DWORD)`,
		Template:    `[Registry Values] ` + tmplLanman + `RequireSecuritySignature=4,1`,
		Reg:         "[" + regLanman + "]\n\"RequireSecuritySignature\"=dword:00000001",
		SmbConf:     "[global]\n  server signing = mandatory",
		Values:      []Value{{"1", "signing required"}, {"0", "signing optional"}},
		Defaults:    []Default{{"DC", "1"}, {"member, up to Server 2022", "0"}, {"Windows 11 24H2 / Server 2025", "reported as 1 (verify)"}},
		Recommended: "1",
		Observe:     "NEGOTIATE SecurityMode SIGNING_REQUIRED; a null session has no key and is exempt, so this never stops anonymous enumeration",
		MayBreak:    []string{"old clients and devices that cannot sign; some throughput on fast links"},
		References:  []string{"MS-SMB2 3.3.5.5.3", "CIS 2.3.9.2"},
		Equivalent:  SambaServerSigning,
	},
	{
		Name:        SMBPorts,
		Platform:    "any",
		Title:       "TCP 139 and 445 reachable (firewall, not a setting)",
		GPO:         `Windows Defender Firewall with Advanced Security: block inbound TCP 139 and 445 ("File and Printer Sharing") from untrusted networks`,
		Registry:    "firewall rules",
		SmbConf:     "[global]\n  interfaces = <trusted interfaces>\n  bind interfaces only = yes\n  smb ports = 445",
		Values:      []Value{{"open", "SMB reachable: a null session is possible"}, {"closed/filtered", "Minasi 2003's absolute null killer: no SMB, no null session"}},
		Defaults:    []Default{{"servers and DCs", "445 open"}},
		Recommended: "blocked from every network that does not need file sharing",
		Observe:     "TCP connect to 445 and 139",
		MayBreak:    []string{"all file and printer sharing, Group Policy and logon scripts from DCs, remote administration over SMB/RPC"},
		References:  []string{"Mark Minasi, Windows Networking Tech Page #37, December 2003: All About Null Sessions"},
	},
	{
		Name:        SambaRestrictAnonymous,
		Platform:    "samba",
		Title:       "smb.conf [global] restrict anonymous",
		SmbConf:     "[global]\n  restrict anonymous = 2",
		Values:      []Value{{"0", "anonymous SAMR/LSA/SRVSVC allowed"}, {"1", "anonymous SAMR enumeration and SRVSVC share/server info denied; LSA SID/name lookups still work"}, {"2", "also no anonymous IPC$ at all; guest ok shares stay readable"}},
		Defaults:    []Default{{"Samba", "0"}},
		Recommended: "2 (a guest ok share removes the advantage, smb.conf(5))",
		Observe:     "1: SAMR enumeration and SRVSVC calls → ACCESS_DENIED while LSA lookups work; 2: anonymous IPC$ tree connect → ACCESS_DENIED after a successful session setup",
		MayBreak:    []string{"legacy NetBIOS browsing clients (smb.conf(5))", breakBackup, breakExpired, breakTrust},
		References:  []string{"smb.conf(5) restrict anonymous"},
		Equivalent:  RestrictAnonymous,
	},
	{
		Name:        SambaMapToGuest,
		Platform:    "samba",
		Title:       "smb.conf [global] map to guest",
		SmbConf:     "[global]\n  map to guest = Never",
		Values:      []Value{{"Never", "bad logons are rejected"}, {"Bad User", "logons as unknown users become guest logons"}, {"Bad Password", "unknown users and wrong passwords become guest logons"}, {"Bad Uid", "domain members: authenticated users without a Unix account become guest"}},
		Defaults:    []Default{{"Samba", "Never"}},
		Recommended: "Never",
		Observe:     "a logon as a random unknown user succeeds as guest (SMB2 SessionFlags 0x1) ⇒ Bad User or Bad Password; LOGON_FAILURE ⇒ Never (or Bad Uid)",
		MayBreak:    []string{"guest access to guest ok shares from clients that log on with unknown names"},
		References:  []string{"smb.conf(5) map to guest"},
		Equivalent:  EnableGuestAccount,
	},
	{
		Name:        SambaGuestOK,
		Platform:    "samba",
		Title:       "smb.conf [share] guest ok (alias public)",
		SmbConf:     "[share]\n  guest ok = no",
		Values:      []Value{{"yes", "no password needed for the share: anonymous callers connect as the guest account"}, {"no", "a real logon is needed"}},
		Defaults:    []Default{{"Samba", "no"}},
		Recommended: "no, unless the share is meant to be public; it nullifies restrict anonymous = 2 (smb.conf(5))",
		Observe:     "anonymous TREE_CONNECT to the share succeeds ⇒ guest ok = yes on it",
		MayBreak:    []string{"whoever reads that share without an account"},
		References:  []string{"smb.conf(5) guest ok"},
		Equivalent:  NullSessionShares,
	},
	{
		Name:        SambaServerMinProtocol,
		Platform:    "samba",
		Title:       "smb.conf [global] server min protocol",
		SmbConf:     "[global]\n  server min protocol = SMB2_02",
		Values:      []Value{{"LANMAN1, LANMAN2, NT1", "SMB1 accepted"}, {"SMB2_02 and later", "SMB1 refused"}},
		Defaults:    []Default{{"Samba 4.11 and later", "SMB2_02"}},
		Recommended: "SMB2_02 or higher",
		Observe:     "an SMB1 NEGOTIATE offering NT LM 0.12 is accepted ⇒ NT1 or lower",
		MayBreak:    []string{"the browse list (RAP is SMB1 only)", "SMB1-only clients and devices"},
		References:  []string{"smb.conf(5) server min protocol"},
		Equivalent:  SMB1,
	},
	{
		Name:        SambaServerSigning,
		Platform:    "samba",
		Title:       "smb.conf [global] server signing",
		SmbConf:     "[global]\n  server signing = mandatory",
		Values:      []Value{{"default", "mandatory on an AD DC, otherwise not required"}, {"auto", "offered, not required"}, {"mandatory", "required"}, {"disabled", "not offered over SMB1 (SMB2 treats it as auto)"}},
		Defaults:    []Default{{"Samba AD DC", "mandatory"}, {"other Samba roles", "not required"}},
		Recommended: "mandatory",
		Observe:     "NEGOTIATE SecurityMode SIGNING_REQUIRED; a null session is exempt, so this never stops anonymous enumeration",
		MayBreak:    []string{"clients that cannot sign"},
		References:  []string{"smb.conf(5) server signing"},
		Equivalent:  RequireSecuritySignature,
	},
}

// Lookup returns the row for a setting name (case-insensitive).
func Lookup(name string) (*Setting, bool) {
	for i := range Settings {
		if strings.EqualFold(Settings[i].Name, name) {
			return &Settings[i], true
		}
	}
	return nil, false
}
