package sweep

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
)

func testRecords(t *testing.T) (string, []*Record, *Summary) {
	t.Helper()
	h := Header{Schema: Schema, Kind: KindHost, RunID: "r1", PlanID: "p1", Shard: "1/1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	recs := []*Record{
		{Header: h, Index: 0, Target: "127.0.0.2", Port: 445, Status: StatusOpen,
			Result: &enum.Result{Schema: enum.Schema, Target: "127.0.0.2", Ports: map[string]enum.Outcome{"445": enum.Open}, Checks: []enum.Check{}},
			Audit:  &audit.Report{Schema: audit.ReportSchema, Target: "127.0.0.2", Findings: []audit.Finding{{ID: "null-session-allowed", Severity: audit.High}}}},
		{Header: h, Index: 1, Target: "127.0.0.9", Status: StatusClosed},
		{Header: h, Index: 2, Target: "127.0.0.8", Status: StatusError, Layer: "reachability", Error: "tcp/445: no answer"},
	}
	sum := NewSummary(h)
	sum.Targets = 3
	for _, r := range recs {
		sum.Add(r)
	}
	sum.Complete = true
	var b strings.Builder
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	line, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(line)
	b.WriteByte('\n')
	return b.String(), recs, sum
}

func TestReadRoundTrip(t *testing.T) {
	text, recs, sum := testRecords(t)
	var got []*Record
	var gotSum *Summary
	if err := Read(strings.NewReader(text), func(l Line) error {
		if l.Host != nil {
			got = append(got, l.Host)
		} else {
			gotSum = l.Summary
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(recs, got); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	if d := cmp.Diff(sum, gotSum); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	if gotSum.Counts[StatusOpen] != 1 || gotSum.Counts[StatusClosed] != 1 || gotSum.Counts[StatusError] != 1 || gotSum.Findings[audit.High] != 1 {
		t.Errorf("summary counts: %+v %+v", gotSum.Counts, gotSum.Findings)
	}
	if !strings.Contains(text, `"counts":{"closed":1,"error":1,"filtered":0,"open":1}`) ||
		!strings.Contains(text, `"findings":{"critical":0,"high":1,"info":0,"low":0,"medium":0}`) {
		t.Errorf("summary spelling:\n%s", text)
	}
}

func TestReadTorn(t *testing.T) {
	text, _, _ := testRecords(t)
	lines := strings.SplitAfter(text, "\n")
	for _, tc := range []struct {
		name      string
		in        string
		wantHosts int
		wantErr   error
		wantOther bool
	}{
		{"whole", text, 3, nil, false},
		{"torn summary", strings.Join(lines[:3], "") + lines[3][:20], 3, ErrTorn, false},
		{"torn host", lines[0] + lines[1][:10], 1, ErrTorn, false},
		{"whole line without newline", lines[0] + strings.TrimSuffix(lines[1], "\n"), 2, ErrTorn, false},
		{"bad middle line", lines[0] + "{oops\n" + lines[1], 1, nil, true},
		{"wrong schema", `{"schema":"nullsweep/1","kind":"host"}` + "\n", 0, nil, true},
		{"empty", "", 0, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hosts := 0
			var lastOff int64
			err := Read(strings.NewReader(tc.in), func(l Line) error {
				if l.Host != nil {
					hosts++
				}
				lastOff = l.Offset
				return nil
			})
			switch {
			case tc.wantOther:
				if err == nil || errors.Is(err, ErrTorn) {
					t.Fatalf("err = %v, want a line error", err)
				}
				if strings.HasPrefix(tc.in, lines[0]+"{oops") && !strings.Contains(err.Error(), "sweep: line 2: not JSON, so not a record of 'nullsweep sweep'") {
					t.Errorf("err = %v, want it to say the line is no sweep record", err)
				}
			case !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if hosts != tc.wantHosts {
				t.Errorf("hosts = %d, want %d", hosts, tc.wantHosts)
			}
			if tc.name == "torn summary" && lastOff != int64(len(strings.Join(lines[:3], ""))) {
				t.Errorf("offset %d, want end of the last whole line", lastOff)
			}
		})
	}
}
