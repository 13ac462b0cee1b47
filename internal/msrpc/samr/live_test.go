package samr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// live skips under -short, then gets the lab postures.
func live(t testing.TB, postures ...string) map[string]string {
	t.Helper()
	if testing.Short() {
		t.Skip("live lab test; -short")
	}
	return labtest.Require(t, postures...)
}

// dialSAMR opens a null session to host, IPC$, the samr pipe, and binds.
func dialSAMR(t testing.TB, ctx context.Context, host string) *Client {
	t.Helper()
	return dialSAMROpt(t, ctx, host, smb.Options{})
}

func dialSAMROpt(t testing.TB, ctx context.Context, host string, opt smb.Options) *Client {
	t.Helper()
	if testing.Short() {
		t.Skip("live lab test; -short")
	}
	conn, err := smb.Dial(ctx, host, opt)
	if err != nil {
		t.Fatalf("dial %s: %v", host, err)
	}
	t.Cleanup(func() { conn.Close() })
	sess, _, err := conn.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		t.Fatalf("null session %s: %v", host, err)
	}
	tree, err := sess.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatalf("IPC$ %s: %v", host, err)
	}
	pipe, err := tree.OpenPipe(ctx, "samr")
	if err != nil {
		t.Fatalf("samr pipe %s: %v", host, err)
	}
	c, err := Bind(ctx, pipe)
	if err != nil {
		t.Fatalf("%s: %v", host, err)
	}
	return c
}

// rpcclient runs Samba's rpcclient as an anonymous client (the oracle).
func rpcclient(t testing.TB, host, cmds string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("live oracle test; -short")
	}
	if _, err := exec.LookPath("rpcclient"); err != nil {
		labtest.OracleMissing(t, "rpcclient not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rpcclient", "-U", "", "-N", host, "-c", cmds).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "result was") {
		t.Fatalf("rpcclient %s %q: %v\n%s", host, cmds, err, out)
	}
	return string(out)
}

var (
	reUser   = regexp.MustCompile(`(?m)^user:\[(.*)\] rid:\[0x([0-9a-f]+)\]$`)
	reGroup  = regexp.MustCompile(`(?m)^group:\[(.*)\] rid:\[0x([0-9a-f]+)\]$`)
	reDisp   = regexp.MustCompile(`(?m)^index: 0x[0-9a-f]+ RID: 0x([0-9a-f]+) acb: 0x([0-9a-f]+) Account: (.*)\tName: (.*)\tDesc: (.*)$`)
	reRIDMem = regexp.MustCompile(`(?m)^\trid:\[0x([0-9a-f]+)\] attr:\[0x[0-9a-f]+\]$`)
	reSIDMem = regexp.MustCompile(`(?m)^\tsid:\[(S-[0-9-]+)\]$`)
)

