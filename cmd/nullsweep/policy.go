package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/report"
)

func init() { rootCmd.AddCommand(newPolicyCmd()) }

func newPolicyCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "policy FILE...",
		Short: "Predict what a null session will see from policy files (INF, .reg, smb.conf)",
		Long: `policy reads, offline, a security template or 'secedit /export' INF
(UTF-16LE with a BOM, as Windows writes it, or UTF-8), a regedit .reg export,
or an smb.conf, and predicts what an anonymous caller will get: the user and
share lists, SID translation, guest logons, SMB1, signing and each share.
Later files override earlier ones. Each file is read up to 8 MiB; key =
value text that names no smb.conf parameter is refused, and an empty file
is an smb.conf that sets nothing (Samba's defaults). 'nullsweep audit HOST --expect FILE...'
compares the prediction with the live host.

Exit status: 0 predicted, 2 a file that cannot be read or is not a policy
file, or a usage error.`,
		Example: `  nullsweep policy /etc/samba/smb.conf
  nullsweep policy --json secedit-export.inf
  nullsweep policy base.inf overrides.reg      # later files override earlier ones`,
		Args: minArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := audit.ReadConfig(args...)
			if err != nil {
				return runErr(err)
			}
			p := audit.Predict(cfg)
			out := cmd.OutOrStdout()
			if asJSON {
				err = report.JSON(out, p)
			} else {
				err = report.PolicyText(out, p)
			}
			if err != nil {
				return runErr(fmt.Errorf("write prediction: %w", err))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write settings[] (state configured) and the predicted exposure as JSON")
	return cmd
}
