package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/report"
)

type enumFlags struct {
	json     bool
	timeout  time.Duration
	port     int
	smb1     bool
	noGuest  bool
	verbose  bool
	letters  map[rune]*bool
	rids     string
	ridBatch int
	ridStop  int
	unixSIDs bool
	names    []string
}

func init() { rootCmd.AddCommand(newEnumCmd()) }

func newEnumCmd() *cobra.Command {
	f := &enumFlags{letters: map[rune]*bool{}}
	cmd := &cobra.Command{
		Use:   "enum HOST",
		Short: "Every anonymous check on one host, layer by layer (enum.exe's job)",
		Long: `enum examines one host the way a stranger can: reachability, negotiate,
the null session (no user, no password) and a guest probe (a freshly random
unknown user, empty password), IPC$, the well-known pipes, then the RPC checks.

enum.exe's letters select checks: -U users, -M machines/browse list, -S shares,
-P password and lockout policy, -G groups, -L LSA domain and trusts,
-N NetBIOS names, -R RID cycling, -d per-user details, -A all (the default).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runEnum(cmd, f, args[0]) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "write the result as JSON (schema nullsweep/1, docs/json.md)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound for the whole host")
	fl.IntVar(&f.port, "port", 0, "SMB port: 445 or 139 (default 445, or 139 when 445 is closed)")
	fl.BoolVar(&f.smb1, "smb1", false, "force SMB1 (NT LM 0.12) for the session and checks")
	fl.BoolVar(&f.noGuest, "no-guest", false, "skip the guest probe")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "debug logs on stderr")
	for _, l := range []struct {
		r    rune
		help string
	}{
		{'U', "users"}, {'M', "machines and the browse list"}, {'S', "shares"}, {'P', "password and lockout policy"},
		{'G', "groups and members"}, {'L', "LSA: domain, SID, trusts"}, {'N', "NetBIOS names (UDP 137)"},
		{'R', "RID cycling (SID to name)"}, {'A', "all checks (default)"}, {'d', "detailed: per-user information"},
	} {
		b := new(bool)
		f.letters[l.r] = b
		fl.BoolVarP(b, "check-"+string(l.r), string(l.r), false, l.help)
	}
	fl.StringVar(&f.rids, "rids", "", "RID ranges for -R, e.g. 500-550,1000-5000 (default 500-550 then 1000+ until --rid-stop empty batches)")
	fl.IntVar(&f.ridBatch, "rid-batch", 1000, "SIDs per LookupSids call (1-20480)")
	fl.IntVar(&f.ridStop, "rid-stop", 2, "empty batches in a row that end the open-ended RID scan")
	fl.BoolVar(&f.unixSIDs, "unix-sids", false, "also cycle Samba's Unix SIDs (S-1-22-1, S-1-22-2)")
	fl.StringSliceVar(&f.names, "names", nil, "names to translate with LSA LookupNames")
	return cmd
}

func (f *enumFlags) checks() enum.Checks {
	var c enum.Checks
	for r, bit := range map[rune]enum.Checks{'U': enum.CheckUsers, 'M': enum.CheckMachines, 'S': enum.CheckShares,
		'P': enum.CheckPolicy, 'G': enum.CheckGroups, 'L': enum.CheckLSA, 'N': enum.CheckNetBIOS, 'R': enum.CheckRIDs, 'A': enum.CheckAll} {
		if *f.letters[r] {
			c |= bit
		}
	}
	if *f.letters['d'] {
		c |= enum.CheckDetailed
	}
	return c
}

// ParseRIDRanges reads "500-550,1000-5000,1103".
func parseRIDRanges(s string) ([]enum.RIDRange, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []enum.RIDRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--rids: bad RID %q", lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 32); err != nil {
				return nil, fmt.Errorf("--rids: bad RID %q", hi)
			}
		}
		if b < a {
			return nil, fmt.Errorf("--rids: range %q runs backwards", part)
		}
		out = append(out, enum.RIDRange{First: uint32(a), Last: uint32(b)})
	}
	return out, nil
}

func runEnum(cmd *cobra.Command, f *enumFlags, host string) error {
	if f.port != 0 && f.port != 445 && f.port != 139 {
		return usageErr(errors.New("--port must be 445 or 139"))
	}
	if f.timeout <= 0 {
		return usageErr(errors.New("--timeout must be positive"))
	}
	if f.ridBatch < 1 || f.ridBatch > 20480 {
		return usageErr(errors.New("--rid-batch must be 1..20480"))
	}
	ranges, err := parseRIDRanges(f.rids)
	if err != nil {
		return usageErr(err)
	}
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	if ctx == nil {
		ctx = context.Background()
	}
	res := enum.Run(ctx, host, enum.Options{
		Timeout: f.timeout, Port: f.port, NoGuest: f.noGuest, SMB1: f.smb1, Checks: f.checks(), Logger: log,
		RIDs: enum.RIDOptions{Ranges: ranges, Batch: f.ridBatch, Stop: f.ridStop, UnixSIDs: f.unixSIDs, Names: f.names},
	})
	out := cmd.OutOrStdout()
	if f.json {
		err = report.JSON(out, res)
	} else {
		err = report.Text(out, res)
	}
	if err != nil {
		return usageErr(fmt.Errorf("write report: %w", err))
	}
	if res.Layer == "resolve" {
		return &exitError{code: 2, err: errors.New(res.Error)}
	}
	return nil
}
