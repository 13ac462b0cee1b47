package main

import (
	"context"
	"fmt"
	"io"
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
// run was not recorded.
func startRecording(ctx context.Context, sf *storeFlags, info store.RunInfo, errOut io.Writer) *recorder {
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
	info.Version = buildVersion()
	w, err := db.Begin(ctx, info)
	if err != nil {
		db.Close()
		r.err = err
		storeWarn(errOut, err, "")
		return r
	}
	r.db, r.w = db, w
	return r
}

func (r *recorder) add(h *store.Host) {
	if r == nil || r.w == nil {
		return
	}
	r.w.Add(h)
}

// finish ends the run; the error (already shown when opening failed) makes
// the exit status 2.
func (r *recorder) finish(ctx context.Context, complete bool) (run int64, err error) {
	if r == nil {
		return 0, nil
	}
	if r.w == nil {
		return 0, fmt.Errorf("history: run not recorded: %w", r.err)
	}
	defer r.db.Close()
	if err := r.w.Finish(ctx, complete); err != nil {
		storeWarn(r.errOut, err, "")
		return 0, fmt.Errorf("history: run not recorded: %w", err)
	}
	return r.w.ID, nil
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
