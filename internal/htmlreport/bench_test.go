package htmlreport

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/store"
)

// BenchmarkWrite10000 renders a report of 10,000 hosts like the lab's open
// posture (scripts/bench.sh times the whole verb, database included).
func BenchmarkWrite10000(b *testing.B) {
	base := labHost(b, "127.0.0.2", false)
	hosts := make([]*store.StoredHost, 10000)
	for i := range hosts {
		h := *base
		h.Target = fmt.Sprintf("198.18.%d.%d", i>>8, i&255)
		hosts[i] = &h
	}
	in := Input{Run: &store.Run{ID: 1, Started: time.Now()}, Hosts: hosts, NoDiff: "none", Generated: time.Now(), Fixes: testFixes}
	var cw countWriter
	for b.Loop() {
		cw = 0
		if err := Write(&cw, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cw)/1e6, "MB")
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
