package sweep

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
)

// Display draws a one-line progress bar (done/total, open hosts, findings,
// rate, ETA) on a terminal, redrawn a few times a second.
type Display struct {
	w     io.Writer
	total uint64
	prog  *Progress
	start time.Time
	base  uint64 // done before this process (a resume)
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// StartDisplay starts drawing to w (stderr, a terminal).
func StartDisplay(w io.Writer, total, already uint64, prog *Progress) *Display {
	d := &Display{w: w, total: total, prog: prog, start: time.Now(), base: already, stop: make(chan struct{}), done: make(chan struct{})}
	go d.loop()
	return d
}

func (d *Display) loop() {
	defer close(d.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fmt.Fprint(d.w, "\r"+d.line(time.Now())+"\x1b[K")
		case <-d.stop:
			fmt.Fprint(d.w, "\r\x1b[K")
			return
		}
	}
}

// Stop clears the bar.
func (d *Display) Stop() {
	d.once.Do(func() { close(d.stop); <-d.done })
}

func (d *Display) line(now time.Time) string {
	done := d.base + d.prog.Done.Load()
	const width = 24
	fill := 0
	pct := 100.0
	if d.total > 0 {
		pct = float64(done) / float64(d.total) * 100
		fill = int(float64(width) * float64(done) / float64(d.total))
	}
	el := now.Sub(d.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(d.prog.Done.Load()) / el
	}
	eta := "-"
	if rate > 0 && done < d.total {
		// In float seconds: an integer conversion first would round
		// anything under a second (the last few hosts) down to "0s".
		eta = time.Duration(float64(d.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %s/%s %.1f%%  open %d  findings %d  %.0f/s  ETA %s",
		strings.Repeat("#", fill), strings.Repeat(" ", width-fill), group(done), group(d.total), pct,
		d.prog.Open.Load(), d.prog.Findings.Load(), rate, eta)
}

// HostFindings is one row of the closing table.
type HostFindings struct {
	Target string
	Worst  audit.Severity
	Count  int
	IDs    []audit.FindingID
}

// Findings returns r's row, or false when it has no findings.
func Findings(r *Record) (HostFindings, bool) {
	if r.Audit == nil || len(r.Audit.Findings) == 0 {
		return HostFindings{}, false
	}
	w, _ := r.Audit.Worst()
	h := HostFindings{Target: r.Target, Worst: w, Count: len(r.Audit.Findings)}
	for _, f := range r.Audit.Findings {
		if !slices.Contains(h.IDs, f.ID) {
			h.IDs = append(h.IDs, f.ID)
		}
	}
	return h, true
}

// WriteTable writes the hosts with findings, worst first (then most
// findings, then by target), at most limit rows.
func WriteTable(w io.Writer, rows []HostFindings, limit int, color bool) {
	if len(rows) == 0 {
		return
	}
	slices.SortFunc(rows, func(a, b HostFindings) int {
		if a.Worst != b.Worst {
			return int(b.Worst) - int(a.Worst)
		}
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Target, b.Target)
	})
	tw := 6
	for _, r := range rows[:min(limit, len(rows))] {
		tw = max(tw, len(r.Target))
	}
	fmt.Fprintf(w, "%-*s  %-8s  %8s  %s\n", tw, "host", "worst", "findings", "ids")
	for _, r := range rows[:min(limit, len(rows))] {
		sev := fmt.Sprintf("%-8s", r.Worst)
		if color {
			sev = paint(r.Worst, sev)
		}
		var names []string
		for _, id := range r.IDs[:min(3, len(r.IDs))] {
			names = append(names, string(id))
		}
		ids := strings.Join(names, ", ")
		if len(r.IDs) > 3 {
			ids += fmt.Sprintf(", +%d", len(r.IDs)-3)
		}
		fmt.Fprintf(w, "%-*s  %s  %8d  %s\n", tw, r.Target, sev, r.Count, ids)
	}
	if len(rows) > limit {
		fmt.Fprintf(w, "... %d more hosts with findings (see the records)\n", len(rows)-limit)
	}
}

func paint(s audit.Severity, text string) string {
	code := ""
	switch s {
	case audit.Critical, audit.High:
		code = "31;1"
	case audit.Medium:
		code = "33"
	case audit.Low:
		code = "36"
	default:
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}
