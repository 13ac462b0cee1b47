package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/ldap"
)

// The doors beside SMB: the endpoint mapper and RPC over TCP, and LDAP.
// Their rows join the settings table (Windows and network rows before the
// Samba ones, which keeps the table's order by platform).

// Names of the doors' settings.
const (
	DSHeuristics           = "dSHeuristics"
	RestrictRemoteClients  = "RestrictRemoteClients"
	EnableAuthEpResolution = "EnableAuthEpResolution"
	RPCPorts               = "RPCPorts"
	LDAPPorts              = "LDAPPorts"

	SambaDCERPCEndpointServers = "dcerpc endpoint servers"
	SambaRPCPortRange          = "rpc server dynamic port range"
)

const (
	regRPC      = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Rpc`
	tmplRPC     = `MACHINE\Software\Policies\Microsoft\Windows NT\Rpc\`
	gpoRPC      = `Computer Configuration\Administrative Templates\System\Remote Procedure Call\`
	dsDN        = `CN=Directory Service,CN=Windows NT,CN=Services,CN=Configuration,DC=<forest root>`
	breakLDAPAp = "applications that read the directory without binding: old address-book and phone-list tools, printers and copiers that look up e-mail addresses, LDAP clients (nss_ldap, appliances) configured without bind credentials"
	breakAdmin  = "remote administration over RPC: MMC snap-ins, WMI and DCOM, PowerShell remoting's RPC fallbacks, service control"
	breakDomain = "domain members and clients: logon, domain join, Group Policy, replication and trusts need the DC's RPC and LDAP ports"
)

var doorSettings = []Setting{
	{
		Name:     DSHeuristics,
		Platform: "any", // the same attribute on Windows and Samba AD
		Title:    "dSHeuristics, 7th character (fLDAPBlockAnonOps): LDAP operations for anonymous callers",
		GPO:      "ADSI Edit → Configuration → " + dsDN + " → dSHeuristics: 7th character 0 (or clear the attribute)",
		Registry: "AD attribute, not a registry value: dSHeuristics on " + dsDN,
		Template: "LDIF (ldifde -i): dn: " + dsDN + " / changetype: modify / replace: dSHeuristics / dSHeuristics: 0000000 / -",
		SmbConf:  "samba-tool forest directory_service dsheuristics 0000000  (Samba AD keeps it in the directory, not smb.conf)",
		Values: []Value{
			{"7th character 2", "anonymous callers may run every LDAP operation, limited only by the objects' ACLs"},
			{"not set, or 7th character other than 2", "anonymous callers may bind and read the rootDSE only; anything else is operationsError (Windows 000004DC, Samba 00002020)"},
		},
		Defaults:    []Default{{"Windows 2000 DC", "no such block: anonymous operations follow the ACLs"}, {"Windows Server 2003 and later, Samba AD", "not set (blocked)"}},
		Recommended: "not set, or 7th character 0; the rootDSE stays readable whatever the value (RFC 4512 5.1: clients read it before binding)",
		Observe:     "an anonymous bind, then a search of the default naming context for users: operationsError ⇒ blocked; entries or success ⇒ 7th character 2 (and ACLs that let anonymous read)",
		MayBreak:    []string{breakLDAPAp},
		References:  []string{"MS-ADTS 6.1.1.2.4.1.2 (dSHeuristics, fLDAPBlockAnonOps)", "RFC 4513 5.1.1 (anonymous authentication)", "samba-tool forest directory_service dsheuristics --help", "smb.conf(5) ldap max anonymous request size (bounds anonymous requests; no smb.conf parameter blocks them)"},
	},
	{
		Name:     RestrictRemoteClients,
		Platform: "windows",
		Title:    "Restrict Unauthenticated RPC clients",
		GPO:      gpoRPC + "Restrict Unauthenticated RPC clients = Enabled: Authenticated (member servers and clients; not domain controllers)",
		Registry: regRPC + `\RestrictRemoteClients (REG_DWORD)`,
		Template: `[Registry Values] ` + tmplRPC + `RestrictRemoteClients=4,1`,
		Reg:      "[" + regRPC + "]\n\"RestrictRemoteClients\"=dword:00000001",
		Values: []Value{
			{"0 (None)", "unauthenticated callers reach every RPC interface over every transport"},
			{"1 (Authenticated)", "unauthenticated callers are refused except by interfaces registered to allow them (the endpoint mapper among them)"},
			{"2 (Authenticated without exceptions)", "every unauthenticated call is refused, the endpoint mapper's too: clients must authenticate to it (EnableAuthEpResolution)"},
		},
		Defaults:    []Default{{"Windows Server, not configured", "0 (None)"}, {"Windows clients (XP SP2 and later), not configured", "1 (Authenticated)"}},
		Recommended: "1 on member servers (CIS, member servers only); leave domain controllers at 0: they must answer unauthenticated LSA and Netlogon callers",
		Observe:     "anonymous calls over ncacn_ip_tcp to the port the endpoint mapper names: served ⇒ 0 (or an exempt interface); refused with an access-denied fault while the endpoint mapper answers ⇒ 1 or 2; the endpoint mapper refusing ept_lookup ⇒ 2",
		MayBreak:    []string{"domain controllers (Microsoft: do not apply to DCs)", "RPC servers whose callers do not authenticate (third-party agents, monitoring)", "clients that resolve endpoints anonymously when the value is 2 (enable EnableAuthEpResolution on them first)"},
		References:  []string{"Microsoft: Restrict Unauthenticated RPC clients (Group Policy help)", "CIS: Restrict Unauthenticated RPC clients (member server)"},
	},
	{
		Name:        EnableAuthEpResolution,
		Platform:    "windows",
		Title:       "Enable RPC Endpoint Mapper Client Authentication (a client setting)",
		GPO:         gpoRPC + "Enable RPC Endpoint Mapper Client Authentication = Enabled",
		Registry:    regRPC + `\EnableAuthEpResolution (REG_DWORD)`,
		Template:    `[Registry Values] ` + tmplRPC + `EnableAuthEpResolution=4,1`,
		Reg:         "[" + regRPC + "]\n\"EnableAuthEpResolution\"=dword:00000001",
		Values:      []Value{{"1", "this machine's RPC clients authenticate to remote endpoint mappers when their call carries credentials"}, {"0/absent", "endpoint resolution is anonymous"}},
		Defaults:    []Default{{"all Windows versions", "0 (not configured)"}},
		Recommended: "1 (CIS, member servers), and before any server goes to RestrictRemoteClients = 2",
		Observe:     "not observable from the network: it changes what this machine sends to other endpoint mappers; the server-side counterpart is RestrictRemoteClients",
		MayBreak:    []string{"endpoint resolution against Windows NT 4.0 servers, whose endpoint mapper cannot process the authentication (Group Policy help)"},
		References:  []string{"Microsoft: Enable RPC Endpoint Mapper Client Authentication (Group Policy help)", "CIS: Enable RPC Endpoint Mapper Client Authentication"},
	},
	{
		Name:        RPCPorts,
		Platform:    "any",
		Title:       "TCP 135 and the dynamic RPC ports reachable (firewall, not a setting)",
		GPO:         `Windows Defender Firewall with Advanced Security: inbound "Remote Procedure Call (RPC) Endpoint Mapper" (TCP 135) and "RPC Dynamic Ports" (49152-65535) only from networks that administer or join the host`,
		Registry:    "firewall rules",
		SmbConf:     "[global]\n  interfaces = <trusted interfaces>\n  bind interfaces only = yes\n  # a narrow range the firewall rule can name\n  rpc server dynamic port range = 49152-49200",
		Values:      []Value{{"open", "the endpoint mapper lists every RPC service and its port; LSA and SAMR may be reached over TCP when 139 and 445 are blocked"}, {"closed/filtered", "no RPC over TCP"}},
		Defaults:    []Default{{"Windows servers and DCs", "135 open, dynamic ports opened per service"}, {"Samba AD DC", "135 and 49152 upwards"}, {"standalone Samba", "closed (smbd serves RPC over named pipes only)"}},
		Recommended: "blocked from every network that does not administer the host; Minasi 2003's 'block 139 and 445' is not enough when 135 answers",
		Observe:     "TCP connect to 135; ept_lookup's ncacn_ip_tcp entries name the other ports",
		MayBreak:    []string{breakAdmin, breakDomain},
		References:  []string{"MS-RPCE 2.1.1.1 (ncacn_ip_tcp)", "C706 appendix O (the endpoint mapper)", "Microsoft: Service overview and network port requirements for Windows"},
	},
	{
		Name:        LDAPPorts,
		Platform:    "any",
		Title:       "LDAP ports 389, 636, 3268, 3269 reachable (firewall, not a setting)",
		GPO:         `Windows Defender Firewall with Advanced Security: inbound "Active Directory Domain Services (LDAP-In, Secure LDAP-In, LDAP for Global Catalog-In)" only from the networks of domain members`,
		Registry:    "firewall rules",
		SmbConf:     "[global]\n  interfaces = <trusted interfaces>\n  bind interfaces only = yes",
		Values:      []Value{{"open", "anyone who reaches the port reads the rootDSE (naming contexts, DNS host name, functional levels) without logging on"}, {"closed/filtered", "no LDAP from that network"}},
		Defaults:    []Default{{"domain controllers (Windows, Samba AD)", "open"}, {"members, standalone Samba", "closed"}},
		Recommended: "reachable only from domain members and administrators; the rootDSE cannot be hidden from those who reach the port",
		Observe:     "TCP connect to 389, 636, 3268, 3269; an anonymous bind and a rootDSE read on each that is open",
		MayBreak:    []string{breakDomain},
		References:  []string{"RFC 4511", "RFC 4512 5.1 (the root DSE)", "MS-ADTS 3.1.1.3.2 (rootDSE attributes)"},
	},
	{
		Name:        SambaDCERPCEndpointServers,
		Platform:    "samba",
		Title:       "smb.conf [global] dcerpc endpoint servers (Samba AD DC)",
		SmbConf:     "[global]\n  dcerpc endpoint servers = epmapper, wkssvc, samr, netlogon, lsarpc, drsuapi, dssetup, unixinfo, browser, eventlog6, backupkey, dnsserver",
		Values:      []Value{{"list of endpoint servers", "the RPC services the AD DC runs, each on named pipes and on a TCP port the endpoint mapper names"}, {"a service left out", "not served on any transport"}},
		Defaults:    []Default{{"Samba AD DC", "epmapper, wkssvc, samr, netlogon, lsarpc, drsuapi, dssetup, unixinfo, browser, eventlog6, backupkey, dnsserver"}},
		Recommended: "the default on a DC (its clients need these); close RPC over TCP at the firewall instead",
		Observe:     "ept_lookup lists what runs; ept_map of a service left out says ept_s_not_registered. Samba refuses anonymous LsarOpenPolicy2 over ncacn_ip_tcp (nca_s_fault_access_denied) while serving SAMR there",
		MayBreak:    []string{breakDomain, "whatever client uses a service removed from the list"},
		References:  []string{"smb.conf(5) dcerpc endpoint servers"},
	},
	{
		Name:        SambaRPCPortRange,
		Platform:    "samba",
		Title:       "smb.conf [global] rpc server dynamic port range (and rpc server port)",
		SmbConf:     "[global]\n  rpc server dynamic port range = 49152-49200",
		Values:      []Value{{"low-high", "the TCP ports LSA, SAMR, Netlogon and the rest listen on"}, {"rpc server port = N", "one port for every service but Netlogon"}},
		Defaults:    []Default{{"Samba", "49152-65535"}},
		Recommended: "a narrow range that the firewall rule for RPC names exactly",
		Observe:     "the ports of ept_lookup's ncacn_ip_tcp entries lie in the range",
		MayBreak:    []string{"firewall rules written for the old range"},
		References:  []string{"smb.conf(5) rpc server dynamic port range", "smb.conf(5) rpc server port"},
	},
}

func init() {
	firstSamba := slices.IndexFunc(Settings, func(s Setting) bool { return s.Platform == "samba" })
	if firstSamba < 0 {
		firstSamba = len(Settings)
	}
	var win, samba []Setting
	for _, s := range doorSettings {
		if s.Platform == "samba" {
			samba = append(samba, s)
		} else {
			win = append(win, s)
		}
	}
	Settings = slices.Insert(Settings, firstSamba, win...)
	Settings = append(Settings, samba...)
	inferers[DSHeuristics] = inferDSHeuristics
	inferers[RestrictRemoteClients] = inferRestrictRemoteClients
	inferers[EnableAuthEpResolution] = func(*view) SettingState {
		return notObs("", "a client-side setting: it changes what this machine sends to other endpoint mappers, not what its own answers")
	}
	inferers[RPCPorts] = inferRPCPorts
	inferers[LDAPPorts] = inferLDAPPorts
	inferers[SambaDCERPCEndpointServers] = inferEndpointServers
	inferers[SambaRPCPortRange] = inferRPCPortRange
}

// ldapSearched returns the first port whose anonymous search ran, and
// why there is none.
func (v *view) ldapSearched() (*ldap.PortResult, string) {
	if v.r.LDAP == nil {
		return nil, "LDAP not probed (-D)"
	}
	var states []string
	for i := range v.r.LDAP.Ports {
		p := &v.r.LDAP.Ports[i]
		if p.Search != nil {
			return p, ""
		}
		s := fmt.Sprintf("tcp/%d %s", p.Port, orDash(p.State))
		if p.Error != "" {
			s += " (stopped at " + p.Layer + ": " + p.Error + ")"
		}
		states = append(states, s)
	}
	return nil, "no anonymous search ran: " + strings.Join(states, ", ")
}

func inferDSHeuristics(v *view) SettingState {
	p, why := v.ldapSearched()
	if p == nil {
		return notObs("", why)
	}
	s := p.Search
	seen := fmt.Sprintf("tcp/%d anonymous search of %s: %s (%d) %s", p.Port, s.Base, s.Result.Name, s.Result.Code, s.Result.Diagnostic)
	if s.Allowed {
		return observed("7th character 2 (anonymous operations allowed)", seen, fmt.Sprintf("%d entries returned (size limit %d)", len(s.Entries), s.Limit))
	}
	if s.Result.Code == 1 { // operationsError: the block's answer (MS-ADTS 6.1.1.2.4.1.2)
		return observed("not 2 (anonymous operations blocked; the default)", seen)
	}
	return consistent("not decided", seen, "refused with a code other than operationsError: an ACL or another control")
}

// tcpCalls returns the RPC calls (not the endpoint mapper's) that went
// over ncacn_ip_tcp.
func (v *view) tcpCalls() []enum.Check {
	var out []enum.Check
	for _, c := range v.r.Checks {
		if c.Transport == enum.NCACNIPTCP && c.Layer == enum.LayerCall && c.Interface != enum.IfaceEPM {
			out = append(out, c)
		}
	}
	return out
}

func checkLine(c enum.Check) string {
	s := c.Name + ": " + string(c.Result)
	if c.Status != "" {
		s += " (" + c.Status + ")"
	}
	return s
}

func inferRestrictRemoteClients(v *view) SettingState {
	var lookup *enum.Check
	for i, c := range v.r.Checks {
		if c.Is(enum.IfaceEPM, 2) {
			lookup = &v.r.Checks[i]
		}
	}
	if lookup != nil && lookup.Result.IsDenied() {
		return consistent("2 (Authenticated without exceptions)", checkLine(*lookup))
	}
	calls := v.tcpCalls()
	if len(calls) == 0 {
		why := "no RPC call went over ncacn_ip_tcp"
		if st := v.r.Ports[enum.EPMPort]; st != "" {
			why += "; tcp/135 " + string(st)
		}
		return notObs("", why+" (--transport tcp asks for it)")
	}
	var ok, denied []string
	for _, c := range calls {
		switch {
		case c.Result == enum.OK:
			ok = append(ok, checkLine(c))
		case c.Result.IsDenied():
			denied = append(denied, checkLine(c))
		}
	}
	switch {
	case len(ok) > 0:
		return consistent("0 (None), or those interfaces exempted", append(ok[:1:1], fmt.Sprintf("%d anonymous calls served over ncacn_ip_tcp", len(ok)))...)
	case len(denied) > 0:
		return consistent("1 or 2 (Authenticated)", denied...)
	}
	return notObs("", "the calls over ncacn_ip_tcp failed without an answer: "+checkLine(calls[0]))
}

// tcpEndpoints returns the ports and interface names the endpoint list
// gives for ncacn_ip_tcp, the endpoint mapper's own port left out.
func (v *view) tcpEndpoints() (ports []int, names []string) {
	if v.r.Endpoints == nil {
		return nil, nil
	}
	for _, e := range v.r.Endpoints.Entries {
		if e.Protocol != enum.NCACNIPTCP || e.Endpoint == enum.EPMPort {
			continue
		}
		if p, err := strconv.Atoi(e.Endpoint); err == nil && !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
		if n := e.Name; n != "" && n != "mgmt" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(ports)
	return ports, names
}

func inferRPCPorts(v *view) SettingState {
	st := v.r.Ports[enum.EPMPort]
	if st == "" {
		return notObs("", "tcp/135 not probed (-E, or RPC over TCP)")
	}
	if st != enum.Open {
		return observed("135 "+string(st), "tcp/135: "+string(st))
	}
	ports, names := v.tcpEndpoints()
	if v.r.Endpoints == nil {
		return observed("135 open", "tcp/135: open", "the endpoint list was not read")
	}
	return observed(fmt.Sprintf("135 open; %d more RPC ports listed", len(ports)), "tcp/135: open",
		fmt.Sprintf("ept_lookup: %d entries; on TCP: %s at ports %s", len(v.r.Endpoints.Entries), strings.Join(names, ", "), joinInts(ports)))
}

func joinInts(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.Itoa(x))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func inferLDAPPorts(v *view) SettingState {
	if v.r.LDAP == nil {
		return notObs("", "LDAP not probed (-D)")
	}
	var states, why []string
	for _, p := range v.r.LDAP.Ports {
		states = append(states, fmt.Sprintf("%d %s", p.Port, orDash(p.State)))
		line := fmt.Sprintf("tcp/%d: %s", p.Port, orDash(p.State))
		if p.RootDSE != nil {
			line += ", rootDSE read anonymously (" + p.RootDSE.DNSHostName + ")"
		}
		why = append(why, line)
	}
	return observed(strings.Join(states, ", "), why...)
}

func inferEndpointServers(v *view) SettingState {
	if v.r.Endpoints == nil {
		return notObs("", "the endpoint list was not read (tcp/135 "+orDash(v.r.Ports[enum.EPMPort])+")")
	}
	_, names := v.tcpEndpoints()
	var why []string
	for _, c := range v.r.Checks {
		if c.Is(enum.IfaceEPM, 3) && c.Status != "" {
			why = append(why, checkLine(c)+" "+c.Arg)
		}
	}
	return consistent("includes "+strings.Join(names, ", "), append([]string{fmt.Sprintf("ept_lookup names on TCP: %s", strings.Join(names, ", "))}, why...)...)
}

func inferRPCPortRange(v *view) SettingState {
	if v.r.Endpoints == nil {
		return notObs("", "the endpoint list was not read (tcp/135 "+orDash(v.r.Ports[enum.EPMPort])+")")
	}
	ports, _ := v.tcpEndpoints()
	if len(ports) == 0 {
		return notObs("", "no service listed on a TCP port")
	}
	return consistent(fmt.Sprintf("a range holding %d-%d", ports[0], ports[len(ports)-1]), "ports in use: "+joinInts(ports))
}

// unixinfoUUID is Samba's own unixinfo interface: only Samba registers it.
const unixinfoUUID = "9c54e310-a955-4885-bd31-78787147dfa6"

// identifyDoors completes Identify from LDAP and the endpoint list, which
// speak when SMB is closed or said nothing: Samba names itself in the
// rootDSE's vendorName and registers unixinfo; an Active Directory DC's
// rootDSE names its NTDS Settings object (MS-ADTS 3.1.1.3.2.3, dsServiceName).
func identifyDoors(r *enum.Result, h *Host) {
	var dse *ldap.RootDSE
	if r.LDAP != nil {
		for _, p := range r.LDAP.Ports {
			if p.RootDSE != nil {
				dse = p.RootDSE
				break
			}
		}
	}
	if h.Family == FamilyUnknown {
		switch {
		case dse != nil && strings.Contains(strings.ToLower(dse.VendorName), "samba"):
			h.Family, h.OS = FamilySamba, "Samba"
			h.FamilyEvidence = append(h.FamilyEvidence, fmt.Sprintf("LDAP rootDSE vendorName %q", dse.VendorName))
		case r.Endpoints != nil && slices.ContainsFunc(r.Endpoints.Entries, func(e enum.Endpoint) bool { return e.Interface == unixinfoUUID }):
			h.Family, h.OS = FamilySamba, "Samba"
			h.FamilyEvidence = append(h.FamilyEvidence, "the endpoint mapper lists Samba's unixinfo interface")
		}
	}
	if h.Role == RoleUnknown && dse != nil {
		for _, v := range dse.Attributes["dsServiceName"] {
			if strings.HasPrefix(strings.ToUpper(v), "CN=NTDS SETTINGS,") {
				h.Role = RoleDC
				h.RoleEvidence = append(h.RoleEvidence, "LDAP rootDSE dsServiceName "+v+" (a directory server's NTDS Settings)")
				break
			}
		}
	}
}

// doorFindings: what the endpoint mapper, RPC over TCP and LDAP gave a
// stranger.
func (v *view) doorFindings() []Finding {
	var out []Finding
	r := v.r
	smbShut := r.Ports["445"] != enum.Open && r.Ports["139"] != enum.Open
	var served []string
	for _, c := range v.tcpCalls() {
		if c.Result == enum.OK {
			served = append(served, checkLine(c))
		}
	}
	if len(served) > 0 {
		sev, why := Low, "RPC interfaces answer anonymous callers over TCP beside the named pipes; closing 139 and 445 does not close them."
		if smbShut || v.get(ExpNullSession).Value != Yes {
			sev, why = Medium, "SMB gave no null session here (closed or refused), yet the same RPC interfaces answered anonymously over TCP: Minasi 2003's last line of defence, blocking 139 and 445, is not enough while 135 and the RPC ports answer."
		}
		ev := append([]string{"tcp/445: " + orDash(r.Ports["445"]), "tcp/139: " + orDash(r.Ports["139"]), "tcp/135: " + orDash(r.Ports[enum.EPMPort])}, served[:min(len(served), 3)]...)
		ev = append(ev, fmt.Sprintf("%d anonymous calls answered over ncacn_ip_tcp", len(served)))
		out = append(out, v.newFinding(FindRPCOverTCP, sev, RPCPorts, "RPC answers anonymously over TCP (ncacn_ip_tcp)", why, ev...))
	}
	if e := r.Endpoints; e != nil && len(e.Entries) > 0 {
		ports, names := v.tcpEndpoints()
		out = append(out, v.newFinding(FindEndpointList, Info, RPCPorts,
			fmt.Sprintf("The endpoint mapper lists %d RPC endpoints to anyone", len(e.Entries)),
			"TCP 135 tells a stranger which RPC services run and on which ports, the map for reaching LSA and SAMR without SMB.",
			fmt.Sprintf("ept_lookup: %d entries", len(e.Entries)), fmt.Sprintf("on TCP: %s at ports %s", strings.Join(names, ", "), joinInts(ports))))
	}
	if p, _ := v.ldapSearched(); p != nil && p.Search.Allowed {
		s := p.Search
		ev := []string{fmt.Sprintf("tcp/%d anonymous search of %s for %s: %s, %d entries (size limit %d)", p.Port, s.Base, s.Filter, s.Result.Name, len(s.Entries), s.Limit)}
		for _, e := range s.Entries[:min(len(s.Entries), 5)] {
			ev = append(ev, "entry "+e.DN)
		}
		out = append(out, v.newFinding(FindLDAPAnonymousSearch, High, DSHeuristics, "The directory answers anonymous LDAP searches",
			"An anonymous caller can search the domain: users, groups, descriptions and every attribute the ACLs let anonymous read, with no lockout and no logon event.", ev...))
	}
	if r.LDAP != nil {
		for _, p := range r.LDAP.Ports {
			d := p.RootDSE
			if d == nil {
				continue
			}
			ev := []string{fmt.Sprintf("tcp/%d rootDSE: dnsHostName %s, defaultNamingContext %s", p.Port, orDash(d.DNSHostName), orDash(d.DefaultNamingContext))}
			if l := d.DomainFunctionality; l != nil {
				ev = append(ev, "domain functional level "+l.Value+" ("+orDash(l.Name)+")")
			}
			out = append(out, v.newFinding(FindLDAPRootDSE, Info, LDAPPorts, "LDAP names the domain and the DC to anyone (rootDSE)",
				"The rootDSE is readable without logging on by design (RFC 4512 5.1): the domain, the DC's name and functional levels; only the firewall keeps it from strangers.", ev...))
			break
		}
	}
	return out
}
