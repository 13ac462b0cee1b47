package store

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkStoreClosedSlash16 stores a /16 sweep of closed targets, the
// bulk of a real sweep (scripts/bench.sh reports it beside the sweep).
func BenchmarkStoreClosedSlash16(b *testing.B) {
	hosts := make([]*Host, 65536)
	for i := range hosts {
		hosts[i] = &Host{Target: fmt.Sprintf("10.1.%d.%d", i>>8, i&255), Status: StatusClosed, Layer: "reachability"}
	}
	for b.Loop() {
		d := openTemp(b)
		w, err := d.Begin(context.Background(), RunInfo{})
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hosts {
			w.Add(h)
		}
		if err := w.Finish(context.Background(), true); err != nil {
			b.Fatal(err)
		}
	}
}
