package enum

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ldap"
	"github.com/nullsweep/nullsweep/internal/msrpc/epm"
)

const rpcChecks = CheckUsers | CheckGroups | CheckPolicy | CheckLSA

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// transports returns the Transport of every bind and call check of an
// RPC interface, and whether a named pipe was opened for the RPC checks.
func transports(r *Result) (map[string]bool, bool) {
	seen := map[string]bool{}
	pipes := false
	for _, c := range r.Checks {
		switch {
		case c.Layer == LayerPipe:
			pipes = true
		case (c.Layer == LayerBind || c.Layer == LayerCall) && c.Interface != IfaceRAP:
			seen[c.Transport] = true
		}
	}
	return seen, pipes
}

var reGetdompw = regexp.MustCompile(`min_password_length: (\d+)`)

// TestLiveTransportTCPEqualsSMB: on the DC, users, groups and the password
// policy read over ncacn_ip_tcp equal what the named pipes give and what
// rpcclient reads over ncacn_ip_tcp; every RPC check says its transport.
func TestLiveTransportTCPEqualsSMB(t *testing.T) {
	addr := labtest.Require(t, "dc")["dc"]
	np := liveRun(t, addr, Options{NoGuest: true, Transport: TransportSMB, Checks: rpcChecks})
	tcp := liveRun(t, addr, Options{NoGuest: true, Transport: TransportTCP, Checks: rpcChecks})
	if len(np.Users) == 0 || jsonOf(t, tcp.Users) != jsonOf(t, np.Users) {
		t.Errorf("users over TCP %s\n differ from the pipes' %s", jsonOf(t, tcp.Users), jsonOf(t, np.Users))
	}
	if len(np.Groups) == 0 || jsonOf(t, tcp.Groups) != jsonOf(t, np.Groups) {
		t.Errorf("groups over TCP %s\n differ from the pipes' %s", jsonOf(t, tcp.Groups), jsonOf(t, np.Groups))
	}
	if np.Policy == nil || jsonOf(t, tcp.Policy) != jsonOf(t, np.Policy) {
		t.Errorf("policy over TCP %s\n differs from the pipes' %s", jsonOf(t, tcp.Policy), jsonOf(t, np.Policy))
	}
	oracle := rpcclient(t, "ncacn_ip_tcp:"+addr, false, "enumdomusers; enumdomgroups; getdompwinfo")
	want := ridNames(reUser, oracle)
	got := map[uint32]string{}
	for _, u := range tcp.Users {
		got[u.RID] = u.Name
	}
	if len(want) == 0 || !mapsEqual(got, want) {
		t.Errorf("users over TCP %v, rpcclient ncacn_ip_tcp %v", got, want)
	}
	wantG := ridNames(reGroup, oracle)
	gotG := map[uint32]string{}
	for _, g := range tcp.Groups {
		if g.Kind == "domain" {
			gotG[g.RID] = g.Name
		}
	}
	if !mapsEqual(gotG, wantG) {
		t.Errorf("groups over TCP %v, rpcclient %v", gotG, wantG)
	}
	if m := reGetdompw.FindStringSubmatch(oracle); m == nil || tcp.Policy.Password == nil || strconv.Itoa(int(tcp.Policy.Password.MinLength)) != m[1] {
		t.Errorf("min password length %+v, rpcclient %v", tcp.Policy.Password, m)
	}
	if seen, pipes := transports(tcp); pipes || !seen[NCACNIPTCP] || len(seen) != 1 {
		t.Errorf("TCP run: transports %v, pipes opened %v", seen, pipes)
	}
	if seen, _ := transports(np); !seen[NCACNNP] || len(seen) != 1 {
		t.Errorf("SMB run: transports %v", seen)
	}
	// Samba registers no SRVSVC on TCP: the mapper says so, and server info
	// over TCP is absent rather than empty.
	if res, st := checkStatus(tcp, "epm.ept_map(srvsvc)"); res != Error || !strings.Contains(st+detailOf(tcp, "epm.ept_map(srvsvc)"), "ept_s_not_registered") {
		t.Errorf("ept_map(srvsvc): %s %s %s", res, st, detailOf(tcp, "epm.ept_map(srvsvc)"))
	}
}

func detailOf(r *Result, name string) string {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}

// forward is a hostile.Handler that relays each connection to the same
// port on upstream: the real DC, reached only on the ports it forwards.
func forward(upstream string) hostile.Handler {
	return func(ctx context.Context, conn *net.TCPConn, port int) {
		var d net.Dialer
		up, err := d.DialContext(ctx, "tcp", net.JoinHostPort(upstream, strconv.Itoa(port)))
		if err != nil {
			return
		}
		defer up.Close()
		context.AfterFunc(ctx, func() { up.Close(); conn.Close() })
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, conn); done <- struct{}{} }()
		go func() { io.Copy(conn, up); done <- struct{}{} }()
		<-done
	}
}

