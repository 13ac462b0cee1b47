package enum

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// Live differential tests: what RID cycling reports must equal what
// Samba's own rpcclient gets for the same SIDs, none missing, none invented.

// rpcclientOracle runs `rpcclient -U "" -N host -c cmd` (a null session).
func rpcclientOracle(t *testing.T, host, cmd string) string {
	t.Helper()
	bin, err := exec.LookPath("rpcclient")
	if err != nil {
		if v, _ := strconv.ParseBool(os.Getenv("CI")); v {
			t.Fatal("rpcclient not installed")
		}
		t.Skip("rpcclient not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-U", "", "-N", host, "-c", cmd).CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("rpcclient %s -c %.60q: %v", host, cmd, err)
	}
	return string(out)
}

// oracleEntry is one mapped SID as rpcclient printed it.
type oracleEntry struct {
	name string
	use  int // SID_NAME_USE number
}

var lookupsidsLine = regexp.MustCompile(`^(S-[0-9-]+) (.*) \((\d+)\)$`)

// oracleLookupSids asks rpcclient lookupsids for sids, 1,000 a call (a -c
// argument over 128 KiB fails, docs/samba.md), and keeps the mapped.
func oracleLookupSids(t *testing.T, host string, sids []string) map[string]oracleEntry {
	out := map[string]oracleEntry{}
	for lo := 0; lo < len(sids); lo += 1000 {
		text := rpcclientOracle(t, host, "lookupsids "+strings.Join(sids[lo:min(lo+1000, len(sids))], " "))
		for _, line := range strings.Split(text, "\n") {
			m := lookupsidsLine.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			use, _ := strconv.Atoi(m[3])
			if use == 8 || use == 7 {
				continue // *unknown*, invalid
			}
			name := m[2]
			if i := strings.IndexByte(name, '\\'); i >= 0 {
				name = name[i+1:]
			}
			if strings.HasPrefix(m[1], "S-1-22-") && strings.HasSuffix(m[1], "-"+name) {
				continue // Samba's made-up name for a uid/gid with no account
			}
			out[m[1]] = oracleEntry{name: name, use: use}
		}
	}
	return out
}

var samlookupridsLine = regexp.MustCompile(`^rid 0x([0-9a-f]+): (.*) \((\d+)\)$`)

// oracleSamLookupRids asks rpcclient samlookuprids (SAMR) in domain
// ("domain" or "builtin"), 1,000 RIDs a call.
func oracleSamLookupRids(t *testing.T, host, domain, domainSID string, rids []uint32) map[string]oracleEntry {
	out := map[string]oracleEntry{}
	for lo := 0; lo < len(rids); lo += 1000 {
		var args []string
		for _, r := range rids[lo:min(lo+1000, len(rids))] {
			args = append(args, strconv.FormatUint(uint64(r), 10))
		}
		text := rpcclientOracle(t, host, "samlookuprids "+domain+" "+strings.Join(args, " "))
		for _, line := range strings.Split(text, "\n") {
			m := samlookupridsLine.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			use, _ := strconv.Atoi(m[3])
			if use == 8 || use == 7 {
				continue
			}
			rid, _ := strconv.ParseUint(m[1], 16, 32)
			out[fmt.Sprintf("%s-%d", domainSID, rid)] = oracleEntry{name: m[2], use: use}
		}
	}
	return out
}

var useNames = map[int]string{1: "user", 2: "group", 3: "domain", 4: "alias", 5: "well-known", 6: "deleted", 9: "computer"}

