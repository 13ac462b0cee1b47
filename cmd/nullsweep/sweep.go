package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/store"
	"github.com/nullsweep/nullsweep/internal/sweep"
)

type sweepFlags struct {
	inputList      string
	exclude        []string
	excludeFile    string
	maxTargets     uint64
	seed           uint64
	shard          string
	connectTimeout time.Duration
	port           int
	rate           float64
	concurrency    int
	hostTimeout    time.Duration
	letters        map[rune]*bool
	noGuest        bool
	smb1           bool
	shares         []string
	noProbe        bool
	failOn         string
	onlyOpen       bool
	output         string
	resume         string
	verbose        bool
	hist           sweepHistory
	creds          credFlags
	maxAuthFail    int
}

func init() { rootCmd.AddCommand(newSweepCmd()) }

// nmapInputList lets `sweep -iL FILE` work as in nmap: the flag parser
// knows only one-letter short flags, so "-iL" becomes "--iL".
func nmapInputList(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == "--" {
			break
		}
		if a == "-iL" || strings.HasPrefix(a, "-iL=") {
			out[i] = "-" + a
		}
	}
	return out
}

func newSweepCmd() *cobra.Command {
	f := &sweepFlags{letters: map[rune]*bool{}}
	cmd := &cobra.Command{
		Use:   "sweep TARGET... | -iL FILE",
		Short: "Every host of a network: a connect scan of 445/139, then enum and audit on each open host, one JSON record per target",
		Long: `sweep examines networks. Targets are addresses (IPv4, IPv6), host names,
CIDR blocks (192.0.2.0/24, 2001:db8::/120) and ranges (192.0.2.3-40,
192.0.2.3-198.51.100.9), as arguments or in -iL FILE (one or more a line,
'-' reads standard input, '#' starts a comment). --exclude and
--exclude-file take the same syntax.

Phase 1 connects to TCP 445 (139 when 445 refuses) at --rate connects a
second, each bounded by --connect-timeout. Phase 2 runs enum's checks
(enum.exe's letters; the default is -A without RID cycling, -R adds it) and
audit's verdict on each host with an open port, --concurrency hosts at a
time, each bounded by --host-timeout.

Output is JSON Lines (schema nullsweep-sweep/1, docs/json.md): one record
per target as it finishes, then a summary. On a terminal, stderr shows a
progress bar and, at the end, the hosts with findings, worst first.

Targets are visited in a seeded random order (--seed) that spreads load
over subnets; --shard i/n takes one of n disjoint parts of that order (see
docs/distributed.md). --resume FILE continues an interrupted sweep from its
own output, appending to it.

Exit status: 0 every target examined and no finding at or above --fail-on
(closed and filtered targets are answers); 1 findings at or above it; 2 a
target not examined (status error in its record), an interrupted sweep, a
usage error or a run error (an output file or history database that cannot
be written).`,
		Example: `  nullsweep sweep 127.0.0.0/27 -o lab.jsonl
  nullsweep sweep -iL ranges.txt --exclude 192.0.2.1 --rate 500 --only-open
  nullsweep sweep 198.51.100.0/24 --shard 2/4 --seed 7 -o shard2.jsonl
  nullsweep sweep 198.51.100.0/24 --shard 2/4 --seed 7 --resume shard2.jsonl`,
		// Flags are parsed here, after "-iL" is rewritten (see nmapInputList).
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmd.Flags().Parse(nmapInputList(args)); err != nil {
				if errors.Is(err, pflag.ErrHelp) {
					return cmd.Help()
				}
				if strings.Contains(err.Error(), "--json") {
					// The other verbs' flag: sweep writes JSON always.
					err = fmt.Errorf("%w (sweep always writes JSON Lines: to standard output, or to -o FILE)", err)
				}
				return usageErr(err)
			}
			if h, _ := cmd.Flags().GetBool("help"); h {
				return cmd.Help()
			}
			return runSweep(cmd, f, cmd.Flags().Args())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.inputList, "iL", "", "read targets from FILE ('-' for standard input), one or more a line")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "targets to leave out (same syntax, comma separated)")
	fl.StringVar(&f.excludeFile, "exclude-file", "", "read targets to leave out from FILE")
	fl.Uint64Var(&f.maxTargets, "max-targets", sweep.DefaultMaxTargets, "refuse a sweep of more targets than this")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the target order (the same seed gives the same order and plan)")
	fl.StringVar(&f.shard, "shard", "1/1", "take part i of n of the plan (1 <= i <= n)")
	fl.DurationVar(&f.connectTimeout, "connect-timeout", time.Second, "bound for each TCP connect of phase 1")
	fl.IntVar(&f.port, "port", 0, "SMB port: 445 or 139 only (default 445, or 139 when 445 refuses)")
	fl.Float64Var(&f.rate, "rate", 2000, "phase-1 connects a second over the whole sweep (0: no limit)")
	fl.IntVarP(&f.concurrency, "concurrency", "c", 16, "hosts examined at once in phase 2")
	fl.DurationVar(&f.hostTimeout, "host-timeout", 30*time.Second, "bound for each host's examination in phase 2")
	for _, l := range []struct {
		r    rune
		help string
	}{
		{'U', "users"}, {'M', "machines and the browse list"}, {'S', "shares"}, {'P', "password and lockout policy"},
		{'G', "groups and members"}, {'L', "LSA: domain, SID, trusts"}, {'N', "NetBIOS names (UDP 137)"},
		{'R', "RID cycling (SID to name); not in the default"}, {'A', "all checks but RID cycling (default)"}, {'d', "detailed: per-user information"},
	} {
		b := new(bool)
		f.letters[l.r] = b
		fl.BoolVarP(b, "check-"+string(l.r), string(l.r), false, l.help)
	}
	fl.BoolVar(&f.noGuest, "no-guest", false, "skip the guest probe")
	fl.BoolVar(&f.smb1, "smb1", false, "force SMB1 (NT LM 0.12) for the session and checks")
	fl.StringSliceVar(&f.shares, "shares", nil, "share names to tree-connect anonymously besides the listed ones")
	fl.BoolVar(&f.noProbe, "no-share-probe", false, "skip audit's own share and control probes")
	fl.StringVar(&f.failOn, "fail-on", "low", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical")
	fl.BoolVar(&f.onlyOpen, "only-open", false, "write no record for closed and filtered targets (the summary still counts them)")
	fl.StringVarP(&f.output, "output", "o", "", "write the records to FILE instead of standard output")
	fl.StringVar(&f.resume, "resume", "", "continue the interrupted sweep whose records are in FILE, appending to it")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "debug logs on stderr")
	f.creds.register(fl)
	fl.IntVar(&f.maxAuthFail, "max-auth-failures", 3, "with --user: after this many hosts refuse the credential, stop using it on every host (at least 1)")
	f.hist.add(fl)
	return cmd
}

