package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/sweep"
)

// writeShard writes one shard's JSON Lines as a sweep does: a record per
// target, then the summary (unless the shard was cut short).
func writeShard(t *testing.T, dir, plan, runID string, shard string, hosts []*Host, complete *bool, torn bool) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	hdr := sweep.Header{Schema: sweep.Schema, Kind: sweep.KindHost, RunID: runID, PlanID: plan, Shard: shard, Time: time.Now().UTC()}
	sum := sweep.NewSummary(hdr)
	for i, h := range hosts {
		r := &sweep.Record{Header: hdr, Index: uint64(i), Target: h.Target, Status: sweep.Status(h.Status), Result: h.Result, Audit: h.Audit}
		sum.Add(r)
		enc.Encode(r)
	}
	if complete != nil {
		sum.Complete = *complete
		sum.Targets = uint64(len(hosts))
		sum.Started = time.Now().Add(-time.Minute).UTC()
		enc.Encode(sum)
	}
	s := b.String()
	if torn {
		s += `{"schema":"nullsweep-sweep/1","kind":"host","target":"127.0.0.9","sta`
	}
	f := filepath.Join(dir, fmt.Sprintf("%s-%s.jsonl", runID, strings.ReplaceAll(shard, "/", "of")))
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	yes, no := true, false
	open := labHost(t, "enum-open.json", "127.0.0.2")
	closed := func(a string) *Host { return &Host{Target: a, Status: StatusClosed} }
	s1 := writeShard(t, dir, "plan-a", "run-1", "1/3", []*Host{open, closed("127.0.0.1")}, &yes, false)
	s2 := writeShard(t, dir, "plan-a", "run-2", "2/3", []*Host{closed("127.0.0.3"), closed("127.0.0.4")}, &yes, true)
	s3part := writeShard(t, dir, "plan-a", "run-3", "3/3", []*Host{closed("127.0.0.5")}, &no, false)
	s3 := writeShard(t, dir, "plan-a", "run-4", "3/3", []*Host{closed("127.0.0.5"), closed("127.0.0.6")}, &yes, false)
	other := writeShard(t, dir, "plan-b", "run-5", "1/1", []*Host{closed("127.0.0.1")}, &yes, false)

	t.Run("incomplete lists missing shards", func(t *testing.T) {
		d := openTemp(t)
		m, err := d.Merge(ctx, []string{s1, s3part}, MergeOptions{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Complete() || !slices.Equal(m.Missing, []int{2, 3}) || m.Hosts != 3 {
			t.Errorf("merge of shards 1 and a cut-short 3: missing %v, hosts %d", m.Missing, m.Hosts)
		}
		r, _ := d.Run(ctx, fmt.Sprint(m.Run))
		if r.Complete {
			t.Error("an incomplete merge is stored as complete")
		}
	})
	t.Run("complete, twice", func(t *testing.T) {
		d := openTemp(t)
		m, err := d.Merge(ctx, []string{s3, s1, s2}, MergeOptions{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if !m.Complete() || m.Hosts != 6 || m.Torn != 1 || m.Shards != 3 || m.Plan != "plan-a" || m.Already {
			t.Errorf("merge: %+v", m)
		}
		r, _ := d.Run(ctx, fmt.Sprint(m.Run))
		if !r.Complete || r.Targets != 6 || r.Open != 1 || r.Kind != KindMerge || r.Shard != "3" || r.Plan != "plan-a" {
			t.Errorf("stored run: %+v", r)
		}
		again, err := d.Merge(ctx, []string{s1, s2, s3}, MergeOptions{Version: "test"})
		if err != nil || !again.Already || again.Run != m.Run {
			t.Errorf("importing twice: %+v, %v; want already stored as run %d", again, err, m.Run)
		}
		runs, _ := d.Runs(ctx)
		if len(runs) != 1 {
			t.Errorf("importing twice left %d runs", len(runs))
		}
	})
	t.Run("mixed plans refused", func(t *testing.T) {
		d := openTemp(t)
		_, err := d.Merge(ctx, []string{s1, other}, MergeOptions{Version: "test"})
		if !errors.Is(err, ErrMixedPlans) || !strings.Contains(err.Error(), "plan-b") {
			t.Fatalf("merge of two plans: %v", err)
		}
		if runs, _ := d.Runs(ctx); len(runs) != 0 {
			t.Errorf("a refused merge stored %d runs", len(runs))
		}
	})
	t.Run("bad line named", func(t *testing.T) {
		d := openTemp(t)
		f := filepath.Join(dir, "bad.jsonl")
		os.WriteFile(f, []byte("{\"schema\":\"nullsweep-sweep/1\",\"kind\":\"host\",\"shard\":\"1/1\",\"target\":\"a\"}\nnot json\n{}\n"), 0o600)
		_, err := d.Merge(ctx, []string{f}, MergeOptions{Version: "test"})
		if err == nil || !strings.Contains(err.Error(), "bad.jsonl: sweep: line 2") {
			t.Fatalf("bad line: %v, want the file and line 2", err)
		}
	})
	t.Run("unsharded sweep after a store failure", func(t *testing.T) {
		// The sweep's own writer failed half way (run left unfinished);
		// merging its JSONL replaces that run.
		d := openTemp(t)
		w, err := d.Begin(ctx, RunInfo{RunID: "solo"})
		if err != nil {
			t.Fatal(err)
		}
		w.Add(closed("127.0.0.1"))
		close(w.ch)
		<-w.done // never finished
		f := writeShard(t, dir, "plan-c", "solo", "1/1", []*Host{closed("127.0.0.1"), open}, &yes, false)
		m, err := d.Merge(ctx, []string{f}, MergeOptions{Version: "test"})
		if err != nil || m.Already || !m.Complete() || m.Key != "solo" || m.Hosts != 2 {
			t.Fatalf("merge over an unfinished run: %+v, %v", m, err)
		}
		runs, _ := d.Runs(ctx)
		if len(runs) != 1 || !runs[0].Complete || runs[0].Targets != 2 {
			t.Errorf("runs: %+v", runs)
		}
	})
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		i, n int
		bad  bool
	}{
		{"2/4", 2, 4, false}, {"1/1", 1, 1, false},
		{"0/4", 0, 0, true}, {"5/4", 0, 0, true}, {"x", 0, 0, true}, {"", 0, 0, true}, {"1/", 0, 0, true},
	}
	for _, tt := range tests {
		i, n, err := parseShard(tt.in)
		if (err != nil) != tt.bad || i != tt.i || n != tt.n {
			t.Errorf("%q: %d/%d, %v", tt.in, i, n, err)
		}
	}
}
