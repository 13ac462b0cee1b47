package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/store"
)

func init() { rootCmd.AddCommand(newDiffCmd()) }

func newDiffCmd() *cobra.Command {
	var sf storeFlags
	var asJSON bool
	var failOn string
	cmd := &cobra.Command{
		Use:   "diff [RUN_A] [RUN_B]",
		Short: "What changed between two recorded runs, host by host",
		Long: `diff compares two recorded runs (numbers from 'nullsweep runs', or "last")
and names, per host, each finding and exposure that is new, resolved, changed
or unknown. Unknown means the host did not answer fully in one of the runs: a
host that is down is not a host that was fixed. A host whose SMB ports are
closed did answer, so what it exposed before is resolved.

With no run, the newest complete run is compared with the complete run before
it over the same targets; with one, that run with its predecessor.

Exit status: 0 nothing new at or above --fail-on, 1 something new at or
above it, 2 usage or database errors.`,
		Args: maxArgs(2, "RUN (numbers from nullsweep runs)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			threshold, err := audit.ParseSeverity(failOn)
			if err != nil {
				return usageErr(err)
			}
			db, err := sf.openExisting(cmd.Context())
			if err != nil {
				return runErr(err)
			}
			defer db.Close()
			d, err := diffRuns(cmd.Context(), db, args)
			if err != nil {
				return runErr(err)
			}
			if err := writeDiff(cmd.OutOrStdout(), d, asJSON); err != nil {
				return runErr(err)
			}
			if d.NewAtLeast(threshold) > 0 {
				return findingsErr()
			}
			return nil
		},
	}
	sf.add(cmd.Flags(), false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the diff as JSON")
	cmd.Flags().StringVar(&failOn, "fail-on", "low", "exit 1 when a new finding is at or above this severity: info, low, medium, high, critical")
	return cmd
}

// diffRuns resolves diff's arguments to two runs and compares them.
func diffRuns(ctx context.Context, db *store.DB, args []string) (*store.Diff, error) {
	var a, b *store.Run
	var err error
	switch len(args) {
	case 2:
		if a, err = db.Run(ctx, args[0]); err != nil {
			return nil, err
		}
		if b, err = db.Run(ctx, args[1]); err != nil {
			return nil, err
		}
	default:
		ref := "last"
		if len(args) == 1 {
			ref = args[0]
		}
		if b, err = db.Run(ctx, ref); err != nil {
			return nil, err
		}
		if a, err = db.Previous(ctx, b); err != nil {
			return nil, err
		}
	}
	return db.Diff(ctx, a, b)
}

func writeDiff(w io.Writer, d *store.Diff, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	if err := d.WriteText(w); err != nil {
		return fmt.Errorf("write diff: %w", err)
	}
	return nil
}