func (f *sweepFlags) checks() enum.Checks {
	var c enum.Checks
	for r, bit := range map[rune]enum.Checks{'U': enum.CheckUsers, 'M': enum.CheckMachines, 'S': enum.CheckShares,
		'P': enum.CheckPolicy, 'G': enum.CheckGroups, 'L': enum.CheckLSA, 'N': enum.CheckNetBIOS, 'R': enum.CheckRIDs, 'A': sweep.DefaultChecks} {
		if *f.letters[r] {
			c |= bit
		}
	}
	if c == enum.CheckRIDs {
		c |= sweep.DefaultChecks // -R alone adds RID cycling to the default
	}
	if c == 0 {
		c = sweep.DefaultChecks
	}
	if *f.letters['d'] {
		c |= enum.CheckDetailed
	}
	return c
}

func parseShard(s string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.ParseUint(a, 10, 64)
	n, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 1 <= i <= n, e.g. 2/4", s)
	}
	return i, n, nil
}

// readTargets parses arguments and list files; a malformed target names
// its line and column, before any packet is sent.
func (f *sweepFlags) plan(args []string, stdin io.Reader) (*sweep.Plan, error) {
	var tp, ep sweep.Parser
	if err := tp.ParseArgs("argument", args); err != nil {
		return nil, err
	}
	if f.inputList != "" {
		if err := parseFile(&tp, f.inputList, stdin); err != nil {
			return nil, err
		}
	}
	if err := ep.ParseArgs("--exclude", f.exclude); err != nil {
		return nil, err
	}
	if f.excludeFile != "" {
		if err := parseFile(&ep, f.excludeFile, stdin); err != nil {
			return nil, err
		}
	}
	targets := tp.Set()
	if n, _ := targets.Count(); n == 0 {
		return nil, errors.New("no targets: give addresses, names, CIDR blocks or ranges, or -iL FILE")
	}
	i, n, err := parseShard(f.shard)
	if err != nil {
		return nil, err
	}
	return sweep.NewPlan(targets, ep.Set(), f.seed, i, n, f.maxTargets)
}

