// Command nullsweep finds and explains Windows null sessions (anonymous
// SMB/RPC logons). Each verb lives in its own file; they only parse flags
// and call into internal/.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks a usage or run error (exit 2).
func usageErr(err error) error { return &exitError{code: 2, err: err} }

var rootCmd = &cobra.Command{
	Use:           "nullsweep",
	Short:         "Find and explain Windows null sessions (anonymous SMB/RPC logons)",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	err := rootCmd.Execute()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "nullsweep:", ee.err)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "nullsweep:", err)
	os.Exit(2)
}
