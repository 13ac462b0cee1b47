package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/pflag"

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
