package enum

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// The RPC checks beside each other (SRVSVC, WKSSVC, LSA, SAMR on pipes of
// their own over one multiplexed SMB2 connection) give the Result a
// sequential run gives, evidence in the same order, run after run.
func TestBesideEqualsSequentialLive(t *testing.T) {
	addrs := labtest.Require(t, "open", "bulk", "dc")
	checks := CheckUsers | CheckShares | CheckPolicy | CheckGroups | CheckLSA | CheckMachines
	for _, posture := range []string{"open", "bulk", "dc"} {
		t.Run(posture, func(t *testing.T) {
			opt := Options{Timeout: time.Minute, NoGuest: true, Checks: checks}
			seq := opt
			seq.sequential = true
			want := comparable(t, Run(context.Background(), addrs[posture], seq))
			for i := range 3 {
				got := comparable(t, Run(context.Background(), addrs[posture], opt))
				if got != want {
					t.Fatalf("run %d beside differs from the sequential run:\n%s", i, firstDiff(got, want))
				}
			}
		})
	}
}

// comparable is r as JSON without what differs between two honest runs:
// how long each call took.
func comparable(t *testing.T, r *Result) string {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("stopped at %s: %s", r.Layer, r.Error)
	}
	for i := range r.Checks {
		r.Checks[i].MS = 0
	}
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			lo := max(0, i-3)
			return "beside:\n" + strings.Join(al[lo:min(len(al), i+4)], "\n") + "\nsequential:\n" + strings.Join(bl[lo:min(len(bl), i+4)], "\n")
		}
	}
	return "lengths differ"
}

// PENDING for ever on every LSA call while the other pipes answer: the
// checks beside LSA complete (server info, shares and their probes, users,
// groups, policy), the LSA call ends at the host's deadline with an SMB2
// CANCEL, and the host reports the deadline.
func TestBesidePendingForeverOnLSALive(t *testing.T) {
	up := labtest.Require(t, "open")["open"]
	var cancels atomic.Int32
	p := &hostile.Proxy{
		Upstream: up,
		Rule: func(r *hostile.Reply) {
			if isRPC(r, "lsarpc", -1) {
				r.Write(hostile.Frame(hostile.Interim(r.Raw)))
			}
		},
		Request: func(q *hostile.Request) []byte {
			if !q.SMB1 && q.Command == hostile.CmdCancel {
				cancels.Add(1)
			}
			return nil
		},
	}
	opt := Options{Timeout: 3 * time.Second, NoGuest: true, Checks: CheckUsers | CheckShares | CheckPolicy | CheckGroups | CheckLSA}
	start := time.Now()
	r := runThrough(t, hostile.Addr(60), p, opt)
	if took := time.Since(start); took > opt.Timeout+deadlineSlack {
		t.Errorf("took %v", took)
	}
	// The layer is that of the call the deadline cut (LSA's), not of the
	// share probes merged after SAMR's calls.
	if r.Layer != LayerCall || !strings.Contains(r.Error, "deadline") {
		t.Errorf("layer %q error %q, want the host's deadline", r.Layer, r.Error)
	}
	probed := 0
	for _, c := range r.Checks {
		if c.Layer == LayerShare && c.Result != Error {
			probed++
		}
	}
	if probed == 0 {
		t.Error("no share probe answered before the deadline")
	}
	if r.ServerInfo == nil || len(r.Shares) == 0 || len(r.Users) < 3 || r.Groups == nil || r.Policy == nil {
		t.Errorf("checks beside the stalled LSA did not complete: server info %v, %d shares, %d users, groups %v, policy %v",
			r.ServerInfo != nil, len(r.Shares), len(r.Users), r.Groups != nil, r.Policy != nil)
	}
	wantCheck(t, r, "lsa.OpenPolicy2", LayerCall, Error)
	if cancels.Load() == 0 {
		t.Error("no SMB2 CANCEL for the stalled LSA call")
	}
}
