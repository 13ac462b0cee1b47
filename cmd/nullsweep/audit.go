package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/report"
	"github.com/nullsweep/nullsweep/internal/smb"
	"github.com/nullsweep/nullsweep/internal/store"
)

type auditFlags struct {
	hostFlags
	credFlags
	failOn  string
	expect  []string
	shares  []string
	noProbe bool
	store   storeFlags
}

func init() { rootCmd.AddCommand(newAuditCmd()) }

func newAuditCmd() *cobra.Command {
	f := &auditFlags{}
	cmd := &cobra.Command{
		Use:   "audit HOST...",
		Short: "Enum plus the verdict: which setting allows each exposure, how to close it, what that may break",
		Long: `audit runs every anonymous check of enum on each host, then tells which
setting explains what a stranger got: observed, consistent with a value, or
not observable remotely, with the calls and statuses that decided it. Each
finding carries the fix as a GPO path, a .reg line, a GptTmpl.inf line and,
for Samba, the smb.conf lines, and what the change may break.

It also tree-connects each listed share and each --shares name anonymously
(read only), after checking that a random name gets STATUS_BAD_NETWORK_NAME.

With --user, each host is examined twice, anonymously and as that user
(the password from NULLSWEEP_PASSWORD, an NT hash from NULLSWEEP_NTHASH,
or a prompt), and the report shows per item what the user gets that a
stranger does not. The logon is tried once per host: a refused one is
never retried there.

--expect FILE... reads a security template / secedit export, a .reg export
or an smb.conf (see 'nullsweep policy') and reports every drift between what
the files predict and what the host does.

Exit status: 0 every host examined and no finding at or above --fail-on,
1 findings at or above it, 2 a host not examined (unreachable, negotiate
failed, its --timeout ran out), an interrupt (SIGINT/SIGTERM stops every
host; what was learned is printed, marked incomplete), a usage error or an
unreadable policy file. 2 wins over 1: an incomplete audit is never clean.`,
		Example: `  nullsweep audit 127.0.0.2
  nullsweep audit --fail-on medium 127.0.0.2 127.0.0.3
  nullsweep audit --shares public,data --json 127.0.0.2
  nullsweep audit --expect smb.conf 127.0.0.2      # drift: policy file vs host`,
		Args: minHosts(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAudit(cmd, f, args) },
	}
	fl := cmd.Flags()
	f.hostFlags.register(fl, 15*time.Second, "write the report as JSON (one object per host; several hosts give JSON Lines)")
	f.credFlags.register(fl)
	fl.StringVar(&f.failOn, "fail-on", "low", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical")
	fl.StringSliceVar(&f.expect, "expect", nil, "policy files (INF, .reg, smb.conf) whose prediction the observation is compared with")
	fl.StringSliceVar(&f.shares, "shares", nil, "share names to tree-connect anonymously besides the listed ones")
	fl.BoolVar(&f.noProbe, "no-share-probe", false, "skip audit's own share and control probes")
	f.store.add(fl, true)
	return cmd
}

func runAudit(cmd *cobra.Command, f *auditFlags, args []string) error {
	hosts, err := f.validate(args)
	if err != nil {
		return err
	}
	threshold, err := audit.ParseSeverity(f.failOn)
	if err != nil {
		return usageErr(err)
	}
	var expect *audit.Prediction
	if len(f.expect) > 0 {
		cfg, err := audit.ReadConfig(f.expect...)
		if err != nil {
			return runErr(err)
		}
		expect = audit.Predict(cfg)
	}
	creds, err := f.credentials(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	log := f.logger(cmd.ErrOrStderr())
	ctx, in, stop := withSignals(cmd.Context())
	defer stop()

	out := cmd.OutOrStdout()
	rec := startRecording(ctx, &f.store, store.RunInfo{Kind: store.KindAudit, Args: os.Args[1:]}, cmd.ErrOrStderr(), true)
	defer rec.close()
	failed := false
	var notExamined []string
	done := 0
	for i, host := range hosts {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		rep := auditHost(ctx, f, host, expect, log, creds)
		took := time.Since(start)
		if s := in.Signal(); s != nil && rep.Error != "" {
			rep.Error = fmt.Sprintf("interrupted (%s) at this layer: %s", sigName(s), rep.Error)
		}
		switch {
		case f.json && len(hosts) == 1:
			err = report.JSON(out, rep.Report)
		case f.json:
			err = report.JSONLine(out, rep.Report)
		default:
			if i > 0 {
				fmt.Fprintln(out)
			}
			err = report.AuditText(out, rep.Report)
		}
		if err != nil {
			return runErr(fmt.Errorf("write report: %w", err))
		}
		done++
		rec.add(auditRecord(rep, host))
		if ok, why := hostExamined(rep.res); !ok {
			notExamined = append(notExamined, why+timeoutHint(took, f.timeout))
		}
		if rep.AtLeast(threshold) > 0 {
			failed = true
		}
	}
	_, recErr := rec.finish(context.WithoutCancel(ctx), done == len(hosts) && in.Signal() == nil)
	if err := in.Err(fmt.Sprintf("%d of %d hosts reported, the last one possibly in part", done, len(hosts))); err != nil {
		return err
	}
	switch {
	case len(notExamined) == 1 && len(hosts) == 1:
		return runErr(errors.New(notExamined[0]))
	case len(notExamined) > 0:
		return runErr(fmt.Errorf("%d of %d hosts not examined:\n  %s", len(notExamined), len(hosts), strings.Join(notExamined, "\n  ")))
	case recErr != nil:
		return runErr(recErr)
	case failed:
		return findingsErr()
	}
	return nil
}

// hostReport is one host's audit with the enum result it was made from.
type hostReport struct {
	*audit.Report
	res *enum.Result
}

func auditHost(ctx context.Context, f *auditFlags, host string, expect *audit.Prediction, log *slog.Logger, creds smb.Credentials) hostReport {
	res := enum.Run(ctx, host, enum.Options{Timeout: f.timeout, Port: f.port, NoGuest: f.noGuest, SMB1: f.smb1, Logger: log})
	// The probes get their own bound: enum may have spent all of its own.
	hctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	rep := audit.Examine(hctx, res, audit.ExamineOptions{Shares: f.shares, NoProbe: f.noProbe, SMB1: f.smb1, Port: f.port, Expect: expect, Logger: log})
	if !creds.Anonymous() && ctx.Err() == nil && res.Port != 0 {
		// The second look, as the user: one logon on this host (enum
		// never retries it), on the port the anonymous run used.
		user := enum.Run(ctx, host, enum.Options{Timeout: f.timeout, Port: res.Port, SMB1: f.smb1, Logger: log, Credentials: creds})
		audit.CompareUser(rep, res, user)
	}
	return hostReport{rep, res}
}
