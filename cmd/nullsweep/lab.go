package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/lab"
)

func init() {
	labCmd := &cobra.Command{
		Use:   "lab up|down|status [POSTURE...]",
		Short: "Start, stop or show local Samba victims on loopback addresses",
		Long: `lab runs real Samba servers on 127.0.0.x, one per posture, so you can try
nullsweep safely. Postures (default for up: all but bulk):
` + postureTable() + `
State lives in $NULLSWEEP_LAB_DIR (default ` + lab.DefaultDir() + `). Needs root.`,
		Example: `  nullsweep lab up                # every posture but bulk
  nullsweep lab up open dc
  nullsweep lab status
  nullsweep lab down`,
		// A word that is not a subcommand is a usage error, not help.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("lab needs a subcommand: up, down or status"))
			}
			return usageErr(fmt.Errorf("unknown lab subcommand %q (up, down or status)", args[0]))
		},
	}
	var dir string
	labCmd.PersistentFlags().StringVar(&dir, "dir", lab.DefaultDir(), "lab directory")
	labCmd.AddCommand(&cobra.Command{
		Use:   "up [POSTURE...]",
		Short: "Start postures (default: all but bulk) and wait until they answer",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPostures(args); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			l := lab.New(dir)
			if err := l.Up(ctx, args...); err != nil {
				return err
			}
			return printStatus(ctx, cmd, l, args...)
		},
	}, &cobra.Command{
		Use:   "down [POSTURE...]",
		Short: "Stop postures (default: all) started from this lab directory",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPostures(args); err != nil {
				return err
			}
			return lab.New(dir).Down(cmd.Context(), args...)
		},
	}, &cobra.Command{
		Use:   "status [POSTURE...]",
		Short: "Show each posture (default: all), its address, state and pids",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPostures(args); err != nil {
				return err
			}
			return printStatus(cmd.Context(), cmd, lab.New(dir), args...)
		},
	})
	rootCmd.AddCommand(labCmd)
}

func checkPostures(names []string) error {
	for _, n := range names {
		if _, err := lab.Lookup(n); err != nil {
			return usageErr(err)
		}
	}
	return nil
}

func postureTable() string {
	var b strings.Builder
	for _, p := range lab.Postures() {
		fmt.Fprintf(&b, "  %-12s %-11s %s\n", p.Name, p.Addr, p.Summary)
	}
	return b.String()
}

// printStatus prints the named postures (all when none). States: up (ours,
// answering), starting, down, foreign (answering, not started by this lab dir).
func printStatus(ctx context.Context, cmd *cobra.Command, l *lab.Lab, names ...string) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POSTURE\tADDRESS\tSTATE\tPIDS")
	for _, s := range l.Status(ctx) {
		if len(names) > 0 && !slices.Contains(names, s.Name) {
			continue
		}
		var pids []string
		for _, d := range s.Daemons {
			pids = append(pids, fmt.Sprintf("%s=%d", d.Name, d.PID))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Addr, s.Word(), strings.Join(pids, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Where to change a victim (scripts/demo.sh sends people here).
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "lab directory: %s (each posture's files, its smb.conf among them, are under %s)\n",
		l.Dir, filepath.Join(l.Dir, "POSTURE"))
	return err
}
