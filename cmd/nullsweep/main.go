// Command nullsweep finds and explains Windows null sessions (anonymous
// SMB/RPC logons). Each verb lives in its own file; they only parse flags
// and call into internal/. The exit status follows one rule for every verb
// (exit.go).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "nullsweep",
	Short: "Find and explain Windows null sessions (anonymous SMB/RPC logons)",
	Long: `nullsweep finds and explains Windows null sessions (anonymous SMB/RPC logons).

Exit status, for every command:
  0  examined (whatever the hosts expose)
  1  findings at or above --fail-on (audit, sweep; diff: new ones)
  2  not examined (a host that could not be reached, negotiated with or
     finished within --timeout), a usage error, a run error, or an
     interrupt (SIGINT/SIGTERM: what was learned is printed, marked incomplete)`,
	Example: `  nullsweep lab up open
  nullsweep enum 127.0.0.2
  nullsweep audit 127.0.0.2 --fail-on medium`,
	Version:       version(),
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	rootCmd.SetVersionTemplate("nullsweep {{.Version}}\n")
	// Declared before the command is found, so that a leading -v is known
	// to take no value: cobra would otherwise read "nullsweep -v enum HOST"
	// as -v=enum and HOST as the verb. After the verb, -v is --verbose.
	rootCmd.Flags().BoolP("version", "v", false, "print the version and exit")
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	cmd, err := rootCmd.ExecuteC()
	path := rootCmd.CommandPath()
	if cmd != nil {
		path = cmd.CommandPath()
	}
	code, msg := exitStatus(path, err)
	if msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(code)
}
