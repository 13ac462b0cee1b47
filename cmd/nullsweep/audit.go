package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/smb"
)

type auditFlags struct {
	json    bool
	failOn  string
	expect  []string
	shares  []string
	timeout time.Duration
	port    int
	smb1    bool
	noGuest bool
	noProbe bool
	verbose bool
}

func init() { rootCmd.AddCommand(newAuditCmd()) }

func newAuditCmd() *cobra.Command {
	f := &auditFlags{}
	cmd := &cobra.Command{
		Use:   "audit HOST...",
		Short: "enum plus the verdict: which setting allows each exposure, how to close it, what that may break",
		Long: `audit runs every anonymous check of enum on each host, then tells which
setting explains what a stranger got: observed, consistent with a value, or
not observable remotely, with the calls and statuses that decided it. Each
finding carries the fix as a GPO path, a .reg line, a GptTmpl.inf line and,
for Samba, the smb.conf lines, and what the change may break.

It also tree-connects each listed share and each --shares name anonymously
(read only), after checking that a random name gets STATUS_BAD_NETWORK_NAME.

--expect FILE... reads a security template / secedit export, a .reg export
or an smb.conf (see 'nullsweep policy') and reports every drift between what
the files predict and what the host does.

Exit status: 0 no finding at or above --fail-on, 1 findings at or above it,
2 errors (bad usage, unreadable policy file, a host that could not be
resolved or negotiated with).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAudit(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "write the report as JSON (one object per host; several hosts give JSON Lines)")
	fl.StringVar(&f.failOn, "fail-on", "low", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical")
	fl.StringSliceVar(&f.expect, "expect", nil, "policy files (INF, .reg, smb.conf) whose prediction the observation is compared with")
	fl.StringSliceVar(&f.shares, "shares", nil, "share names to tree-connect anonymously besides the listed ones")
	fl.DurationVar(&f.timeout, "timeout", 15*time.Second, "bound for each host")
	fl.IntVar(&f.port, "port", 0, "SMB port: 445 or 139 (default 445, or 139 when 445 is closed)")
	fl.BoolVar(&f.smb1, "smb1", false, "force SMB1 (NT LM 0.12) for the session and checks")
	fl.BoolVar(&f.noGuest, "no-guest", false, "skip the guest probe (a random unknown user)")
	fl.BoolVar(&f.noProbe, "no-share-probe", false, "skip audit's own share and control probes")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "debug logs on stderr")
	return cmd
}

func runAudit(cmd *cobra.Command, f *auditFlags, hosts []string) error {
	threshold, err := audit.ParseSeverity(f.failOn)
	if err != nil {
		return usageErr(err)
	}
	if f.port != 0 && f.port != 445 && f.port != 139 {
		return usageErr(errors.New("--port must be 445 or 139"))
	}
	if f.timeout <= 0 {
		return usageErr(errors.New("--timeout must be positive"))
	}
	var expect *audit.Prediction
	if len(f.expect) > 0 {
		cfg, err := audit.ReadConfig(f.expect...)
		if err != nil {
			return usageErr(err)
		}
		expect = audit.Predict(cfg)
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()

	out := cmd.OutOrStdout()
	failed, hostErrs := false, 0
	for i, host := range hosts {
		rep := auditHost(ctx, f, host, expect, log)
		if f.json {
			enc := json.NewEncoder(out)
			if len(hosts) == 1 {
				enc.SetIndent("", "  ")
			}
			err = enc.Encode(rep)
		} else {
			if i > 0 {
				fmt.Fprintln(out)
			}
			err = rep.WriteText(out)
		}
		if err != nil {
			return usageErr(fmt.Errorf("write report: %w", err))
		}
		if rep.Layer == "resolve" || rep.Layer == "negotiate" {
			hostErrs++
		}
		if rep.AtLeast(threshold) > 0 {
			failed = true
		}
	}
	switch {
	case hostErrs > 0:
		return &exitError{code: 2, err: fmt.Errorf("%d of %d hosts could not be examined", hostErrs, len(hosts))}
	case failed:
		return &exitError{code: 1, err: nil}
	}
	return nil
}

func auditHost(ctx context.Context, f *auditFlags, host string, expect *audit.Prediction, log *slog.Logger) *audit.Report {
	res := enum.Run(ctx, host, enum.Options{Timeout: f.timeout, Port: f.port, NoGuest: f.noGuest, SMB1: f.smb1, Logger: log})
	// The probes get their own bound: enum may have spent all of its own.
	hctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	opt := audit.Options{Expect: expect}
	if !f.noProbe && res.Sessions["null"] != nil && res.Sessions["null"].Result != "denied" && res.Sessions["null"].Result != "error" {
		popt := audit.ProbeOptions{Names: f.shares, SMB: smb.Options{Port: f.port}}
		for _, s := range res.Shares {
			popt.Listed = append(popt.Listed, s.Name)
		}
		if f.smb1 || (res.SMB != nil && res.SMB.Dialect == smb.SMB1.String()) {
			popt.SMB.Dialects = []smb.Dialect{smb.SMB1}
		}
		probes, err := audit.ProbeShares(hctx, host, popt)
		if err != nil {
			log.Warn("share probe", "host", host, "err", err)
		}
		opt.Probes = probes
	}
	rep := audit.Assess(res, opt)
	return rep
}