// compareOracle checks that ours (restricted to SIDs under prefix) and the
// oracle hold the same SIDs with the same names and types.
func compareOracle(t *testing.T, what string, ours []RID, prefix string, oracle map[string]oracleEntry, inScope func(rid uint32) bool) {
	t.Helper()
	got := map[string]RID{}
	for _, r := range ours {
		if sidPrefix(r.SID) == prefix && inScope(r.RID) {
			got[r.SID] = r
		}
	}
	for sid, o := range oracle {
		r, ok := got[sid]
		if !ok {
			t.Errorf("%s: %s (%s) missing", what, sid, o.name)
			continue
		}
		if r.Name != o.name || r.Type != ridType(useNames[o.use], o.name) {
			t.Errorf("%s: %s is %s (%s), oracle says %s (%d)", what, sid, r.Name, r.Type, o.name, o.use)
		}
	}
	for sid, r := range got {
		if _, ok := oracle[sid]; !ok {
			t.Errorf("%s: %s (%s) invented", what, sid, r.Name)
		}
	}
	if len(oracle) == 0 {
		t.Errorf("%s: the oracle mapped nothing", what)
	}
	t.Logf("%s: %d SIDs agree", what, len(oracle))
}

func sidsOf(domain string, ranges ...RIDRange) []string {
	var out []string
	forRanges(ranges, func(rid uint32) { out = append(out, fmt.Sprintf("%s-%d", domain, rid)) })
	return out
}

func ridsIn(ranges ...RIDRange) func(uint32) bool {
	return func(rid uint32) bool {
		return slices.ContainsFunc(ranges, func(r RIDRange) bool { return rid >= r.First && rid <= r.Last })
	}
}

func ridLiveRun(t *testing.T, addr string, checks Checks, rids RIDOptions) *Result {
	t.Helper()
	start := time.Now()
	r := Run(context.Background(), addr, Options{Timeout: 3 * time.Minute, NoGuest: true, Checks: checks, RIDs: rids})
	t.Logf("enum %s took %v", addr, time.Since(start).Round(time.Millisecond))
	if r.Error != "" {
		t.Fatalf("stopped at %s: %s", r.Layer, r.Error)
	}
	if r.RIDCycling == nil {
		t.Fatal("no rid_cycling")
	}
	if r.Domain == nil || r.Domain.SID == "" {
		t.Fatal("no account domain SID")
	}
	return r
}

// On restricted1 (restrict anonymous = 1) SAMR enumeration is denied; RID
// cycling over LSA is the only way to the users.
func TestRIDCyclingRestricted1Live(t *testing.T) {
	addr := labtest.Require(t, "restricted1")["restricted1"]
	r := ridLiveRun(t, addr, CheckRIDs|CheckUsers, RIDOptions{UnixSIDs: true, Names: []string{"alice", "root"}})
	if r.Users != nil {
		t.Errorf("SAMR enumeration gave %d users; restricted1 should deny it", len(r.Users))
	}
	samrDenied := false
	for _, c := range r.Checks {
		samrDenied = samrDenied || c.Interface == IfaceSAMR && c.Result == Denied
	}
	if !samrDenied {
		t.Error("no denied SAMR call in the evidence")
	}
	rc := r.RIDCycling
	if rc.Path != "lsa" {
		t.Fatalf("path %q, denied %v", rc.Path, rc.Denied)
	}
	if rc.Guest != "nobody" || rc.Administrator != "" {
		t.Errorf("administrator %q guest %q, want \"\" (500 unmapped on standalone Samba) and nobody", rc.Administrator, rc.Guest)
	}
	if rc.DomainSIDs["lsa.QueryInformationPolicy(5 account domain)"] != r.Domain.SID {
		t.Errorf("domain SIDs %v", rc.DomainSIDs)
	}
	users := map[string]string{}
	for _, x := range r.RIDs {
		if sidPrefix(x.SID) == r.Domain.SID {
			users[x.Name] = x.Type
		}
	}
	for _, u := range []string{"alice", "bob", "svc_backup"} {
		if users[u] != "user" {
			t.Errorf("%s: %q", u, users[u])
		}
	}
	// The account domain over everything the open-ended scan can reach, and
	// Builtin and the Unix SIDs' fixed ranges, against rpcclient lookupsids.
	acct := []RIDRange{{500, 550}, {1000, 5999}}
	compareOracle(t, "account domain", r.RIDs, r.Domain.SID, oracleLookupSids(t, addr, sidsOf(r.Domain.SID, acct...)), ridsIn(acct...))
	compareOracle(t, "builtin", r.RIDs, "S-1-5-32", oracleLookupSids(t, addr, sidsOf("S-1-5-32", builtinRIDs...)), ridsIn(builtinRIDs...))
	compareOracle(t, "unix users", r.RIDs, "S-1-22-1", oracleLookupSids(t, addr, sidsOf("S-1-22-1", unixFixedRIDs...)), ridsIn(unixFixedRIDs...))
}