// TestLiveFallbackWhenSMBClosed: the DC seen through an address where only
// 135 and the RPC ports answer (445, 139 and LDAP closed). In auto mode the
// same checks run over TCP and equal the DC's own; the endpoint list equals
// rpcclient's; the closed ports are reported closed.
func TestLiveFallbackWhenSMBClosed(t *testing.T) {
	dc := labtest.Require(t, "dc")["dc"]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := dcerpc.DialTCP(ctx, net.JoinHostPort(dc, "135"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dcerpc.Bind(ctx, tr, dcerpc.EPM)
	if err != nil {
		t.Fatal(err)
	}
	es, err := epm.New(c).Lookup(ctx)
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}
	ports := []int{135}
	for _, e := range es {
		if e.Tower != nil && e.Tower.Protocol == NCACNIPTCP {
			p, _ := strconv.Atoi(e.Tower.Endpoint)
			if p != 135 && !slices.Contains(ports, p) {
				ports = append(ports, p)
			}
		}
	}
	addr := hostile.Addr(230)
	s, err := hostile.Listen(addr, ports, forward(dc))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	r := liveRun(t, addr, Options{NoGuest: true})
	if r.Ports["445"] != Closed || r.Ports["139"] != Closed || r.Ports[EPMPort] != Open || r.Layer != LayerReachability {
		t.Fatalf("ports %v, layer %s", r.Ports, r.Layer)
	}
	direct := liveRun(t, dc, Options{NoGuest: true, Transport: TransportTCP, Checks: rpcChecks})
	if len(r.Users) == 0 || jsonOf(t, r.Users) != jsonOf(t, direct.Users) || jsonOf(t, r.Groups) != jsonOf(t, direct.Groups) {
		t.Errorf("fallback users/groups %s %s\ndirect %s %s", jsonOf(t, r.Users), jsonOf(t, r.Groups), jsonOf(t, direct.Users), jsonOf(t, direct.Groups))
	}
	if seen, pipes := transports(r); pipes || !seen[NCACNIPTCP] || len(seen) != 1 {
		t.Errorf("transports %v, pipes opened %v", seen, pipes)
	}
	// The endpoint list, as rpcclient prints it.
	oracle := rpcclient(t, "ncacn_ip_tcp:"+dc, false, "epmlookup")
	var want, got []string
	for _, l := range strings.Split(oracle, "\n") {
		if strings.Contains(l, "abstract_syntax=") {
			want = append(want, l)
		}
	}
	if r.Endpoints == nil {
		t.Fatal("no endpoint list")
	}
	for _, e := range r.Endpoints.Entries {
		got = append(got, e.Object+" "+e.Binding+": "+e.Annotation)
	}
	if len(want) < 40 || !slices.Equal(got, want) {
		t.Errorf("endpoints %d %q\nrpcclient %d %q", len(got), got, len(want), want)
	}
	if r.LDAP == nil || len(r.LDAP.Ports) != 4 {
		t.Fatalf("ldap %+v", r.LDAP)
	}
	for _, p := range r.LDAP.Ports {
		if p.State != ldap.Closed || p.Error != "" {
			t.Errorf("ldap port %d: %+v", p.Port, p)
		}
	}
}

// TestLiveDoorsStandalone: a standalone server has no endpoint mapper and
// no LDAP: closed, not errors, and the SMB path is untouched.
func TestLiveDoorsStandalone(t *testing.T) {
	addr := labtest.Require(t, "open")["open"]
	r := liveRun(t, addr, Options{NoGuest: true, Checks: CheckEndpoints | CheckLDAP | CheckUsers})
	if r.Error != "" || r.Ports[EPMPort] != Closed || r.Endpoints != nil || len(r.Users) == 0 {
		t.Fatalf("error %q, ports %v, endpoints %+v, %d users", r.Error, r.Ports, r.Endpoints, len(r.Users))
	}
	for _, p := range r.LDAP.Ports {
		if p.State != ldap.Closed || p.Error != "" {
			t.Errorf("ldap port %d: %+v", p.Port, p)
		}
	}
	if seen, _ := transports(r); !seen[NCACNNP] || len(seen) != 1 {
		t.Errorf("transports %v", seen)
	}
	// --transport tcp with nothing on 135: no RPC call at all, not the pipes.
	r = liveRun(t, addr, Options{NoGuest: true, Transport: TransportTCP, Checks: CheckUsers})
	if seen, _ := transports(r); len(seen) != 0 || r.Users != nil || r.Ports[EPMPort] != Closed {
		t.Errorf("tcp only: transports %v, users %v, 135 %s", seen, r.Users, r.Ports[EPMPort])
	}
}

// TestLiveDoorsDC: -E and -D on the DC: the list and the LDAP verdict.
func TestLiveDoorsDC(t *testing.T) {
	addr := labtest.Require(t, "dc")["dc"]
	r := liveRun(t, addr, Options{NoGuest: true, Checks: CheckEndpoints | CheckLDAP})
	if r.Endpoints == nil || len(r.Endpoints.Entries) < 40 || r.Endpoints.Truncated {
		t.Fatalf("endpoints %+v", r.Endpoints)
	}
	tcp := 0
	for _, e := range r.Endpoints.Entries {
		if e.Protocol == NCACNIPTCP {
			tcp++
		}
		if e.Name == "" || e.Interface == "" || e.Transfer != dcerpc.NDR20.UUID.String()+" v2.0" {
			t.Errorf("entry %+v", e)
		}
	}
	if tcp < 10 {
		t.Errorf("%d entries on TCP", tcp)
	}
	p := r.LDAP.Ports[0]
	if p.Port != 389 || p.RootDSE == nil || p.Search == nil || p.Search.Allowed || p.Search.Result.Name != "operationsError" {
		t.Fatalf("ldap 389 %+v", p)
	}
}

// stableLDAP drops what changes between two runs against the same server:
// the rootDSE's clock (currentTime).
func stableLDAP(r *ldap.Result) *ldap.Result {
	if r == nil {
		return nil
	}
	out := &ldap.Result{Ports: slices.Clone(r.Ports)}
	for i := range out.Ports {
		if d := out.Ports[i].RootDSE; d != nil {
			c := *d
			c.CurrentTime = ""
			c.Attributes = maps.Clone(d.Attributes)
			delete(c.Attributes, "currentTime")
			out.Ports[i].RootDSE = &c
		}
	}
	return out
}
