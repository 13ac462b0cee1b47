package audit

import (
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ldap"
)

func windowsDC() *enum.Result {
	return &enum.Result{Schema: enum.Schema, Target: "192.0.2.10", Address: "192.0.2.10",
		Ports:  map[string]enum.Outcome{"445": enum.Closed, "139": enum.Closed, "135": enum.Open},
		SMB:    &enum.SMBInfo{NTLM: &enum.NTLM{OSVersion: "10.0.17763"}},
		Checks: []enum.Check{}}
}

func tcpCall(iface, method string, opnum uint16, res enum.Outcome, status string) enum.Check {
	c := enum.Call(enum.LayerCall, iface, method, "").Op(opnum).Named(iface + "." + method)
	c.Result, c.Status, c.Transport = res, status, enum.NCACNIPTCP
	return c
}

func search(allowed bool, code uint16, name, diag string, n int) *ldap.Result {
	s := &ldap.Search{Base: "DC=example,DC=test", Filter: ldap.UsersFilter, Allowed: allowed, Limit: 10,
		Result: ldap.Outcome{Code: code, Name: name, Diagnostic: diag}, Entries: []ldap.SearchEntry{}}
	for range n {
		s.Entries = append(s.Entries, ldap.SearchEntry{DN: "CN=u,DC=example,DC=test"})
	}
	return &ldap.Result{Ports: []ldap.PortResult{
		{Port: 389, State: ldap.Open, RootDSE: &ldap.RootDSE{DNSHostName: "dc1.example.test"}, Search: s},
		{Port: 636, TLS: true, State: ldap.Closed},
	}}
}

// TestDoorSettings: each door row's state follows from what the probe saw.
func TestDoorSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(r *enum.Result)
		setting string
		state   string
		value   string
	}{
		{"LDAP not probed", func(r *enum.Result) {}, DSHeuristics, StateNotObservable, ""},
		{"anonymous search refused", func(r *enum.Result) {
			r.LDAP = search(false, 1, "operationsError", "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563", 0)
		}, DSHeuristics, StateObserved, "not 2 (anonymous operations blocked; the default)"},
		{"anonymous search allowed", func(r *enum.Result) { r.LDAP = search(true, 4, "sizeLimitExceeded", "", 10) }, DSHeuristics, StateObserved, "7th character 2 (anonymous operations allowed)"},
		{"refused otherwise", func(r *enum.Result) { r.LDAP = search(false, 50, "insufficientAccessRights", "", 0) }, DSHeuristics, StateConsistent, "not decided"},
		{"LDAP ports", func(r *enum.Result) { r.LDAP = search(false, 1, "operationsError", "", 0) }, LDAPPorts, StateObserved, "389 open, 636 closed"},
		{"no TCP calls", func(r *enum.Result) {}, RestrictRemoteClients, StateNotObservable, ""},
		{"TCP calls served", func(r *enum.Result) {
			r.Checks = append(r.Checks, tcpCall(enum.IfaceSAMR, "Connect5", 64, enum.OK, ""))
		}, RestrictRemoteClients, StateConsistent, "0 (None), or those interfaces exempted"},
		{"TCP calls refused", func(r *enum.Result) {
			r.Checks = append(r.Checks, tcpCall(enum.IfaceLSA, "OpenPolicy2", 44, enum.Denied, "nca_s_fault_access_denied"))
		}, RestrictRemoteClients, StateConsistent, "1 or 2 (Authenticated)"},
		{"mapper refuses lookups", func(r *enum.Result) {
			r.Checks = append(r.Checks, tcpCall(enum.IfaceEPM, "ept_lookup", 2, enum.Denied, "nca_s_fault_access_denied"))
		}, RestrictRemoteClients, StateConsistent, "2 (Authenticated without exceptions)"},
		{"client setting", func(r *enum.Result) {}, EnableAuthEpResolution, StateNotObservable, ""},
		{"135 open, list read", func(r *enum.Result) {
			r.Endpoints = &enum.Endpoints{Entries: []enum.Endpoint{
				{Protocol: enum.NCACNIPTCP, Endpoint: "135", Name: "epmapper"},
				{Protocol: enum.NCACNIPTCP, Endpoint: "49668", Name: "lsarpc"},
				{Protocol: enum.NCACNIPTCP, Endpoint: "49667", Name: "samr"},
				{Protocol: enum.NCACNNP, Endpoint: `\pipe\lsass`, Name: "lsarpc"},
			}}
		}, RPCPorts, StateObserved, "135 open; 2 more RPC ports listed"},
		{"135 closed", func(r *enum.Result) { r.Ports["135"] = enum.Closed }, RPCPorts, StateObserved, "135 closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := windowsDC()
			tc.edit(r)
			rep := Assess(r, Options{})
			if !rep.Host.Windows() {
				t.Fatalf("host %+v", rep.Host)
			}
			s := setting(rep, tc.setting)
			if s.State != tc.state || s.Value != tc.value || len(s.Evidence) == 0 {
				t.Fatalf("%s = %s %q %q", tc.setting, s.State, s.Value, s.Evidence)
			}
		})
	}
}