// On bulk (2,000 users) the names and types equal rpcclient lookupsids'
// for RIDs 500-5100; the open-ended default scan finds the same.
func TestRIDCyclingBulkMatchesRpcclientLive(t *testing.T) {
	addr := labtest.Require(t, "bulk")["bulk"]
	ranges := []RIDRange{{500, 5100}}
	r := ridLiveRun(t, addr, CheckRIDs, RIDOptions{Ranges: ranges})
	if r.RIDCycling.Path != "lsa" {
		t.Fatalf("path %q, denied %v", r.RIDCycling.Path, r.RIDCycling.Denied)
	}
	oracle := oracleLookupSids(t, addr, sidsOf(r.Domain.SID, ranges...))
	if len(oracle) < 2003 {
		t.Fatalf("oracle mapped %d SIDs; bulk has 2,003 users", len(oracle))
	}
	compareOracle(t, "account domain 500-5100", r.RIDs, r.Domain.SID, oracle, ridsIn(ranges...))

	def := ridLiveRun(t, addr, CheckRIDs, RIDOptions{})
	compareOracle(t, "account domain, default scan", def.RIDs, def.Domain.SID, oracle, ridsIn(ranges...))
}

// On the AD DC a null session is refused a policy handle for
// POLICY_LOOKUP_NAMES (so rpcclient's lookupsids, which asks for just
// that, is denied) but granted one for POLICY_VIEW_LOCAL_INFORMATION, on
// which LsarLookupSids translates: the path is LSA, the mask is reported,
// and the names equal rpcclient samlookuprids' (SAMR) for the account
// domain and Builtin.
func TestRIDCyclingDCOverLSALive(t *testing.T) {
	addr := labtest.Require(t, "dc")["dc"]
	if out := rpcclientOracle(t, addr, "lookupsids S-1-5-32-544"); !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("rpcclient lookupsids (POLICY_LOOKUP_NAMES) on the DC: %q, want access denied", out)
	}
	r := ridLiveRun(t, addr, CheckRIDs, RIDOptions{})
	rc := r.RIDCycling
	if rc.Path != "lsa" || rc.LSAAccess != lsa.PolicyViewLocalInformation {
		t.Fatalf("path %q access 0x%x, denied %v", rc.Path, rc.LSAAccess, rc.Denied)
	}
	asked := map[string]Outcome{}
	for _, c := range r.Checks {
		if c.Is(IfaceLSA, lsa.OpOpenPolicy2) && strings.Contains(c.Detail, "rid cycling lane 0") {
			asked[c.Arg] = c.Result
		}
	}
	if asked["access 0x00000800"] != Denied || asked["access 0x00000001"] != OK || len(asked) != 2 {
		t.Errorf("lane 0 policy opens %v: want 0x800 denied, then 0x1 ok", asked)
	}
	if rc.Administrator != "Administrator" || rc.Guest != "Guest" {
		t.Errorf("administrator %q guest %q", rc.Administrator, rc.Guest)
	}
	var dc1 *RID
	for i := range r.RIDs {
		if r.RIDs[i].Name == "DC1$" {
			dc1 = &r.RIDs[i]
		}
	}
	if dc1 == nil || dc1.Type != "computer" {
		t.Errorf("DC1$: %+v", dc1)
	}
	acct := []RIDRange{{500, 550}, {1000, 5999}}
	var rids []uint32
	forRanges(acct, func(rid uint32) { rids = append(rids, rid) })
	compareOracle(t, "account domain", r.RIDs, r.Domain.SID, oracleSamLookupRids(t, addr, "domain", r.Domain.SID, rids), ridsIn(acct...))
	var brids []uint32
	forRanges(builtinRIDs, func(rid uint32) { brids = append(brids, rid) })
	compareOracle(t, "builtin", r.RIDs, "S-1-5-32", oracleSamLookupRids(t, addr, "builtin", "S-1-5-32", brids), ridsIn(builtinRIDs...))
}

