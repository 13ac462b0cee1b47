package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nullsweep/nullsweep/internal/audit"
	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// ExamineOptions are what phase 2 does with each open host; they are the
// options of `audit` so that a host's record equals its solo audit.
type ExamineOptions struct {
	// Checks select enum's checks; zero is the sweep's default, every
	// check but RID cycling (enum.CheckAll &^ enum.CheckRIDs).
	Checks enum.Checks
	RIDs   enum.RIDOptions
	// HostTimeout bounds one host, probes included.
	HostTimeout time.Duration
	// Port forces the SMB port (445 or 139), as enum's --port; 0 picks.
	Port    int
	NoGuest bool
	SMB1    bool
	// Shares are names to tree-connect besides the listed ones.
	Shares       []string
	NoShareProbe bool
	Expect       *audit.Prediction
	Logger       *slog.Logger
	// Credentials, when not zero, make each host's second look as that
	// user (audit --user); Auth counts the hosts that refused them.
	Credentials smb.Credentials
	Auth        *AuthBudget
}

// AuthBudget stops a sweep's use of a credential everywhere once max
// hosts have refused it: each refusal may be a bad password counted
// towards the account's lockout on a domain's DC. Hosts already being
// examined when the last refusal comes (at most -c - 1) still try it once.
type AuthBudget struct {
	max      int32
	failures atomic.Int32
}

// NewAuthBudget allows max refusals (at least 1).
func NewAuthBudget(n int) *AuthBudget { return &AuthBudget{max: int32(min(max(n, 1), 1<<30))} }

// Usable reports whether the credential may still be tried.
func (b *AuthBudget) Usable() bool { return b == nil || b.failures.Load() < b.max }

// Refused counts one host's refusal.
func (b *AuthBudget) Refused() {
	if b != nil {
		b.failures.Add(1)
	}
}

// DefaultChecks is -A without RID cycling: a sweep asks each host every
// question but the one that costs thousands of lookups.
const DefaultChecks = enum.CheckAll &^ enum.CheckRIDs

// examine runs enum and audit on one host whose SMB port is open and fills
// rec's status, result and audit.
func examine(ctx context.Context, target string, opt ExamineOptions, rec *Record) {
	hctx, cancel := context.WithTimeout(ctx, opt.HostTimeout)
	defer cancel()
	checks := opt.Checks
	if checks == 0 {
		checks = DefaultChecks
	}
	res := enum.Run(hctx, target, enum.Options{Timeout: opt.HostTimeout, Port: opt.Port, NoGuest: opt.NoGuest, SMB1: opt.SMB1,
		Checks: checks, RIDs: opt.RIDs, Logger: opt.Logger})
	// The share probe and the verdict as `audit` makes them, so that a
	// host's record equals its solo audit.
	rec.Result = res
	rec.Audit = audit.Examine(hctx, res, audit.ExamineOptions{Shares: opt.Shares, NoProbe: opt.NoShareProbe, SMB1: opt.SMB1,
		Port: opt.Port, Expect: opt.Expect, Logger: opt.Logger})
	if !opt.Credentials.Anonymous() && hctx.Err() == nil && res.Port != 0 {
		if !opt.Auth.Usable() {
			rec.Audit.Notes = append(rec.Audit.Notes, fmt.Sprintf("the credential of %s was not used on this host: %d hosts refused it (--max-auth-failures)", opt.Credentials.Account(), opt.Auth.max))
		} else {
			user := enum.Run(hctx, target, enum.Options{Timeout: opt.HostTimeout, Port: res.Port, SMB1: opt.SMB1,
				Checks: checks, RIDs: opt.RIDs, Logger: opt.Logger, Credentials: opt.Credentials})
			audit.CompareUser(rec.Audit, res, user)
			if audit.CredentialRefused(user) {
				opt.Auth.Refused()
			}
		}
	}
	rec.Status = StatusOpen
	switch {
	case errors.Is(hctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		// The host's bound ran out: whatever was learned stays, but the
		// host was not fully examined.
		rec.Status = StatusError
		rec.Layer = res.Layer
		if rec.Layer == "" {
			rec.Layer = lastLayer(res)
		}
		rec.Error = fmt.Sprintf("--host-timeout %v reached", opt.HostTimeout)
		if res.Error != "" {
			rec.Error += ": " + res.Error
		}
	case res.Error != "" && !deniedSession(res):
		rec.Status, rec.Layer, rec.Error = StatusError, res.Layer, res.Error
	}
}

// deniedSession: a refused null session is a verdict about the host (it
// was examined), not a failure to examine it.
func deniedSession(res *enum.Result) bool {
	s := res.Sessions[enum.SessionNull]
	return res.Layer == enum.LayerSession && s != nil && s.Result == enum.Denied
}

func lastLayer(res *enum.Result) enum.Layer {
	if len(res.Checks) > 0 {
		return res.Checks[len(res.Checks)-1].Layer
	}
	return enum.LayerReachability
}