func hex32(t testing.TB, s string) uint32 {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

func field(t testing.TB, out, label string) uint64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `:?\s+(0x[0-9a-f]+|\d+)$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rpcclient output lacks %q:\n%s", label, out)
	}
	v, err := strconv.ParseUint(m[1], 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rawPolicy reads the raw 64-bit policy times with impacket (the oracle
// for values rpcclient prints wrongly, docs/samba.md).
func rawPolicy(t testing.TB, host string) map[string]int64 {
	t.Helper()
	const script = `
import json, sys
from impacket.dcerpc.v5 import transport, samr
t = transport.DCERPCTransportFactory(r'ncacn_np:%s[\pipe\samr]' % sys.argv[1])
t.set_credentials('', '', '', '', '')
d = t.get_dce_rpc(); d.connect(); d.bind(samr.MSRPC_UUID_SAMR)
sh = samr.hSamrConnect2(d, desiredAccess=0x31)['ServerHandle']
doms = [e['Name'] for e in samr.hSamrEnumerateDomainsInSamServer(d, sh)['Buffer']['Buffer']]
sid = [samr.hSamrLookupDomainInSamServer(d, sh, n)['DomainId'] for n in doms]
sid = [s for s in sid if s.formatCanonical() != 'S-1-5-32'][0]
dh = samr.hSamrOpenDomain(d, sh, 0x305, sid)['DomainHandle']
q = lambda c: samr.hSamrQueryInformationDomain2(d, dh, c)['Buffer']
old = lambda v: (v['HighPart'] << 32) | (v['LowPart'] & 0xffffffff)
p, lo, lk = q(1)['Password'], q(3)['Logoff'], q(12)['Lockout']
print(json.dumps({'max_age': old(p['MaxPasswordAge']), 'min_age': old(p['MinPasswordAge']),
  'force_logoff': old(lo['ForceLogoff']), 'lockout_duration': lk['LockoutDuration'],
  'lockout_window': lk['LockoutObservationWindow']}))
`
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		labtest.OracleMissing(t, "no /usr/bin/python3 with impacket")
	}
	out, err := exec.Command("/usr/bin/python3", "-c", script, host).Output()
	if err != nil {
		labtest.OracleMissing(t, "impacket oracle unavailable: %v", err)
	}
	var m map[string]int64
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("impacket output %q: %v", out, err)
	}
	return m
}

type oracleGroup struct {
	rid     uint32
	name    string
	members []string // SIDs
}

// oracle is what rpcclient reports for one host.
type oracle struct {
	users  map[uint32]string
	disp   map[uint32]User
	groups map[string][]oracleGroup // kind → groups
	policy string
	pwinfo string
	domSID string
}

// rpcclientEach runs several commands in one rpcclient process and splits
// the output per command, with an unknown command as the separator
// (rpcclient prints "command not found: NAME" and goes on).
func rpcclientEach(t testing.TB, host string, cmds []string) []string {
	t.Helper()
	var parts0 []string
	for i, c := range cmds {
		parts0 = append(parts0, c, fmt.Sprintf("nsmark_%d", i))
	}
	out := rpcclient(t, host, strings.Join(parts0, "; "))
	parts := make([]string, len(cmds))
	for i := range cmds {
		marker := fmt.Sprintf("command not found: nsmark_%d\n", i)
		k := strings.Index(out, marker)
		if k < 0 {
			t.Fatalf("rpcclient output lacks marker %d:\n%s", i, out)
		}
		parts[i], out = out[:k], out[k+len(marker):]
	}
	return parts
}

var kinds = []struct{ kind, list, members string }{
	{"domain", "enumdomgroups", "querygroupmem 0x%x"},
	{"alias", "enumalsgroups domain", "queryaliasmem domain 0x%x"},
	{"builtin", "enumalsgroups builtin", "queryaliasmem builtin 0x%x"},
}

func readOracle(t testing.TB, host, domain string) oracle {
	t.Helper()
	o := oracle{users: map[uint32]string{}, disp: map[uint32]User{}, groups: map[string][]oracleGroup{}}
	// enumdomusers filters on ACB_NORMAL by default; acb_mask 0 lists all
	// accounts, machine accounts included, as Enumerate does.
	lists := rpcclientEach(t, host, []string{"enumdomusers 0x02000000 0", "querydispinfo", "enumdomgroups",
		"enumalsgroups domain", "enumalsgroups builtin", "querydominfo 1; querydominfo 12", "getdompwinfo", "lookupdomain " + domain})
	for _, m := range reUser.FindAllStringSubmatch(lists[0], -1) {
		o.users[hex32(t, m[2])] = m[1]
	}
	for _, m := range reDisp.FindAllStringSubmatch(lists[1], -1) {
		rid := hex32(t, m[1])
		o.disp[rid] = User{RID: rid, ACB: hex32(t, m[2]), Name: m[3], FullName: m[4], Description: m[5]}
	}
	for i, k := range kinds {
		o.groups[k.kind] = []oracleGroup{}
		for _, m := range reGroup.FindAllStringSubmatch(lists[2+i], -1) {
			o.groups[k.kind] = append(o.groups[k.kind], oracleGroup{rid: hex32(t, m[2]), name: m[1]})
		}
	}
	o.policy, o.pwinfo = lists[5], lists[6]
	// The account domain's SID by SAMR (LSA lookups are denied on Samba
	// AD, docs/samba.md).
	if sm := regexp.MustCompile(`Domain SID: (S-[0-9-]+)`).FindStringSubmatch(lists[7]); sm != nil {
		o.domSID = sm[1]
	}
	var cmds []string
	for _, k := range kinds {
		for _, g := range o.groups[k.kind] {
			cmds = append(cmds, fmt.Sprintf(k.members, g.rid))
		}
	}
	outs := rpcclientEach(t, host, cmds)
	for _, k := range kinds {
		for gi := range o.groups[k.kind] {
			out := outs[0]
			outs = outs[1:]
			g := &o.groups[k.kind][gi]
			g.members = []string{}
			for _, m := range reRIDMem.FindAllStringSubmatch(out, -1) {
				g.members = append(g.members, fmt.Sprintf("%s-%d", o.domSID, hex32(t, m[1])))
			}
			for _, m := range reSIDMem.FindAllStringSubmatch(out, -1) {
				g.members = append(g.members, m[1])
			}
		}
	}
	return o
}

// TestEnumerateMatchesRpcclient runs the whole enumeration against the
// lab and compares users, groups with members and the policy with
// rpcclient (and the raw times with impacket).
func TestEnumerateMatchesRpcclient(t *testing.T) {
	addrs := live(t, "open", "bulk", "dc")
	for _, posture := range []string{"open", "bulk", "dc"} {
		t.Run(posture, func(t *testing.T) {
			host := addrs[posture]
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c := dialSAMR(t, ctx, host)
			e, err := c.Enumerate(ctx, Options{Users: true, Groups: true, Policy: true})
			if err != nil {
				t.Fatalf("Enumerate: %v", err)
			}
			if e.Account == nil {
				t.Fatal("no account domain")
			}
			o := readOracle(t, host, e.Account.Name)
			if e.Account == nil || e.Account.SID.String() != o.domSID {
				t.Fatalf("account domain %+v, rpcclient says %s", e.Account, o.domSID)
			}

			// Users: the union of enumdomusers and querydispinfo, by RID.
			got := map[uint32]User{}
			for _, u := range e.Users {
				got[u.RID] = u
			}
			if len(got) != len(o.users) {
				t.Errorf("%d users, rpcclient enumdomusers %d", len(got), len(o.users))
			}
			for rid, name := range o.users {
				if got[rid].Name != name {
					t.Errorf("rid 0x%x: name %q, rpcclient %q", rid, got[rid].Name, name)
				}
			}
			for rid, d := range o.disp {
				u := got[rid]
				d.ACBSource = "display"
				if diff := cmp.Diff(d, u); diff != "" {
					t.Errorf("rid 0x%x (-rpcclient +ours):\n%s", rid, diff)
				}
			}

			// Groups and members.
			for _, kind := range []string{"domain", "alias", "builtin"} {
				var ours []oracleGroup
				for _, g := range e.Groups {
					if g.Kind != kind {
						continue
					}
					if g.MembersErr != nil {
						t.Errorf("%s %s: members: %v", kind, g.Name, g.MembersErr)
					}
					og := oracleGroup{rid: g.RID, name: g.Name, members: []string{}}
					for _, m := range g.Members {
						og.members = append(og.members, m.SID)
					}
					ours = append(ours, og)
				}
				if ours == nil {
					ours = []oracleGroup{}
				}
				if diff := cmp.Diff(o.groups[kind], ours, cmp.AllowUnexported(oracleGroup{})); diff != "" {
					t.Errorf("%s groups (-rpcclient +ours):\n%s", kind, diff)
				}
			}
			// Every member in the account domain or Builtin got a name.
			for _, g := range e.Groups {
				for _, m := range g.Members {
					inDomain := strings.HasPrefix(m.SID, o.domSID+"-") || strings.HasPrefix(m.SID, "S-1-5-32-")
					if inDomain && (!m.Resolved || m.Name == "") {
						t.Errorf("%s: member %s not resolved", g.Name, m.SID)
					}
					if !inDomain && m.Resolved {
						t.Errorf("%s: member %s outside SAMR's domains marked resolved", g.Name, m.SID)
					}
				}
			}

			// Policy: integer fields from rpcclient, raw times from impacket.
			p := e.Policy
			if p == nil || p.Password == nil || p.Lockout == nil || p.ForceLogoff == nil {
				t.Fatalf("policy incomplete: %+v", p)
			}
			if uint64(p.Password.MinLength) != field(t, o.policy, "Minimum password length") ||
				uint64(p.Password.HistoryLength) != field(t, o.policy, "Password uniqueness (remember x passwords)") ||
				uint64(p.Password.Properties) != field(t, o.policy, "password_properties") ||
				uint64(p.Lockout.Threshold) != field(t, o.policy, "Lockout after bad attempts") {
				t.Errorf("policy %+v %+v, rpcclient:\n%s", p.Password, p.Lockout, o.policy)
			}
			raw := rawPolicy(t, host)
			want := map[string]int64{"max_age": p.Password.MaxAge, "min_age": p.Password.MinAge, "force_logoff": *p.ForceLogoff,
				"lockout_duration": p.Lockout.Duration, "lockout_window": p.Lockout.Window}
			if diff := cmp.Diff(raw, want); diff != "" {
				t.Errorf("raw policy times (-impacket +ours):\n%s", diff)
			}
			if uint64(p.Password.MinLength) != field(t, o.pwinfo, "min_password_length") {
				t.Errorf("getdompwinfo disagrees: %s", o.pwinfo)
			}

			// Evidence: every call recorded, with a status.
			for _, call := range e.Calls {
				if call.Status == "" || !strings.HasPrefix(call.Name, "samr.") {
					t.Errorf("call record %+v", call)
				}
			}
			if posture == "bulk" {
				n := 0
				for _, call := range e.Calls {
					if call.Name == "samr.QueryDisplayInformation" {
						n++
					}
				}
				// Samba caps a reply at 1,024 entries: 2,003 users take 2 calls.
				if len(e.Users) < 2000 || n > 3 {
					t.Errorf("bulk: %d users in %d display calls", len(e.Users), n)
				}
			}
		})
	}
}

// TestPolicySeconds checks the seconds the lab's raw policy values turn
// into (docs/samba.md).
func TestPolicySeconds(t *testing.T) {
	addrs := live(t, "open", "dc")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secs := func(raw int64) string {
		s, never := Duration(raw)
		if never {
			return "never"
		}
		return strconv.FormatInt(*s, 10)
	}
	for posture, want := range map[string][5]string{
		// max age, min age, lockout duration, window, force logoff
		"dc":   {"3628800", "86400", "1800", "1800", "never"},
		"open": {"never", "0", "1800", "1800", "never"},
	} {
		e, err := dialSAMR(t, ctx, addrs[posture]).Enumerate(ctx, Options{Policy: true})
		if err != nil {
			t.Fatal(err)
		}
		p := e.Policy
		got := [5]string{secs(p.Password.MaxAge), secs(p.Password.MinAge), secs(p.Lockout.Duration), secs(p.Lockout.Window), secs(*p.ForceLogoff)}
		if got != want {
			t.Errorf("%s: %v, want %v", posture, got, want)
		}
	}
}

// TestAccountFlagsOnDC: Samba AD's display information says 0 for every
// user; class 16 gives the bits rpcclient's queryuser shows.
func TestAccountFlagsOnDC(t *testing.T) {
	addrs := live(t, "dc")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := dialSAMR(t, ctx, addrs["dc"]).Enumerate(ctx, Options{Users: true, AccountFlags: true})
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, u := range e.Users {
		cmds = append(cmds, fmt.Sprintf("queryuser 0x%x", u.RID))
	}
	outs := rpcclientEach(t, addrs["dc"], cmds)
	for i, u := range e.Users {
		out := outs[i]
		m := regexp.MustCompile(`acb_info :\s+0x([0-9a-f]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("queryuser 0x%x: %s", u.RID, out)
		}
		if want := hex32(t, m[1]); u.ACB != want || u.ACBSource != "user_info" {
			t.Errorf("%s: ACB 0x%x (%s), rpcclient 0x%x", u.Name, u.ACB, u.ACBSource, want)
		}
	}
}

