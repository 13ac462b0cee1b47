package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nullsweep/nullsweep/internal/sweep"
)

// parseShard reads "i/n" (1-based).
func parseShard(str string) (index, count int, err error) {
	i, n, ok := strings.Cut(str, "/")
	a, err1 := strconv.Atoi(i)
	c, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || c < 1 || a < 1 || a > c {
		return 0, 0, fmt.Errorf("shard %q: want i/n with 1 <= i <= n", str)
	}
	return a, c, nil
}

// MergeOptions tune Merge.
type MergeOptions struct {
	Version string // recorded as the run's version
	// Replace re-imports a run already stored under the same key (a
	// resumed sweep's file, now longer).
	Replace bool
}

// MergeResult says what Merge did.
type MergeResult struct {
	Run     int64  // the stored run's number
	Key     string // its run_id (the sweep's, or a hash of the shards' ids)
	Plan    string
	Shards  int   // shards in the plan (0: unsharded)
	Missing []int // shards without a complete summary
	Hosts   int   // targets stored
	Dupes   int   // records of a target seen before (the first stands)
	Torn    int   // files whose last line was cut off (tolerated)
	Already bool  // the same run was already stored: nothing changed
}

// Complete says whether every shard ended with a complete summary.
func (m *MergeResult) Complete() bool { return len(m.Missing) == 0 }

// ErrMixedPlans: the files belong to different sweeps.
var ErrMixedPlans = errors.New("the files come from different plans")

// Merge imports sweep JSON Lines files (the shards of one plan, or one
// sweep's output) as one run. Importing the same files again changes
// nothing (Already); a run left unfinished under the same key is replaced.
func (d *DB) Merge(ctx context.Context, files []string, opt MergeOptions) (*MergeResult, error) {
	m := &MergeResult{}
	var (
		plans    = map[string]string{} // plan → first file
		runIDs   = map[string]bool{}
		complete = map[int]bool{} // shard index → complete summary seen
		seen     = map[string]bool{}
		records  int
		started  time.Time
	)
	for _, f := range files {
		err := readFile(f, func(l sweep.Line) error {
			var h sweep.Header
			switch {
			case l.Host != nil:
				h = l.Host.Header
			case l.Summary != nil:
				h = l.Summary.Header
			default:
				return nil
			}
			if _, ok := plans[h.PlanID]; !ok {
				plans[h.PlanID] = f
				if len(plans) > 1 {
					return errMixed(plans)
				}
			}
			runIDs[h.RunID] = true
			idx, n, err := parseShard(h.Shard)
			if err != nil {
				return err
			}
			if m.Shards != 0 && m.Shards != n {
				return fmt.Errorf("%w: shard %s after shards of %d", ErrMixedPlans, h.Shard, m.Shards)
			}
			m.Shards = n
			if s := l.Summary; s != nil {
				// A resumed shard's file keeps only its last summary; several
				// files of one shard: any complete one completes it.
				if s.Complete {
					complete[idx] = true
				}
				if !s.Started.IsZero() && (started.IsZero() || s.Started.Before(started)) {
					started = s.Started
				}
				return nil
			}
			r := l.Host
			if seen[r.Target] {
				m.Dupes++
				return nil
			}
			seen[r.Target] = true
			records++
			if !r.Time.IsZero() && (started.IsZero() || r.Time.Before(started)) {
				started = r.Time
			}
			return nil
		}, &m.Torn)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	for p := range plans {
		m.Plan = p
	}
	if records == 0 && len(complete) == 0 {
		return nil, errors.New("merge: no sweep records in the files")
	}
	for i := 1; i <= m.Shards; i++ {
		if !complete[i] {
			m.Missing = append(m.Missing, i)
		}
	}
	ids := make([]string, 0, len(runIDs))
	for id := range runIDs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	switch len(ids) {
	case 1:
		m.Key = ids[0]
	default:
		// Several shard processes, each with its own run_id: the import is
		// the set of them (plus the plan), so the same files give the same key.
		h := sha256.Sum256([]byte(m.Plan + "\n" + strings.Join(ids, "\n")))
		m.Key = "merge-" + hex.EncodeToString(h[:8])
	}
	if started.IsZero() {
		started = time.Now()
	}
	shard := ""
	if m.Shards > 1 {
		shard = strconv.Itoa(m.Shards)
	}
	w, err := d.Begin(ctx, RunInfo{RunID: m.Key, Kind: KindMerge, Plan: m.Plan, Shard: shard, Version: opt.Version, Started: started, Replace: opt.Replace})
	if errors.Is(err, ErrExists) {
		r, rerr := d.Run(ctx, m.Key)
		if rerr != nil {
			return nil, rerr
		}
		m.Run, m.Already, m.Hosts = r.ID, true, r.Targets
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	// Second pass: the records stream into the writer, so memory holds a
	// batch, not the run (a host's full result can be tens of kilobytes).
	seen = map[string]bool{}
	torn := 0
	for _, f := range files {
		err := readFile(f, func(l sweep.Line) error {
			if r := l.Host; r != nil && !seen[r.Target] {
				seen[r.Target] = true
				w.Add(FromRecord(r))
			}
			return nil
		}, &torn)
		if err != nil {
			w.Finish(ctx, false)
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	if err := w.Finish(ctx, m.Complete()); err != nil {
		return nil, err
	}
	m.Run, m.Hosts = w.ID, w.Stored()
	return m, nil
}

// FromRecord is the store's view of a sweep record.
func FromRecord(r *sweep.Record) *Host {
	return &Host{Target: r.Target, Status: string(r.Status), Layer: string(r.Layer), Error: r.Error, Time: r.Time, Result: r.Result, Audit: r.Audit}
}

// readFile reads one sweep file; a torn last line is counted, not an error.
func readFile(name string, fn func(sweep.Line) error, torn *int) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	err = sweep.Read(f, fn)
	if errors.Is(err, sweep.ErrTorn) {
		*torn++
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func errMixed(plans map[string]string) error {
	var list []string
	for p, f := range plans {
		list = append(list, fmt.Sprintf("plan %s in %s", orNone(p), f))
	}
	slices.Sort(list)
	return fmt.Errorf("%w: %s", ErrMixedPlans, strings.Join(list, "; "))
}

func orNone(s string) string {
	if s == "" {
		return "(no plan_id)"
	}
	return s
}
