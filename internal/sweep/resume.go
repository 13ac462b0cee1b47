package sweep

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Resumed is what an interrupted sweep's own output says is done.
type Resumed struct {
	RunID string
	// Done marks this shard's targets that have a record.
	Done *Bitmap
	// Summary counts the records read (Done of them).
	Summary *Summary
	// Started is when the run's first part began.
	Started time.Time
	// Offset is the end of the last host record: the file is cut there
	// before appending (dropping an old summary and a torn last line).
	Offset int64
	// Torn is true when the last line was cut short.
	Torn bool
}

// LoadResume reads a sweep file for plan. Every host record must belong to
// the same plan and shard; a torn last line is tolerated.
func LoadResume(r io.Reader, name string, plan *Plan) (*Resumed, error) {
	res := &Resumed{Done: NewBitmap(plan.Len())}
	var sum *Summary
	err := Read(r, func(l Line) error {
		if l.Summary != nil {
			if l.Summary.PlanID != plan.ID {
				return mismatch(name, l.Summary.PlanID, l.Summary.Shard, plan)
			}
			if !l.Summary.Started.IsZero() && (res.Started.IsZero() || l.Summary.Started.Before(res.Started)) {
				res.Started = l.Summary.Started
			}
			return nil
		}
		h := l.Host
		if h.PlanID != plan.ID || h.Shard != plan.ShardName() {
			return mismatch(name, h.PlanID, h.Shard, plan)
		}
		if sum == nil {
			res.RunID = h.RunID
			sum = NewSummary(h.Header)
		}
		j, ok := plan.Local(h.Index)
		if !ok {
			return fmt.Errorf("sweep: resume %s: record index %d is not in shard %s", name, h.Index, plan.ShardName())
		}
		if _, t := plan.At(j); t.String() != h.Target {
			return fmt.Errorf("sweep: resume %s: record %d names %s, the plan has %s there", name, h.Index, h.Target, t)
		}
		if res.Done.Set(j) {
			sum.Add(h)
		}
		if res.Started.IsZero() || h.Time.Before(res.Started) {
			res.Started = h.Time.Add(-time.Duration(h.MS) * time.Millisecond)
		}
		res.Offset = l.Offset
		return nil
	})
	if errors.Is(err, ErrTorn) {
		res.Torn, err = true, nil
	}
	if err != nil {
		return nil, err
	}
	if sum == nil {
		sum = NewSummary(Header{})
	}
	res.Summary = sum
	return res, nil
}

func mismatch(name, id, shard string, plan *Plan) error {
	return fmt.Errorf("sweep: resume %s: it holds plan %s shard %s, this sweep is plan %s shard %s: give the same targets, excludes, --seed and --shard as the run it continues",
		name, id, shard, plan.ID, plan.ShardName())
}

// CutForAppend truncates f at off (the end of its last host record) and
// leaves it positioned to append a new line after it.
func CutForAppend(f *os.File, off int64) error {
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("sweep: resume: %w", err)
	}
	if off > 0 {
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, off-1); err != nil {
			return fmt.Errorf("sweep: resume: %w", err)
		}
		if b[0] != '\n' {
			// A whole record without its newline (killed between the two).
			if _, err := f.WriteAt([]byte{'\n'}, off); err != nil {
				return fmt.Errorf("sweep: resume: %w", err)
			}
			off++
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("sweep: resume: %w", err)
	}
	return nil
}
