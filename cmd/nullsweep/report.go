package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/htmlreport"
	"github.com/nullsweep/nullsweep/internal/store"
)

func init() { rootCmd.AddCommand(newReportCmd()) }

func newReportCmd() *cobra.Command {
	var sf storeFlags
	var html string
	cmd := &cobra.Command{
		Use:   "report [RUN] --html FILE",
		Short: "Write a recorded run as one self-contained HTML file",
		Long: `report writes a recorded run (a number from 'nullsweep runs'; default the
newest complete run) as one HTML file that opens offline in any browser:
summary counts, what changed since the previous run over the same targets, a
host × exposure matrix (sort, filter, pages of 100 hosts), per host its
findings with the setting, the fix lines (GPO path, .reg, GptTmpl.inf,
smb.conf) and what the fix may break.

Everything a target sent is shown as text, never as markup; the page runs
only its own script and loads nothing from the network.`,
		Example: `  nullsweep report --html report.html
  nullsweep report 12 --html run12.html`,
		Args: maxArgs(1, "RUN (a number from nullsweep runs)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if html == "" {
				return usageErr(errors.New("--html FILE is required"))
			}
			ref := "last"
			if len(args) == 1 {
				ref = args[0]
			}
			db, err := sf.openExisting(cmd.Context())
			if err != nil {
				return runErr(err)
			}
			defer db.Close()
			run, err := db.Run(cmd.Context(), ref)
			if err != nil {
				return runErr(err)
			}
			if err := writeHTMLReport(cmd.Context(), db, run, html); err != nil {
				return runErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report of run %d written to %s\n", run.ID, html)
			if err := printWorst(cmd.Context(), cmd.OutOrStdout(), db, run.ID, 5); err != nil {
				return runErr(err)
			}
			return nil
		},
	}
	sf.add(cmd.Flags(), false)
	cmd.Flags().StringVar(&html, "html", "", "write the report to this file")
	return cmd
}

// writeHTMLReport writes run's report with its diff against the previous
// complete run over the same targets.
func writeHTMLReport(ctx context.Context, db *store.DB, run *store.Run, path string) error {
	hosts, fixes, err := db.ReportHosts(ctx, run.ID)
	if err != nil {
		return err
	}
	in := htmlreport.Input{Run: run, Hosts: hosts, Fixes: fixes, Generated: time.Now()}
	prev, err := db.Previous(ctx, run)
	switch {
	case errors.Is(err, store.ErrNoRun):
		in.NoDiff = "no earlier complete run over the same targets"
	case err != nil:
		return err
	default:
		if in.Diff, err = db.Diff(ctx, prev, run); err != nil {
			return err
		}
	}
	return htmlreport.WriteFile(path, in)
}

// sinceLine is the one-line verdict of a diff for the end of a sweep.
func sinceLine(w io.Writer, d *store.Diff) {
	if d.Empty() {
		fmt.Fprintf(w, "since the last run (run %d): no change\n", d.A.ID)
		return
	}
	fmt.Fprintf(w, "since the last run (run %d): %d hosts with something new, %d resolved, %d changed, %d unknown, %d unchanged\n",
		d.A.ID, d.Count[store.DiffNew], d.Count[store.DiffResolved], d.Count[store.DiffChanged], d.Count[store.DiffUnknown], d.Count[store.DiffUnchanged])
}

// printWorst lists the run's worst kinds of finding, one line each.
func printWorst(ctx context.Context, w io.Writer, db *store.DB, run int64, n int) error {
	worst, err := db.WorstFindings(ctx, run, n)
	if err != nil {
		return err
	}
	if len(worst) == 0 {
		fmt.Fprintln(w, "worst findings: none")
		return nil
	}
	fmt.Fprintln(w, "worst findings:")
	for _, f := range worst {
		hosts := strings.Join(f.Hosts[:min(len(f.Hosts), 4)], ", ")
		if len(f.Hosts) > 4 {
			hosts += fmt.Sprintf(", … (%d more)", len(f.Hosts)-4)
		}
		fmt.Fprintf(w, "  [%s] %s — %d host(s): %s\n", strings.ToUpper(f.Severity.String()), f.Title, len(f.Hosts), hosts)
	}
	return nil
}
