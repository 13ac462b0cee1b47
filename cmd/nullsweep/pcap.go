package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/pcap"
)

func init() { rootCmd.AddCommand(newPcapCmd()) }

func newPcapCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pcap FILE...",
		Short: "Find null sessions and what they enumerated in recorded traffic (pcap, pcapng)",
		Long: `pcap reads captures (pcap or pcapng; Ethernet, Linux cooked, loopback or raw IP),
reassembles their TCP streams within fixed budgets, and follows NBSS, SMB1 and
SMB2/3, named pipes, DCE/RPC over pipes and TCP, LDAP (389, 3268) and NBNS node
status. Replies are decoded with the scanner's own decoders. Per client → server
conversation it reports the logons (null, guest, kerberos or the user name the
client sent, never a secret), the trees, pipes, calls and searches with their
status, and what the server disclosed (users, groups, aliases, SIDs and names,
shares, password policy, server info, NetBIOS names, endpoints, rootDSE), with a
finding for each call a null session got something from. Encrypted SMB3, sealed
DCE/RPC and LDAPS are reported as such; what is not decoded is listed with why.
Nothing is sent on the network. docs/pcap.md describes the report.

Exit status: 0 every file read to its end (findings do not change it), 2 a
file that could not be opened or stopped early (truncated or corrupt: the
report covers what came before), an interrupt or a usage error.`,
		Args: minArgs(1, "capture FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, in, stop := withSignals(cmd.Context())
			defer stop()
			rep, err := pcap.ReadFiles(ctx, args, pcap.Limits{})
			if err != nil {
				if ierr := in.Err("reading captures"); ierr != nil {
					return ierr
				}
				return runErr(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = rep.WriteText(out)
			}
			if err != nil {
				return runErr(fmt.Errorf("write report: %w", err))
			}
			var errs []error
			for _, f := range rep.Files {
				if f.Error != "" {
					errs = append(errs, fmt.Errorf("%s: read stopped (%s); the report covers what came before", f.Name, f.Error))
				}
			}
			if len(errs) > 0 {
				return runErr(errors.Join(errs...))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the report as JSON (docs/pcap.md)")
	return cmd
}