// BenchmarkRIDCycleBulk times RID cycling of 500-5100 on bulk alone (lane
// setup included), over one null session set up outside the timer, for
// several lane counts: what scripts/bench.sh's target is about.
func BenchmarkRIDCycleBulk(b *testing.B) {
	addr := labtest.Require(b, "bulk")["bulk"]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opt := Options{NoGuest: true, Checks: CheckRIDs, RIDs: RIDOptions{Ranges: []RIDRange{{500, 5100}}}}
	h := &host{Target: addr, Opt: opt, Result: &Result{Checks: []Check{}, Pipes: map[string]Outcome{}}, log: slog.New(slog.DiscardHandler)}
	defer h.close()
	var err error
	if h.Conn, err = smb.Dial(ctx, addr, smb.Options{}); err != nil {
		b.Fatal(err)
	}
	if h.Session, _, err = h.Conn.SessionSetup(ctx, smb.Credentials{}); err != nil {
		b.Fatal(err)
	}
	if h.IPC, err = h.Session.TreeConnect(ctx, "IPC$"); err != nil {
		b.Fatal(err)
	}
	st := &rpcState{}
	defer st.close(ctx)
	h.lsaChecks(ctx, st)
	if st.account == nil {
		b.Fatal("no account domain SID")
	}
	cycle := func(b *testing.B) {
		h.Result.RIDs, h.Result.Checks = nil, h.Result.Checks[:0]
		h.ridCycle(ctx, st)
		if n := len(h.Result.RIDs); n < 2003 {
			b.Fatalf("found %d names; %+v", n, h.Result.RIDCycling)
		}
	}
	cycle(b) // warm-up: the server starts its RPC workers on first use
	// RID_BENCH_TRACE=1 logs one run's calls with their times, for 1 and 4 lanes.
	if os.Getenv("RID_BENCH_TRACE") != "" {
		for _, lanes := range []int{1, 4} {
			h.Opt.RIDs.Lanes = lanes
			start := time.Now()
			cycle(b)
			b.Logf("lanes=%d: %v", lanes, time.Since(start))
			for _, c := range h.Result.Checks {
				b.Logf("  %4d ms %s %s %s", c.MS, c.Name, c.Status, c.Detail)
			}
		}
		h.Opt.RIDs.Lanes = 0
	}
	for _, lanes := range []int{1, 2, 3, 4, 6, 8} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			h.Opt.RIDs.Lanes = lanes
			defer func() { h.Opt.RIDs.Lanes = 0 }()
			for b.Loop() {
				cycle(b)
			}
		})
	}
}

// BenchmarkEnumRIDsBulk times what `nullsweep enum -R --no-guest --rids
// 500-5100` costs end to end: every layer, then the cycling.
func BenchmarkEnumRIDsBulk(b *testing.B) {
	addr := labtest.Require(b, "bulk")["bulk"]
	opt := Options{Timeout: time.Minute, NoGuest: true, Checks: CheckRIDs, RIDs: RIDOptions{Ranges: []RIDRange{{500, 5100}}}}
	if r := Run(context.Background(), addr, opt); len(r.RIDs) < 2003 {
		b.Fatalf("warm-up found %d names", len(r.RIDs))
	}
	for b.Loop() {
		if r := Run(context.Background(), addr, opt); len(r.RIDs) < 2003 {
			b.Fatalf("found %d names", len(r.RIDs))
		}
	}
}

