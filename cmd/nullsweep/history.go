package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/store"
)

// storeFlags are --db and --no-store, shared by the verbs that record runs
// (sweep, audit) and those that read them (runs, diff, merge, report).
type storeFlags struct {
	db      string
	noStore bool
}

func (s *storeFlags) add(fl *pflag.FlagSet, recording bool) {
	fl.StringVar(&s.db, "db", "", "history database (default $XDG_DATA_HOME/nullsweep/history.db)")
	if recording {
		fl.BoolVar(&s.noStore, "no-store", false, "do not record this run in the history database")
	}
}

// open opens the history database; nil, nil with --no-store.
func (s *storeFlags) open(ctx context.Context) (*store.DB, error) {
	if s.noStore {
		return nil, nil
	}
	path := s.db
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	return store.Open(ctx, path)
}

// noHistory is the error of a verb that reads the history when there is
// none at the path yet.
type noHistory struct{ path string }

func (e noHistory) Error() string {
	return fmt.Sprintf("no history database at %s: nothing recorded yet ('nullsweep sweep' and 'nullsweep audit' record their runs there; --db names another)", e.path)
}

// openExisting opens the history database for a verb that only reads it:
// a path with no database is noHistory, not a new empty database (a
// mistyped --db would otherwise leave one behind).
func (s *storeFlags) openExisting(ctx context.Context) (*store.DB, error) {
	path := s.db
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, noHistory{path}
	}
	return store.Open(ctx, path)
}

// buildVersion is the module version the binary was built from.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// storeWarn says on stderr that a run could not be recorded and how to
// record it later; the run's own output is complete either way.
func storeWarn(w io.Writer, err error, later string) {
	fmt.Fprintf(w, "nullsweep: history: %v\n", err)
	if later != "" {
		fmt.Fprintf(w, "nullsweep: history: this run is not recorded; %s\n", later)
	}
}

// recorder records one audit or sweep run; a nil recorder does nothing, so
// callers need no branches for --no-store.
type recorder struct {
	w      *store.Writer
	db     *store.DB
	errOut io.Writer
	err    error
}

// startRecording opens the history and begins a run. A database that
// cannot be used is reported at once on errOut and the run goes on
// unrecorded; finish then returns the error, so the exit status says the
// run was not recorded. live false opens the database but records nothing
// yet (a resumed sweep imports its whole file at the end).
func startRecording(ctx context.Context, sf *storeFlags, info store.RunInfo, errOut io.Writer, live bool) *recorder {
	if sf.noStore {
		return nil
	}
	r := &recorder{errOut: errOut}
	db, err := sf.open(ctx)
	if err != nil {
		r.err = err
		storeWarn(errOut, err, "")
		return r
	}
	r.db = db
	if !live {
		return r
	}
	info.Version = buildVersion()
	w, err := db.Begin(ctx, info)
	if err != nil {
		r.err = err
		storeWarn(errOut, err, "")
		return r
	}
	r.w = w
	return r
}

func (r *recorder) add(h *store.Host) {
	if r == nil || r.w == nil {
		return
	}
	r.w.Add(h)
}

// finish ends the run and returns its number; the error (already shown
// when opening failed) makes the exit status 2.
func (r *recorder) finish(ctx context.Context, complete bool) (run int64, err error) {
	if r == nil {
		return 0, nil
	}
	if r.w == nil {
		return 0, fmt.Errorf("history: run not recorded: %w", r.err)
	}
	if err := r.w.Finish(ctx, complete); err != nil {
		storeWarn(r.errOut, err, "")
		return 0, fmt.Errorf("history: run not recorded: %w", err)
	}
	return r.w.ID, nil
}

func (r *recorder) close() {
	if r != nil && r.db != nil {
		r.db.Close()
	}
}

// sweepHistory is sweep's part in the history: --db, --no-store, --since
// and --html.
type sweepHistory struct {
	store storeFlags
	since string
	html  string
	rec   *recorder
	tmp   string // a throwaway database for --html with --no-store
}

func (h *sweepHistory) add(fl *pflag.FlagSet) {
	h.store.add(fl, true)
	fl.StringVar(&h.since, "since", "", `end with what changed since an earlier recorded run: "last" (the previous complete run over the same targets) or a run number`)
	fl.StringVar(&h.html, "html", "", "also write the run as a self-contained HTML report to FILE")
}

