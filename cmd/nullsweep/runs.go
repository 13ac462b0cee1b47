package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func init() { rootCmd.AddCommand(newRunsCmd()) }

func newRunsCmd() *cobra.Command {
	var sf storeFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the runs recorded in the history database",
		Long: `runs lists every recorded sweep, audit and merge: its number (what diff
and report take), when it started, its kind, how many targets it covered and
how many answered on an SMB port, its findings by severity (critical/high/
medium/low/info) and whether it completed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := sf.openExisting(cmd.Context())
			var none noHistory
			if errors.As(err, &none) {
				// Nothing recorded yet is an answer, not an error.
				if asJSON {
					fmt.Fprintln(cmd.OutOrStdout(), "[]")
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "no runs recorded in %s\n", none.path)
				}
				return nil
			}
			if err != nil {
				return runErr(err)
			}
			defer db.Close()
			runs, err := db.Runs(cmd.Context())
			if err != nil {
				return runErr(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if runs == nil {
					return enc.Encode([]any{})
				}
				return enc.Encode(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(out, "no runs recorded in %s\n", db.Path)
				return nil
			}
			tw := tabwriter.NewWriter(out, 2, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSTARTED\tKIND\tTARGETS\tOPEN\tFINDINGS C/H/M/L/I\tCOMPLETE\tPLAN")
			for _, r := range runs {
				f := r.Findings
				complete := "yes"
				switch {
				case r.Finished.IsZero():
					complete = "unfinished"
				case !r.Complete:
					complete = "no"
				}
				plan := r.Plan
				switch {
				case strings.Contains(r.Shard, "/") && r.Shard != "1/1":
					plan += " (shard " + r.Shard + ")"
				case r.Shard != "" && !strings.Contains(r.Shard, "/"):
					plan += " (" + r.Shard + " shards)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d/%d/%d/%d/%d\t%s\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"), r.Kind,
					r.Targets, r.Open, f["critical"], f["high"], f["medium"], f["low"], f["info"], complete, strings.TrimSpace(plan))
			}
			return tw.Flush()
		},
	}
	sf.add(cmd.Flags(), false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the list as JSON")
	return cmd
}
