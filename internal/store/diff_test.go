package store

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/audit"
)

// The diff's rules, one host per case: what changed between run A and B.
func TestDiffRules(t *testing.T) {
	f := func(id string, sev audit.Severity) findingRow { return findingRow{id: id, sev: sev, title: id} }
	host := func(status, err string, items ...Item) *StoredHost {
		h := &StoredHost{Host: Host{Target: "h", Status: status, Error: err}}
		h.Items = append([]Item{{Key: KeyReachable, State: map[string]string{"open": "yes", "closed": "no"}[status]}}, items...)
		if h.Items[0].State == "" {
			h.Items[0].State = audit.Unknown
		}
		return h
	}
	users := func(state string) Item { return Item{Key: audit.ExpUsers, State: state} }
	tests := []struct {
		name       string
		a, b       *StoredHost
		fa, fb     []findingRow
		state      string
		n, r, c, u int // new, resolved, changed, unknown entries
	}{
		{"same", host("open", "", users("yes")), host("open", "", users("yes")),
			[]findingRow{f("users-enumerable", audit.Medium)}, []findingRow{f("users-enumerable", audit.Medium)}, DiffUnchanged, 0, 0, 0, 0},
		{"closed the setting", host("open", "", users("yes")), host("open", "", users("no")),
			[]findingRow{f("users-enumerable", audit.Medium)}, nil, DiffResolved, 0, 2, 0, 0},
		{"opened", host("open", "", users("no")), host("open", "", users("yes")),
			nil, []findingRow{f("users-enumerable", audit.Medium)}, DiffNew, 2, 0, 0, 0},
		{"severity moved", host("open", ""), host("open", ""),
			[]findingRow{f("lockout-dos", audit.High)}, []findingRow{f("lockout-dos", audit.Critical)}, DiffChanged, 0, 0, 1, 0},
		{"down is not fixed", host("open", "", users("yes")), host("filtered", ""),
			[]findingRow{f("users-enumerable", audit.Medium)}, nil, DiffUnknown, 0, 0, 0, 3},
		{"timed out half way is not fixed", host("open", "", users("yes")), host("open", "session: i/o timeout", users("unknown")),
			[]findingRow{f("users-enumerable", audit.Medium)}, nil, DiffUnknown, 0, 0, 0, 2},
		{"port closed is fixed", host("open", "", users("yes")), host("closed", ""),
			[]findingRow{f("users-enumerable", audit.Medium)}, nil, DiffResolved, 0, 3, 0, 0},
		{"share not probed again is not closed", host("open", "", Item{Key: "share:public", State: "yes"}), host("open", ""),
			[]findingRow{f("share-anonymous/share:public", audit.Medium)}, nil, DiffUnknown, 0, 0, 0, 2},
		{"share probed and refused is closed", host("open", "", Item{Key: "share:public", State: "yes"}), host("open", "", Item{Key: "share:public", State: "no"}),
			[]findingRow{f("share-anonymous/share:public", audit.Medium)}, nil, DiffResolved, 0, 2, 0, 0},
		{"undecided then closed is a change", host("open", "", Item{Key: "sid-translation", State: "unknown"}), host("open", "", Item{Key: "sid-translation", State: "no"}),
			nil, nil, DiffChanged, 0, 0, 1, 0},
		{"came back with findings", host("filtered", ""), host("open", "", users("yes")),
			nil, []findingRow{f("users-enumerable", audit.Medium)}, DiffNew, 3, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := compare(&Run{ID: 1}, &Run{ID: 2}, []*StoredHost{tt.a}, []*StoredHost{tt.b},
				map[string][]findingRow{"h": tt.fa}, map[string][]findingRow{"h": tt.fb})
			h := d.Hosts[0]
			if h.State != tt.state || len(h.New) != tt.n || len(h.Resolved) != tt.r || len(h.Changed) != tt.c || len(h.Unknown) != tt.u {
				t.Errorf("state %s new %v resolved %v changed %v unknown %v; want %s %d/%d/%d/%d",
					h.State, h.New, h.Resolved, h.Changed, h.Unknown, tt.state, tt.n, tt.r, tt.c, tt.u)
			}
		})
	}
}

// Two stored runs of the lab's open posture, the second with restrict
// anonymous = 2's answers: the diff names what closed and nothing else.
func TestDiffStoredRuns(t *testing.T) {
	ctx := context.Background()
	d := openTemp(t)
	a := storeRun(t, d, RunInfo{}, labHost(t, "enum-open.json", "127.0.0.2"), &Host{Target: "127.0.0.9", Status: StatusClosed})
	b := storeRun(t, d, RunInfo{}, labHost(t, "enum-restricted.json", "127.0.0.2"), &Host{Target: "127.0.0.9", Status: StatusClosed})
	df, err := d.Diff(ctx, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if df.Count[DiffResolved] != 1 || df.Count[DiffUnchanged] != 1 || df.NewAtLeast(audit.Info) != 0 {
		t.Fatalf("counts %v, new %d", df.Count, df.NewAtLeast(audit.Info))
	}
	var resolved []string
	for _, e := range df.Hosts[0].Resolved {
		resolved = append(resolved, e.Key)
	}
	for _, want := range []string{"lockout-dos", "users-enumerable", audit.ExpUsers, audit.ExpIPC} {
		if !strings.Contains(" "+strings.Join(resolved, " ")+" ", " "+want+" ") {
			t.Errorf("resolved %v lacks %s", resolved, want)
		}
	}
	var buf bytes.Buffer
	df.WriteText(&buf)
	if !strings.Contains(buf.String(), "resolved  [HIGH] lockout-dos") {
		t.Errorf("text:\n%s", buf.String())
	}
	same, _ := d.Diff(ctx, b, b)
	buf.Reset()
	same.WriteText(&buf)
	if !same.Empty() || !strings.HasSuffix(buf.String(), "no change\n") {
		t.Errorf("a run against itself:\n%s", buf.String())
	}
}