func (h *sweepHistory) validate() error {
	if h.since != "" && h.store.noStore {
		return errors.New("--since compares with recorded runs: it cannot go with --no-store")
	}
	return nil
}

// begin starts recording before the first record. A resumed sweep is
// recorded from its whole file at the end instead (its first part may be
// recorded already).
func (h *sweepHistory) begin(ctx context.Context, info store.RunInfo, resumed bool, errOut io.Writer) {
	sf := h.store
	if sf.noStore && h.html != "" {
		// The report is built from a run in a database: use a throwaway one.
		dir, err := os.MkdirTemp("", "nullsweep-report-")
		if err == nil {
			h.tmp = dir
			sf = storeFlags{db: filepath.Join(dir, "run.db")}
		}
	}
	h.rec = startRecording(ctx, &sf, info, errOut, !resumed)
}

// end finishes the record (or imports the resumed file), then prints the
// diff for --since and writes --html. file is where the records went ("" for
// standard output). The diff goes to out, which is standard output when the
// records went to a file and standard error otherwise.
func (h *sweepHistory) end(ctx context.Context, complete bool, file string, out, errOut io.Writer) error {
	defer func() {
		h.rec.close()
		if h.tmp != "" {
			os.RemoveAll(h.tmp)
		}
	}()
	if h.rec == nil {
		return nil
	}
	later := "use -o FILE to keep the records, then import them with: nullsweep merge FILE"
	if file != "" {
		later = "import it later with: nullsweep merge " + file
	}
	var run int64
	var err error
	if h.rec.db != nil && h.rec.w == nil && h.rec.err == nil {
		// Resumed: the file holds the whole run.
		var m *store.MergeResult
		m, err = h.rec.db.Merge(ctx, []string{file}, store.MergeOptions{Version: buildVersion(), Replace: true})
		if err == nil {
			run = m.Run
		}
	} else {
		run, err = h.rec.finish(ctx, complete)
	}
	if err != nil {
		fmt.Fprintf(errOut, "nullsweep: history: this run is not recorded; %s\n", later)
		return err
	}
	db := h.rec.db
	r, err := db.Run(ctx, fmt.Sprint(run))
	if err != nil {
		return err
	}
	if h.since != "" {
		var a *store.Run
		if h.since == "last" {
			a, err = db.Previous(ctx, r)
		} else {
			a, err = db.Run(ctx, h.since)
		}
		switch {
		case errors.Is(err, store.ErrNoRun) && h.since == "last":
			fmt.Fprintf(out, "since the last run: nothing to compare with (run %d is the first complete run over these %d targets)\n", r.ID, r.Targets)
		case err != nil:
			return err
		default:
			d, err := db.Diff(ctx, a, r)
			if err != nil {
				return err
			}
			if !d.Empty() {
				if err := d.WriteText(out); err != nil {
					return err
				}
			}
			sinceLine(out, d)
		}
	}
	if h.html != "" {
		if err := writeHTMLReport(ctx, db, r, h.html); err != nil {
			return err
		}
		fmt.Fprintf(out, "report: %s\n", h.html)
		if err := printWorst(ctx, out, db, run, 5); err != nil {
			return err
		}
	}
	return nil
}

// hostStatus is a sweep status for an audited host: open when an SMB port
// answered, closed when every port probed refused, error otherwise.
func hostStatus(res *enum.Result) string {
	closed := 0
	for _, st := range res.Ports {
		switch st {
		case enum.Open:
			return store.StatusOpen
		case enum.Closed:
			closed++
		}
	}
	if closed > 0 && closed == len(res.Ports) {
		return store.StatusClosed
	}
	if len(res.Ports) > 0 && res.Layer == enum.LayerReachability {
		return store.StatusFiltered
	}
	return store.StatusError
}

func auditRecord(rep hostReport, target string) *store.Host {
	return &store.Host{Target: target, Status: hostStatus(rep.res), Layer: string(rep.res.Layer), Error: rep.res.Error, Time: time.Now(), Result: rep.res, Audit: rep.Report}
}
