package sweep

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// BenchmarkSweepClosed sweeps a /20 of loopback addresses where nothing
// listens (run it in a network namespace of its own): phase 1 and the
// writer, as `sweep` runs them.
func BenchmarkSweepClosed(b *testing.B) {
	if os.Getenv("NULLSWEEP_BENCH_CLOSED") == "" {
		b.Skip("set NULLSWEEP_BENCH_CLOSED=1 and run in a network namespace")
	}
	var p Parser
	if err := p.ParseArgs("argument", []string{"127.6.0.0/20"}); err != nil {
		b.Fatal(err)
	}
	plan, err := NewPlan(p.Set(), (&Parser{}).Set(), 0, 1, 1, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		w := NewWriter(io.Discard, NewSummary(Header{}))
		Run(context.Background(), plan, Options{Connects: 4096}, nil, func(r *Record) { w.Host(r) })
		if w.Summary.Counts[StatusClosed] != plan.Len() {
			b.Fatalf("counts %v", w.Summary.Counts)
		}
	}
	_ = json.Marshal
}