// TestLiveDoorSettings: on the DC the doors' rows are read from a real
// run; on a standalone server they say closed.
func TestLiveDoorSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("live lab test")
	}
	addrs := labtest.Require(t, "dc", "open")
	r := enum.Run(context.Background(), addrs["dc"], enum.Options{Timeout: 90 * time.Second, NoGuest: true,
		Checks: enum.CheckEndpoints | enum.CheckLDAP | enum.CheckLSA})
	rep := Assess(r, Options{})
	want := map[string][2]string{
		DSHeuristics:               {StateObserved, "not 2 (anonymous operations blocked; the default)"},
		LDAPPorts:                  {StateObserved, "389 open, 636 open, 3268 open, 3269 open"},
		RPCPorts:                   {StateObserved, "135 open; 3 more RPC ports listed"},
		SambaRPCPortRange:          {StateConsistent, "a range holding 49152-49154"},
		RestrictRemoteClients:      {StateNotObservable, ""},
		SambaDCERPCEndpointServers: {StateConsistent, ""},
	}
	for name, w := range want {
		s := setting(rep, name)
		if s.State != w[0] || (w[1] != "" && s.Value != w[1]) {
			t.Errorf("dc: %s = %s %q %q, want %s %q", name, s.State, s.Value, s.Evidence, w[0], w[1])
		}
	}
	if s := setting(rep, SambaDCERPCEndpointServers); !strings.Contains(s.Value, "lsarpc") || !strings.Contains(s.Value, "samr") {
		t.Errorf("endpoint servers %q", s.Value)
	}

	r = enum.Run(context.Background(), addrs["open"], enum.Options{Timeout: 60 * time.Second, NoGuest: true,
		Checks: enum.CheckEndpoints | enum.CheckLDAP | enum.CheckLSA})
	rep = Assess(r, Options{})
	if s := setting(rep, RPCPorts); s.State != StateObserved || s.Value != "135 closed" {
		t.Errorf("open: RPCPorts %+v", s)
	}
	if s := setting(rep, LDAPPorts); s.State != StateObserved || s.Value != "389 closed, 636 closed, 3268 closed, 3269 closed" {
		t.Errorf("open: LDAPPorts %+v", s)
	}
	if s := setting(rep, DSHeuristics); s.State != StateNotObservable || !strings.Contains(strings.Join(s.Evidence, " "), "tcp/389 closed") {
		t.Errorf("open: dSHeuristics %+v", s)
	}
}

// TestIdentifyFromDoors: with SMB silent, the rootDSE and the endpoint list
// name Samba and the DC role.
func TestIdentifyFromDoors(t *testing.T) {
	r := &enum.Result{Ports: map[string]enum.Outcome{"445": enum.Closed}}
	if h := Identify(r); h.Family != FamilyUnknown || h.Role != RoleUnknown {
		t.Fatalf("nothing seen: %+v", h)
	}
	r.LDAP = &ldap.Result{Ports: []ldap.PortResult{{Port: 389, State: ldap.Open, RootDSE: &ldap.RootDSE{
		VendorName: "Samba Team (https://www.samba.org)",
		Attributes: map[string][]string{"dsServiceName": {"CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=lab,DC=test"}},
	}}}}
	if h := Identify(r); h.Family != FamilySamba || h.Role != RoleDC || len(h.FamilyEvidence) != 1 || len(h.RoleEvidence) != 1 {
		t.Fatalf("rootDSE: %+v", h)
	}
	r.LDAP = nil
	r.Endpoints = &enum.Endpoints{Entries: []enum.Endpoint{{Interface: unixinfoUUID, Protocol: enum.NCACNIPTCP}}}
	if h := Identify(r); h.Family != FamilySamba {
		t.Fatalf("unixinfo: %+v", h)
	}
	// Windows' rootDSE has no vendorName: the role, not the family.
	r.Endpoints = nil
	r.LDAP = &ldap.Result{Ports: []ldap.PortResult{{Port: 389, State: ldap.Open, RootDSE: &ldap.RootDSE{
		Attributes: map[string][]string{"dsServiceName": {"CN=NTDS Settings,CN=WIN-DC,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test"}},
	}}}}
	if h := Identify(r); h.Family != FamilyUnknown || h.Role != RoleDC {
		t.Fatalf("windows rootDSE: %+v", h)
	}
}