// --names: LSA LookupNames on open, and on the DC on the handle opened for
// POLICY_VIEW_LOCAL_INFORMATION; the RIDs cycled stop at 510 so that the
// names can only have come from the name lookup. The SIDs must equal
// rpcclient's (on the DC SAMR's: its lookupnames asks for the
// POLICY_LOOKUP_NAMES the DC refuses).
func TestRIDCyclingNamesLive(t *testing.T) {
	addrs := labtest.Require(t, "open", "dc")
	opt := RIDOptions{Ranges: []RIDRange{{500, 510}}, Names: []string{"alice", "root", "no-such-account"}}
	t.Run("open/lsa", func(t *testing.T) {
		r := ridLiveRun(t, addrs["open"], CheckRIDs, opt)
		want := map[string]string{}
		for _, line := range strings.Split(rpcclientOracle(t, addrs["open"], "lookupnames alice root"), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[1], "S-") {
				want[f[0]] = f[1]
			}
		}
		if len(want) != 2 {
			t.Fatalf("oracle: %v", want)
		}
		for name, sid := range want {
			if !slices.ContainsFunc(r.RIDs, func(x RID) bool { return x.Name == name && x.SID == sid && x.Type == "user" }) {
				t.Errorf("%s (%s) not reported: %+v", name, sid, r.RIDs)
			}
		}
	})
	t.Run("dc/lsa", func(t *testing.T) {
		r := ridLiveRun(t, addrs["dc"], CheckRIDs, opt)
		if r.RIDCycling.Path != "lsa" {
			t.Fatalf("path %q", r.RIDCycling.Path)
		}
		m := regexp.MustCompile(`name alice: 0x([0-9a-f]+) \(1\)`).FindStringSubmatch(rpcclientOracle(t, addrs["dc"], "samlookupnames domain alice"))
		if m == nil {
			t.Fatal("oracle did not map alice")
		}
		rid, _ := strconv.ParseUint(m[1], 16, 32)
		sid := fmt.Sprintf("%s-%d", r.Domain.SID, rid)
		if !slices.ContainsFunc(r.RIDs, func(x RID) bool { return x.Name == "alice" && x.SID == sid && x.Type == "user" }) {
			t.Errorf("alice (%s) not reported: %+v", sid, r.RIDs)
		}
	})
}

// Over SMB1 the lanes' split transactions are WriteAndX + ReadAndX on the
// pipe; the names must be the same as over SMB2.
func TestRIDCyclingSMB1Live(t *testing.T) {
	addr := labtest.Require(t, "open")["open"]
	run := func(smb1 bool) []RID {
		r := Run(context.Background(), addr, Options{Timeout: 3 * time.Minute, NoGuest: true, SMB1: smb1, Checks: CheckRIDs,
			RIDs: RIDOptions{Ranges: []RIDRange{{500, 4500}}}})
		if r.RIDCycling == nil || r.RIDCycling.Path != "lsa" {
			t.Fatalf("smb1=%v: %+v (stopped at %s: %s)", smb1, r.RIDCycling, r.Layer, r.Error)
		}
		if want := map[bool]string{true: "SMB 1.0", false: "SMB 3.1.1"}[smb1]; r.SMB.Dialect != want {
			t.Fatalf("dialect %s, want %s", r.SMB.Dialect, want)
		}
		lanes := 0
		for _, c := range r.Checks {
			if c.Name == "lsa.OpenPolicy2" && strings.Contains(c.Detail, "rid cycling lane") {
				lanes++
			}
		}
		if lanes < 2 {
			t.Errorf("smb1=%v: %d lanes", smb1, lanes)
		}
		return r.RIDs
	}
	one, two := run(true), run(false)
	if !slices.Equal(one, two) {
		t.Errorf("SMB1 found %d names, SMB2 %d", len(one), len(two))
	}
}
