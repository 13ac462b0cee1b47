package sweep

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// sweepFile runs a fake sweep of plan into a buffer, stopping after stopAt
// records when stopAt > 0 (an interrupt), and returns the bytes.
func sweepFile(t testing.TB, p *Plan, done *Bitmap, stopAt int, w *bytes.Buffer) bool {
	t.Helper()
	fn := &fakeNet{ports: map[string]string{"127.0.0.3:445": "open", "127.0.0.9:139": "open"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum := NewSummary(Header{RunID: "run", PlanID: p.ID, Shard: p.ShardName()})
	sum.Targets = p.Len()
	wr := NewWriter(w, sum)
	n := 0
	ok := Run(ctx, p, Options{Connects: 1, Dial: fn.dial, Done: done, examine: fakeExamine(nil, nil)}, nil, func(r *Record) {
		r.RunID = "run"
		wr.Host(r)
		if n++; n == stopAt {
			cancel()
		}
	})
	if err := wr.Close(ok, time.Now()); err != nil {
		t.Fatal(err)
	}
	return ok
}

func hostLines(t testing.TB, b []byte) []string {
	t.Helper()
	var out []string
	if err := Read(bytes.NewReader(b), func(l Line) error {
		if l.Host != nil {
			out = append(out, l.Host.Target+" "+string(l.Host.Status))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestResume: an interrupted sweep, its file torn at the end, resumed:
// the records equal one uninterrupted sweep's, each target once.
func TestResume(t *testing.T) {
	p := mustPlan(t, "127.0.0.0/26", "", 11, 1, 1)
	var whole bytes.Buffer
	if !sweepFile(t, p, nil, 0, &whole) {
		t.Fatal("uninterrupted sweep incomplete")
	}
	want := hostLines(t, whole.Bytes())
	if len(want) != 64 {
		t.Fatalf("%d records", len(want))
	}
	for _, stop := range []int{1, 17, 40} {
		var part bytes.Buffer
		if sweepFile(t, p, nil, stop, &part) {
			t.Fatalf("stop %d: interrupted sweep says complete", stop)
		}
		// Tear the last line (the summary) in the middle.
		b := part.Bytes()
		b = b[:len(b)-30]
		path := filepath.Join(t.TempDir(), "s.jsonl")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		prev, err := LoadResume(f, path, p)
		if err != nil {
			t.Fatal(err)
		}
		if !prev.Torn || prev.RunID != "run" || prev.Summary.Done < uint64(stop) {
			t.Errorf("stop %d: resumed %+v", stop, prev)
		}
		if err := CutForAppend(f, prev.Offset); err != nil {
			t.Fatal(err)
		}
		var rest bytes.Buffer
		if !sweepFile(t, p, prev.Done, 0, &rest) {
			t.Fatalf("stop %d: resumed sweep incomplete", stop)
		}
		if _, err := f.Write(rest.Bytes()); err != nil {
			t.Fatal(err)
		}
		f.Close()
		all, _ := os.ReadFile(path)
		if got := hostLines(t, all); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("stop %d: resumed records differ:\n%s\nwant\n%s", stop, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if bytes.Count(all, []byte(`"kind":"summary"`)) != 1 {
			t.Errorf("stop %d: %d summaries", stop, bytes.Count(all, []byte(`"kind":"summary"`)))
		}
	}
}

func TestResumeRefusesOtherPlan(t *testing.T) {
	p := mustPlan(t, "127.0.0.0/28", "", 1, 1, 2)
	var b bytes.Buffer
	sweepFile(t, p, nil, 0, &b)
	for _, other := range []*Plan{
		mustPlan(t, "127.0.0.0/28", "", 2, 1, 2), // seed
		mustPlan(t, "127.0.0.0/28", "", 1, 2, 2), // shard
		mustPlan(t, "127.0.0.0/27", "", 1, 1, 2), // targets
	} {
		_, err := LoadResume(bytes.NewReader(b.Bytes()), "f", other)
		if err == nil || !strings.Contains(err.Error(), "give the same targets, excludes, --seed and --shard") {
			t.Errorf("plan %s shard %s: err %v", other.ID, other.ShardName(), err)
		}
	}
}

func TestCutForAppendAddsNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	os.WriteFile(path, []byte(`{"a":1}`+"\n"+`{"b":2}`), 0o644)
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	if err := CutForAppend(f, 15); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("{\"c\":3}\n"))
	f.Close()
	got, _ := os.ReadFile(path)
	if string(got) != "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n" {
		t.Errorf("%q", got)
	}
}

func TestWriterOnlyOpen(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, NewSummary(Header{}))
	w.OnlyOpen = true
	w.Summary.Targets = 4
	for _, s := range []Status{StatusOpen, StatusClosed, StatusFiltered, StatusError} {
		w.Host(&Record{Header: Header{Schema: Schema, Kind: KindHost}, Target: string(s), Status: s})
	}
	if err := w.Close(true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := hostLines(t, b.Bytes()); strings.Join(got, ",") != "error error,open open" {
		t.Errorf("written: %v", got)
	}
	if !w.Summary.Complete || w.Summary.Done != 4 || w.Summary.Counts[StatusClosed] != 1 {
		t.Errorf("summary %+v", w.Summary)
	}
}

// FuzzLoadResume: a sweep file is input like any other (a resume reads
// whatever is at the path): no panic, and what it accepts is consistent:
// every marked position holds a record of this plan.
func FuzzLoadResume(f *testing.F) {
	p := mustPlan(f, "127.0.0.0/28", "", 1, 1, 2)
	var b bytes.Buffer
	w := NewWriter(&b, NewSummary(Header{PlanID: p.ID, Shard: p.ShardName()}))
	for j := range p.Len() {
		idx, tg := p.At(j)
		w.Host(&Record{Header: Header{Schema: Schema, Kind: KindHost, RunID: "r", PlanID: p.ID, Shard: p.ShardName()}, Index: idx, Target: tg.String(), Status: StatusClosed})
	}
	w.Close(true, time.Now())
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:len(b.Bytes())/2])
	f.Add([]byte(`{"schema":"nullsweep-sweep/1","kind":"host","plan_id":"` + p.ID + `","shard":"1/2","index":18446744073709551615,"target":"x"}` + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := LoadResume(bytes.NewReader(in), "f", p)
		if err != nil {
			return
		}
		if res.Offset < 0 || res.Offset > int64(len(in)) {
			t.Fatalf("offset %d of %d bytes", res.Offset, len(in))
		}
		var n uint64
		for j := range p.Len() {
			if res.Done.Has(j) {
				n++
			}
		}
		if n != res.Summary.Done {
			t.Fatalf("%d marked, summary says %d", n, res.Summary.Done)
		}
	})
}
