package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// Exit statuses: one rule for every verb (README, "Exit status").
const (
	// exitExamined: every host was examined, whatever it exposed.
	exitExamined = 0
	// exitFindings: findings at or above --fail-on (verbs that have it).
	exitFindings = 1
	// exitIncomplete: a host was not (fully) examined, a usage error, a
	// run error, or an interrupt. An incomplete examination must never
	// look like a clean host.
	exitIncomplete = 2
)

// exitError carries a process exit status through cobra. usage marks a
// mistake in the command line: main then points to --help.
type exitError struct {
	code  int
	err   error
	usage bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks a usage error (exit 2, with a pointer to --help).
func usageErr(err error) error { return &exitError{code: exitIncomplete, err: err, usage: true} }

// runErr marks a run error: the work could not be done (exit 2).
func runErr(err error) error { return &exitError{code: exitIncomplete, err: err} }

// findingsErr is exit 1 without a message: the report already says why.
func findingsErr() error { return &exitError{code: exitFindings} }

// exitStatus turns what a command returned into the process exit status and
// the line for stderr ("" for none).
func exitStatus(cmdPath string, err error) (int, string) {
	if err == nil {
		return exitExamined, ""
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		// cobra's own errors (an unknown command, wrong arguments) are
		// usage errors; anything else a verb returned is a run error.
		m := err.Error()
		usage := strings.HasPrefix(m, "unknown ") || strings.Contains(m, " arg(s)")
		ee = &exitError{code: exitIncomplete, err: err, usage: usage}
	}
	msg := ee.Error()
	if msg != "" {
		msg = "nullsweep: " + msg
		if ee.usage {
			msg += fmt.Sprintf("\nRun '%s --help' for usage.", cmdPath)
		}
	}
	return ee.code, msg
}

// hostExamined says whether a host's result answers the question asked: a
// denied null session or a port that refused the connection is an answer
// (the host was examined); a deadline, an interrupt, a dropped connection
// or a probe that failed is not, and the reason says so.
func hostExamined(r *enum.Result) (bool, string) {
	null := r.Sessions[enum.SessionNull]
	if enum.Answered(r.Layer, r.Error, null != nil && null.Result == enum.Denied) {
		return true, ""
	}
	return false, fmt.Sprintf("%s: not examined: stopped at %s: %s", r.Target, r.Layer, r.Error)
}

// timeoutHint is appended to a host's error when its --timeout ran out.
func timeoutHint(took, limit time.Duration) string {
	if took < limit {
		return ""
	}
	return fmt.Sprintf(" (the host's --timeout of %s ran out; raise it, e.g. --timeout %s)", limit, max(3*limit, 30*time.Second))
}

// interrupt is the shared SIGINT/SIGTERM handling of the verbs that talk to
// hosts (enum, audit, sweep): the first signal cancels the context so that
// every host stops and the verb prints what was learned, marked
// incomplete; a second one ends the process at once.
type interrupt struct {
	mu  sync.Mutex
	sig os.Signal
}

// repeatWindow is how soon after the first a signal counts as the same
// interrupt: timeout(1) and some job runners signal both the process and
// its process group, so one interrupt arrives twice within microseconds;
// a person pressing Ctrl-C again takes far longer.
const repeatWindow = 300 * time.Millisecond

// withSignals returns ctx cancelled on SIGINT or SIGTERM, the interrupt
// that records which signal came, and stop to release the handler.
func withSignals(parent context.Context) (ctx context.Context, in *interrupt, stop func()) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(parent)
	in = &interrupt{}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			in.mu.Lock()
			in.sig = s
			in.mu.Unlock()
			cancel(fmt.Errorf("interrupted (%s)", sigName(s)))
		case <-done:
			return
		}
		first := time.Now()
		for {
			select {
			case s := <-ch:
				if time.Since(first) < repeatWindow {
					continue // the same interrupt, delivered twice
				}
				fmt.Fprintf(os.Stderr, "nullsweep: %s again: exiting at once\n", sigName(s))
				os.Exit(exitIncomplete)
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel(nil)
		})
	}
	return ctx, in, stop
}

// Signal is the signal that arrived, or nil.
func (in *interrupt) Signal() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sig
}

// Err is the interrupt as an error for the exit status, or nil.
func (in *interrupt) Err(what string) error {
	s := in.Signal()
	if s == nil {
		return nil
	}
	return runErr(fmt.Errorf("interrupted (%s): %s; the output is incomplete", sigName(s), what))
}

func sigName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