func parseFile(p *sweep.Parser, name string, stdin io.Reader) error {
	if name == "-" {
		return p.ParseFile("standard input", stdin)
	}
	fh, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	defer fh.Close()
	return p.ParseFile(name, fh)
}

func runSweep(cmd *cobra.Command, f *sweepFlags, args []string) error {
	threshold, err := audit.ParseSeverity(f.failOn)
	if err != nil {
		return usageErr(err)
	}
	if f.maxAuthFail < 1 {
		return usageErr(fmt.Errorf("--max-auth-failures must be at least 1, not %d", f.maxAuthFail))
	}
	creds, err := f.creds.credentials(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	switch {
	case f.port != 0 && f.port != 445 && f.port != 139:
		return usageErr(fmt.Errorf("--port must be 445 or 139, not %d", f.port))
	case f.connectTimeout <= 0:
		return usageErr(errors.New("--connect-timeout must be positive"))
	case f.hostTimeout <= 0:
		return usageErr(errors.New("--host-timeout must be positive"))
	case f.concurrency < 1 || f.concurrency > 4096:
		return usageErr(errors.New("--concurrency must be 1..4096"))
	case f.rate < 0 || math.IsNaN(f.rate) || math.IsInf(f.rate, 0):
		return usageErr(errors.New("--rate must be 0 (no limit) or a positive number"))
	case f.inputList == "-" && f.excludeFile == "-":
		return usageErr(errors.New("-iL and --exclude-file cannot both read standard input"))
	case f.resume != "" && f.output != "" && f.output != f.resume:
		return usageErr(errors.New("--resume appends to its own FILE: leave out -o, or give the same file"))
	}
	if err := f.hist.validate(); err != nil {
		return usageErr(err)
	}
	plan, err := f.plan(args, cmd.InOrStdin())
	if err != nil {
		return usageErr(err)
	}
	log := slog.New(slog.DiscardHandler)
	if f.verbose {
		log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	// Where the records go, and what a resume already holds.
	out := cmd.OutOrStdout()
	started := time.Now().UTC()
	runID := newRunID(started)
	var done *sweep.Bitmap
	sum := sweep.NewSummary(sweep.Header{})
	switch {
	case f.resume != "":
		fh, err := os.OpenFile(f.resume, os.O_RDWR, 0)
		if err != nil {
			return usageErr(fmt.Errorf("--resume: %w", err))
		}
		defer fh.Close()
		prev, err := sweep.LoadResume(fh, f.resume, plan)
		if err != nil {
			return usageErr(err)
		}
		if err := sweep.CutForAppend(fh, prev.Offset); err != nil {
			return usageErr(err)
		}
		done, sum = prev.Done, prev.Summary
		if prev.RunID != "" {
			runID = prev.RunID
		}
		if !prev.Started.IsZero() {
			started = prev.Started
		}
		out = fh
	case f.output != "":
		fh, err := os.Create(f.output)
		if err != nil {
			return usageErr(fmt.Errorf("-o: %w", err))
		}
		defer fh.Close()
		out = fh
	}
	sum.Header = sweep.Header{Schema: sweep.Schema, Kind: sweep.KindSummary, RunID: runID, PlanID: plan.ID, Shard: plan.ShardName()}
	sum.Targets = plan.Len()
	sum.Started = started
	sum.Args = os.Args[min(2, len(os.Args)):]
	w := sweep.NewWriter(out, sum)
	w.OnlyOpen = f.onlyOpen

	ctx, in, stop := withSignals(cmd.Context())
	defer stop()

	f.hist.begin(ctx, store.RunInfo{RunID: runID, Kind: store.KindSweep, Plan: plan.ID, Shard: plan.ShardName(), Args: sum.Args, Started: started},
		f.resume != "", cmd.ErrOrStderr())

	fdLimit, err := sweep.RaiseFileLimit()
	if err != nil {
		log.Warn("sweep: file descriptor limit", "err", err)
	}
	opt := sweep.Options{
		ConnectTimeout: f.connectTimeout,
		Rate:           f.rate,
		Connects:       connects(f.rate, f.connectTimeout, fdLimit, f.concurrency),
		Concurrency:    f.concurrency,
		Port:           f.port,
		Done:           done,
		Logger:         log,
		Examine: sweep.ExamineOptions{Checks: f.checks(), HostTimeout: f.hostTimeout, NoGuest: f.noGuest, SMB1: f.smb1,
			Shares: f.shares, NoShareProbe: f.noProbe, Credentials: creds, Auth: sweep.NewAuthBudget(f.maxAuthFail)},
	}
	log.Debug("sweep: plan", "plan", plan.ID, "shard", plan.ShardName(), "targets", plan.Len(), "connects", opt.Connects, "fd_limit", fdLimit)

	stderr := cmd.ErrOrStderr()
	tty := isTerminal(stderr)
	color := tty && os.Getenv("NO_COLOR") == ""
	prog := &sweep.Progress{}
	var disp *sweep.Display
	if tty {
		disp = sweep.StartDisplay(stderr, plan.Len(), sum.Done, prog)
	}
	var rows []sweep.HostFindings
	failed := false
	// Counts of the earlier part of a resumed run count too.
	for sev, n := range sum.Findings {
		if n > 0 && sev >= threshold {
			failed = true
		}
	}
	wctx, cancelOnWriteErr := context.WithCancel(ctx)
	defer cancelOnWriteErr()
	complete := sweep.Run(wctx, plan, opt, prog, func(r *sweep.Record) {
		r.RunID = runID
		w.Host(r)
		f.hist.rec.add(store.FromRecord(r))
		if w.Err() != nil {
			cancelOnWriteErr()
		}
		if h, ok := sweep.Findings(r); ok {
			if tty {
				rows = append(rows, h)
			}
			if r.Audit.AtLeast(threshold) > 0 {
				failed = true
			}
		}
	})
	if disp != nil {
		disp.Stop()
	}
	if err := w.Close(complete, started); err != nil {
		return runErr(err)
	}
	if tty {
		s := w.Summary
		fmt.Fprintf(stderr, "%s targets: %d open, %d closed, %d filtered, %d error; %d hosts with findings; %s\n",
			strconv.FormatUint(s.Done, 10), s.Counts[sweep.StatusOpen], s.Counts[sweep.StatusClosed], s.Counts[sweep.StatusFiltered],
			s.Counts[sweep.StatusError], s.HostsWithFindings, time.Duration(s.ElapsedMS)*time.Millisecond)
		sweep.WriteTable(stderr, rows, 20, color)
	}
	file, histOut := f.output, cmd.ErrOrStderr()
	if f.resume != "" {
		file = f.resume
	}
	if file != "" {
		histOut = cmd.OutOrStdout()
	}
	histErr := f.hist.end(context.WithoutCancel(ctx), w.Summary.Complete, file, histOut, stderr)
	switch {
	case !w.Summary.Complete:
		msg := fmt.Sprintf("%d of %d targets done", w.Summary.Done, w.Summary.Targets)
		if f.output != "" || f.resume != "" {
			name := f.output
			if f.resume != "" {
				name = f.resume
			}
			msg += fmt.Sprintf("; continue with the same arguments and --resume %s", name)
		}
		if err := in.Err(msg); err != nil {
			return err
		}
		return runErr(errors.New("sweep incomplete: " + msg))
	case w.Summary.Counts[sweep.StatusError] > 0:
		return runErr(fmt.Errorf("%d of %d targets not examined (status error in their records)", w.Summary.Counts[sweep.StatusError], w.Summary.Targets))
	case histErr != nil:
		return runErr(histErr)
	case failed:
		return findingsErr()
	}
	return nil
}

// connects caps the connects in flight: enough for the rate with every
// connect waiting its full timeout, within the descriptors left after
// phase 2's hosts (each holds a handful of connections). Without a rate,
// 256: more only contend (measured on loopback: 2,048 in flight sweep a
// /16 slower than 128, with 2.5 times the memory).
func connects(rate float64, timeout time.Duration, fdLimit uint64, concurrency int) int {
	want := 256.0
	if rate > 0 {
		want = math.Ceil(rate*timeout.Seconds()) + max(1, rate/10)
	}
	avail := int64(fdLimit) - 64 - int64(concurrency)*16
	n := int64(min(want, 16384))
	n = min(n, avail)
	return int(max(n, 1))
}

func newRunID(t time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return t.Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
