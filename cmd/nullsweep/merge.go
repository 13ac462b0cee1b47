package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/store"
)

func init() { rootCmd.AddCommand(newMergeCmd()) }

func newMergeCmd() *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "merge FILE.jsonl...",
		Short: "Import sweep JSON Lines (the shards of one plan) into the history as one run",
		Long: `merge imports the JSON Lines a sweep wrote (-o FILE), or the files of every
shard of one plan, as one run of the history database. Files of different
plans are refused. Importing the same files again changes nothing. A run the
sweep could not record itself (database locked, full, read-only) is imported
the same way.

Exit status: 0 imported (or already there) and complete, 2 when a shard is
missing or incomplete (the run is stored, marked incomplete, and the missing
shards are listed), when the files cannot be read, or on database errors.`,
		Args: minArgs(1, "FILE.jsonl (a sweep's -o output)"),
		RunE: func(cmd *cobra.Command, files []string) error {
			db, err := sf.open(cmd.Context())
			if err != nil {
				return runErr(err)
			}
			defer db.Close()
			m, err := db.Merge(cmd.Context(), files, store.MergeOptions{Version: buildVersion()})
			if err != nil {
				return runErr(err)
			}
			out := cmd.OutOrStdout()
			plan := m.Plan
			if m.Shards > 1 {
				plan += fmt.Sprintf(", %d shards", m.Shards)
			}
			if m.Already {
				fmt.Fprintf(out, "already recorded as run %d (plan %s, %d targets); nothing changed\n", m.Run, plan, m.Hosts)
			} else {
				fmt.Fprintf(out, "imported %d targets as run %d (plan %s)\n", m.Hosts, m.Run, plan)
			}
			if m.Dupes > 0 {
				fmt.Fprintf(out, "%d records repeated a target already read; the first was kept\n", m.Dupes)
			}
			if m.Torn > 0 {
				fmt.Fprintf(out, "%d files ended in a cut-off line (an interrupted sweep); it was skipped\n", m.Torn)
			}
			if !m.Complete() {
				var list []string
				for _, i := range m.Missing {
					list = append(list, fmt.Sprintf("%d/%d", i, max(m.Shards, 1)))
				}
				if m.Already {
					// A cut-off copy of a run recorded whole: the files
					// lack a summary, the run as recorded does not.
					if r, err := db.Run(cmd.Context(), strconv.FormatInt(m.Run, 10)); err == nil && r.Complete {
						fmt.Fprintf(out, "these files lack the summary of shard %s; run %d as recorded is complete\n", strings.Join(list, ", "), m.Run)
						return nil
					}
				}
				return runErr(fmt.Errorf("incomplete: no complete summary for shard %s; the run is recorded as incomplete", strings.Join(list, ", ")))
			}
			return nil
		},
	}
	sf.add(cmd.Flags(), false)
	return cmd
}