// TestLiveAuditWhenSMBClosed: the DC seen where only 135, its RPC ports and
// 389 answer (a forwarder on a hostile address). audit still names Samba and
// the DC role, and the user list read over TCP gives its findings.
func TestLiveAuditWhenSMBClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("live lab test")
	}
	dc := labtest.Require(t, "dc")["dc"]
	fw := func(ctx context.Context, conn *net.TCPConn, port int) {
		var d net.Dialer
		up, err := d.DialContext(ctx, "tcp", net.JoinHostPort(dc, strconv.Itoa(port)))
		if err != nil {
			return
		}
		defer up.Close()
		context.AfterFunc(ctx, func() { up.Close() })
		go io.Copy(up, conn)
		io.Copy(conn, up)
	}
	addr := hostile.Addr(232)
	s, err := hostile.Listen(addr, []int{135, 49152, 49153, 49154, 389}, fw)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := enum.Run(context.Background(), addr, enum.Options{Timeout: 90 * time.Second, NoGuest: true})
	rep := Assess(r, Options{})
	if sev, _ := findingSev(rep, FindRPCOverTCP); sev != Medium {
		t.Errorf("rpc-over-tcp severity %v", sev)
	}
	if !rep.Host.Samba() || rep.Host.Role != RoleDC {
		t.Fatalf("host %+v", rep.Host)
	}
	var ids []string
	for _, f := range rep.Findings {
		ids = append(ids, string(f.ID))
	}
	if !slices.Contains(ids, "users-enumerable") || !slices.Contains(ids, string(FindRPCOverTCP)) {
		t.Errorf("findings %v", ids)
	}
	if s := setting(rep, SMBPorts); s.Value != "445 closed, 139 closed" {
		t.Errorf("SMBPorts %+v", s)
	}
	if s := setting(rep, SambaDCERPCEndpointServers); s.State != StateConsistent || !strings.Contains(s.Value, "samr") {
		t.Errorf("endpoint servers %+v", s)
	}
}

func findingSev(rep *Report, id FindingID) (Severity, bool) {
	for _, f := range rep.Findings {
		if f.ID == id {
			return f.Severity, true
		}
	}
	return 0, false
}

// TestDoorFindings: each door's finding is raised from what was seen, with
// its severity, and not otherwise.
func TestDoorFindings(t *testing.T) {
	r := windowsDC()
	if rep := Assess(r, Options{}); len(rep.Findings) != 0 {
		t.Fatalf("nothing seen, findings %+v", rep.Findings)
	}
	r.LDAP = search(true, 4, "sizeLimitExceeded", "", 10)
	r.Endpoints = &enum.Endpoints{Entries: []enum.Endpoint{{Protocol: enum.NCACNIPTCP, Endpoint: "49667", Name: "samr"}}}
	r.Checks = append(r.Checks, tcpCall(enum.IfaceSAMR, "Connect5", 64, enum.OK, ""))
	rep := Assess(r, Options{})
	for id, want := range map[FindingID]Severity{FindLDAPAnonymousSearch: High, FindRPCOverTCP: Medium, FindEndpointList: Info, FindLDAPRootDSE: Info} {
		if got, ok := findingSev(rep, id); !ok || got != want {
			t.Errorf("%s: %v %v, want %v", id, got, ok, want)
		}
	}
	for _, f := range rep.Findings {
		if f.ID == FindLDAPAnonymousSearch && (f.Fix.GPO == "" || len(f.MayBreak) == 0) {
			t.Errorf("fix %+v", f)
		}
	}
	r.LDAP = search(false, 1, "operationsError", "", 0)
	if _, ok := findingSev(Assess(r, Options{}), FindLDAPAnonymousSearch); ok {
		t.Error("refused search raised ldap-anonymous-search")
	}
}