// TestRestrictedDenied: restrict anonymous = 1 refuses the connect; the
// real status comes back and both connect forms are in the evidence.
func TestRestrictedDenied(t *testing.T) {
	addrs := live(t, "restricted1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := dialSAMR(t, ctx, addrs["restricted1"]).Enumerate(ctx, Options{Users: true, Groups: true, Policy: true})
	var st ntstatus.Status
	if !errors.As(err, &st) || st != ntstatus.AccessDenied {
		t.Fatalf("err %v, want STATUS_ACCESS_DENIED", err)
	}
	if !strings.Contains(rpcclient(t, addrs["restricted1"], "enumdomusers"), "NT_STATUS_ACCESS_DENIED") {
		t.Error("rpcclient was not denied")
	}
	var names []string
	for _, c := range e.Calls {
		names = append(names, c.Name+"="+c.Status)
	}
	want := []string{"samr.Connect5=STATUS_ACCESS_DENIED", "samr.Connect2=STATUS_ACCESS_DENIED"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if e.Users != nil || e.Groups != nil || e.Policy != nil {
		t.Errorf("denied host produced data: %+v", e)
	}
}

// BenchmarkEnumerateBulk times the full SAMR enumeration (users, groups,
// policy) of the bulk posture (2,003 users) on one bound connection.
func BenchmarkEnumerateBulk(b *testing.B) {
	addrs := live(b, "bulk")
	ctx := context.Background()
	c := dialSAMR(b, ctx, addrs["bulk"])
	calls := 0
	for b.Loop() {
		e, err := c.Enumerate(ctx, Options{Users: true, Groups: true, Policy: true})
		if err != nil || len(e.Users) < 2000 {
			b.Fatalf("%v, %d users", err, len(e.Users))
		}
		calls = len(e.Calls)
	}
	b.ReportMetric(float64(calls), "calls/op")
}

var reLookupRID = regexp.MustCompile(`(?m)^rid 0x([0-9a-f]+): (.*) \((\d+)\)$`)

// TestLookupMatchesRpcclient: RID and name translation through SAMR agrees
// with rpcclient's samlookuprids / samlookupnames, in the account domain
// and Builtin, across a batch boundary.
func TestLookupMatchesRpcclient(t *testing.T) {
	addrs := live(t, "open", "dc")
	for _, posture := range []string{"open", "dc"} {
		t.Run(posture, func(t *testing.T) {
			host := addrs[posture]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := dialSAMR(t, ctx, host)
			for _, dom := range []struct{ arg, rpc string }{{"", "domain"}, {"S-1-5-32", "builtin"}} {
				var rids []uint32
				for r := uint32(500); r <= 560; r++ {
					rids = append(rids, r)
				}
				for r := uint32(1000); r < 2100; r++ { // crosses the 1,000 batch limit
					rids = append(rids, r)
				}
				d, err := c.OpenLookup(ctx, dom.arg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.IDs(ctx, rids)
				if err != nil {
					t.Fatal(err)
				}
				d.Close(ctx)
				// rpcclient, 500 RIDs per command (its argument limit).
				var cmds []string
				var chunks [][]uint32
				for i := 0; i < len(rids); i += 500 {
					chunks = append(chunks, rids[i:min(i+500, len(rids))])
					var b strings.Builder
					b.WriteString("samlookuprids " + dom.rpc)
					for _, r := range rids[i:min(i+500, len(rids))] {
						fmt.Fprintf(&b, " %d", r)
					}
					cmds = append(cmds, b.String())
				}
				want := map[uint32]Lookup{}
				for i, out := range rpcclientEach(t, host, cmds) {
					if strings.Contains(out, "NT_STATUS_NONE_MAPPED") { // rpcclient then prints no RIDs
						for _, r := range chunks[i] {
							want[r] = Lookup{RID: r, Use: UseUnknown}
						}
					}
					for _, m := range reLookupRID.FindAllStringSubmatch(out, -1) {
						rid := hex32(t, m[1])
						use, _ := strconv.Atoi(m[3])
						name := m[2]
						if name == "(null)" {
							name = ""
						}
						want[rid] = Lookup{RID: rid, Name: name, Use: SIDUse(use)}
					}
				}
				if len(want) != len(rids) {
					t.Fatalf("rpcclient answered %d of %d RIDs", len(want), len(rids))
				}
				mapped := 0
				for _, g := range got {
					if g != want[g.RID] {
						t.Errorf("%s rid %d: %+v, rpcclient %+v", dom.rpc, g.RID, g, want[g.RID])
					}
					if g.Name != "" {
						mapped++
					}
				}
				if mapped == 0 {
					t.Errorf("%s: nothing mapped", dom.rpc)
				}
			}
			d, err := c.OpenLookup(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close(ctx)
			got, err := d.Names(ctx, []string{"alice", "nosuchuser"})
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`(?m)^name alice: 0x([0-9a-f]+) \(1\)$`).FindStringSubmatch(rpcclient(t, host, "samlookupnames domain alice"))
			if m == nil || got[0].RID != hex32(t, m[1]) || got[0].Use != UseUser || got[1].Use != UseUnknown {
				t.Errorf("names %+v, rpcclient %v", got, m)
			}
		})
	}
}

// TestUserDetailsMatchRpcclient: class 21 per user agrees with rpcclient's
// queryuser (which reads the same class).
func TestUserDetailsMatchRpcclient(t *testing.T) {
	addrs := live(t, "open", "dc")
	for _, posture := range []string{"open", "dc"} {
		t.Run(posture, func(t *testing.T) {
			host := addrs[posture]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			e, err := dialSAMR(t, ctx, host).Enumerate(ctx, Options{Users: true, Details: true})
			if err != nil {
				t.Fatal(err)
			}
			var cmds []string
			for _, u := range e.Users {
				cmds = append(cmds, fmt.Sprintf("queryuser 0x%x", u.RID))
			}
			outs := rpcclientEach(t, host, cmds)
			line := func(out, label string) string {
				m := regexp.MustCompile(`(?m)^\t` + regexp.QuoteMeta(label) + `\s*:\t(.*)$`).FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("queryuser output lacks %q:\n%s", label, out)
				}
				return m[1]
			}
			for i, u := range e.Users {
				d := u.Details
				if d == nil || u.ACBSource != "user_info" {
					t.Fatalf("%s: no details", u.Name)
				}
				out := outs[i]
				got := []string{d.Name, d.FullName, d.HomeDirectory, d.ProfilePath, d.Description,
					fmt.Sprintf("0x%x", d.RID), fmt.Sprintf("0x%x", d.PrimaryGroupID), fmt.Sprintf("0x%08x", d.ACB),
					fmt.Sprintf("0x%08x", d.BadPasswordCount), fmt.Sprintf("0x%08x", d.LogonCount)}
				want := []string{line(out, "User Name"), line(out, "Full Name"), line(out, "Home Drive"), line(out, "Profile Path"),
					line(out, "Description"), line(out, "user_rid"), line(out, "group_rid"), line(out, "acb_info"),
					line(out, "bad_password_count"), line(out, "logon_count")}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("rid 0x%x (-rpcclient +ours):\n%s", u.RID, diff)
				}
			}
		})
	}
}

// TestOverEachTransport: the same enumeration over an SMB1 pipe
// (smb1only), SMB2+ (smb2only) and port 139 (open) finds the lab's three
// standalone users and LabAdmins' member.
func TestOverEachTransport(t *testing.T) {
	addrs := live(t, "smb1only", "smb2only", "open")
	for _, tc := range []struct {
		name, posture string
		opt           smb.Options
	}{
		{"smb1", "smb1only", smb.Options{Dialects: []smb.Dialect{smb.SMB1}}},
		{"smb2", "smb2only", smb.Options{}},
		{"port139", "open", smb.Options{Port: 139}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			e, err := dialSAMROpt(t, ctx, addrs[tc.posture], tc.opt).Enumerate(ctx, Options{Users: true, Groups: true})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, u := range e.Users {
				names = append(names, u.Name)
			}
			if d := cmp.Diff([]string{"alice", "bob", "svc_backup"}, names); d != "" {
				t.Errorf("users (-want +got):\n%s", d)
			}
			for _, g := range e.Groups {
				if g.Name == "LabAdmins" && (len(g.Members) != 1 || g.Members[0].Name != "alice") {
					t.Errorf("LabAdmins members %+v", g.Members)
				}
			}
		})
	}
}

