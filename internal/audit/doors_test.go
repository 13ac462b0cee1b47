package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/enum"
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
