package sweep

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Writer streams records as JSON Lines, one Write per line so that every
// finished host is on disk (or the pipe) as it finishes, and counts them
// for the summary.
type Writer struct {
	w io.Writer
	// OnlyOpen drops closed and filtered targets' records (they are still
	// counted in the summary).
	OnlyOpen bool
	Summary  *Summary
	err      error
}

// NewWriter writes to w; sum is the summary to count into (a resumed run
// passes the counts of its earlier part).
func NewWriter(w io.Writer, sum *Summary) *Writer { return &Writer{w: w, Summary: sum} }

// Host writes one record and counts it. After a write error it writes
// nothing more; Err returns the first error.
func (w *Writer) Host(r *Record) {
	w.Summary.Add(r)
	if w.OnlyOpen && (r.Status == StatusClosed || r.Status == StatusFiltered) {
		return
	}
	w.line(r)
}

// Close writes the summary.
func (w *Writer) Close(complete bool, started time.Time) error {
	s := w.Summary
	s.Time = time.Now().UTC()
	s.Complete = complete && s.Done == s.Targets
	s.ElapsedMS = s.Time.Sub(started).Milliseconds()
	w.line(s)
	return w.err
}

// Err is the first write error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) line(v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("sweep: encode record: %w", err)
		return
	}
	if _, err := w.w.Write(append(b, '\n')); err != nil {
		w.err = fmt.Errorf("sweep: write record: %w", err)
	}
}