// TestOverTCPOnDC: SAMR on the DC's dynamic TCP port (ncacn_ip_tcp, found
// with impacket's endpoint-mapper client, the oracle here) answers an
// anonymous, unauthenticated bind as the pipe does.
func TestOverTCPOnDC(t *testing.T) {
	addrs := live(t, "dc")
	out, err := exec.Command("/usr/bin/python3", "-c", `
import sys
from impacket.dcerpc.v5 import epm, samr
print(epm.hept_map(sys.argv[1], samr.MSRPC_UUID_SAMR, protocol='ncacn_ip_tcp'))`, addrs["dc"]).Output()
	if err != nil {
		labtest.OracleMissing(t, "impacket endpoint mapper unavailable: %v", err)
	}
	m := regexp.MustCompile(`ncacn_ip_tcp:([0-9.]+)\[(\d+)\]`).FindStringSubmatch(string(out))
	if m == nil || m[1] != addrs["dc"] {
		t.Fatalf("endpoint %q", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tcp, err := dcerpc.DialTCP(ctx, m[1]+":"+m[2])
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	c, err := Bind(ctx, tcp)
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Enumerate(ctx, Options{Users: true, Policy: true})
	if err != nil {
		t.Fatal(err)
	}
	viaPipe, err := dialSAMR(t, ctx, addrs["dc"]).Enumerate(ctx, Options{Users: true, Policy: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(viaPipe.Users, e.Users); d != "" || len(e.Users) == 0 {
		t.Errorf("users over TCP differ from the pipe (-pipe +tcp):\n%s", d)
	}
	if d := cmp.Diff(viaPipe.Policy, e.Policy); d != "" {
		t.Errorf("policy over TCP differs (-pipe +tcp):\n%s", d)
	}
}

// dialSAMRTree is dialSAMR that also returns a lane opener: another samr
// pipe on the same IPC$ tree, bound.
func dialSAMRTree(t testing.TB, ctx context.Context, host string) (*Client, func(ctx context.Context, i int) (*Client, func(), error)) {
	t.Helper()
	conn, err := smb.Dial(ctx, host, smb.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", host, err)
	}
	t.Cleanup(func() { conn.Close() })
	sess, _, err := conn.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		t.Fatalf("null session %s: %v", host, err)
	}
	tree, err := sess.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatalf("IPC$ %s: %v", host, err)
	}
	lane := func(ctx context.Context, i int) (*Client, func(), error) {
		p, err := tree.OpenPipe(ctx, "samr")
		if err != nil {
			return nil, nil, err
		}
		c, err := Bind(ctx, p)
		if err != nil {
			p.Close(ctx)
			return nil, nil, err
		}
		return c, func() { p.Close(context.WithoutCancel(ctx)) }, nil
	}
	c, _, err := lane(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c, lane
}

// On the DC (13 groups, 26 aliases) member reads spread over lanes give
// the same groups and members as one pipe, and the same calls in the same
// order, plus each lane's connect, opens and closes in one block.
func TestMemberLanesOnDC(t *testing.T) {
	host := live(t, "dc")["dc"]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, lane := dialSAMRTree(t, ctx, host)
	one, err := c.Enumerate(ctx, Options{Groups: true})
	if err != nil {
		t.Fatal(err)
	}
	many, err := c.Enumerate(ctx, Options{Groups: true, Lane: lane, Lanes: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Groups) < minLaneJobs {
		t.Fatalf("%d groups: too few for lanes", len(one.Groups))
	}
	type memberOf struct{ Kind, Name string }
	members := func(e *Enumeration) map[memberOf][]Member {
		m := map[memberOf][]Member{}
		for _, g := range e.Groups {
			if g.MembersErr != nil {
				t.Errorf("%s %s: %v", g.Kind, g.Name, g.MembersErr)
			}
			m[memberOf{g.Kind, g.Name}] = g.Members
		}
		return m
	}
	if diff := cmp.Diff(members(one), members(many)); diff != "" {
		t.Errorf("members (-one pipe +lanes):\n%s", diff)
	}
	key := func(c Call) string { return c.Method + " " + c.Detail + " " + c.Status }
	a, b := one.Calls, many.Calls
	i := 0
	for i < len(a) && key(a[i]) == key(b[i]) {
		i++
	}
	extra := len(b) - len(a)
	if extra <= 0 {
		t.Fatalf("no lane calls: %d calls with lanes, %d without", len(b), len(a))
	}
	connects := 0
	for _, x := range b[i : i+extra] {
		switch x.Method {
		case "Connect5":
			connects++
		case "OpenDomain", "CloseHandle":
		default:
			t.Errorf("lane block holds %s %s", x.Method, x.Detail)
		}
	}
	if connects != 3 {
		t.Errorf("%d lanes connected, want 3", connects)
	}
	for k := i; k < len(a); k++ {
		if key(a[k]) != key(b[k+extra]) {
			t.Fatalf("call %d: %q with lanes, %q without", k, key(b[k+extra]), key(a[k]))
		}
	}
}

// BenchmarkGroupsDC times the group and member reads on the DC over one
// pipe and over four.
func BenchmarkGroupsDC(b *testing.B) {
	host := live(b, "dc")["dc"]
	ctx := context.Background()
	c, lane := dialSAMRTree(b, ctx, host)
	for _, lanes := range []int{1, 4} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Enumerate(ctx, Options{Groups: true, Lane: lane, Lanes: lanes}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
