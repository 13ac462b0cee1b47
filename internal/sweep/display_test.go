package sweep

import (
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
)

func TestWriteTable(t *testing.T) {
	rows := []HostFindings{
		{Target: "127.0.0.3", Worst: audit.Medium, Count: 4, IDs: []audit.FindingID{"guest-logon"}},
		{Target: "127.0.0.2", Worst: audit.High, Count: 12, IDs: []audit.FindingID{"lockout-dos", "users-enumerable", "share-anonymous", "guest-logon"}},
		{Target: "127.0.0.10", Worst: audit.High, Count: 9, IDs: []audit.FindingID{"lockout-dos"}},
		{Target: "127.0.0.4", Worst: audit.High, Count: 12, IDs: []audit.FindingID{"lockout-dos"}},
	}
	var b strings.Builder
	WriteTable(&b, rows, 3, false)
	want := `host        worst     findings  ids
127.0.0.2   high            12  lockout-dos, users-enumerable, share-anonymous, +1
127.0.0.4   high            12  lockout-dos
127.0.0.10  high             9  lockout-dos
... 1 more hosts with findings (see the records)
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour without color")
	}
	b.Reset()
	WriteTable(&b, rows, 3, true)
	if !strings.Contains(b.String(), "\x1b[31;1mhigh") {
		t.Errorf("no colour with color:\n%q", b.String())
	}
}

func TestDisplayLine(t *testing.T) {
	p := &Progress{}
	p.Done.Store(500)
	p.Open.Store(3)
	p.Findings.Store(17)
	d := &Display{total: 2000, prog: p, start: time.Unix(0, 0), base: 500}
	got := d.line(time.Unix(10, 0))
	want := "[############            ] 1,000/2,000 50.0%  open 3  findings 17  50/s  ETA 20s"
	if got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	// The last hosts: 2 left at 4 a second is about a second, not 0s.
	p.Done.Store(40)
	d = &Display{total: 42, prog: p, start: time.Unix(0, 0)}
	if got := d.line(time.Unix(10, 0)); !strings.HasSuffix(got, "4/s  ETA 1s") {
		t.Errorf("near the end: %q, want ETA 1s", got)
	}
}
