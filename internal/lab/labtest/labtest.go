// Package labtest gives live tests their Samba servers:
//
//	addrs := labtest.Require(t, "open", "dc")
//	conn := dial(addrs["open"]) // "127.0.0.2"
//
// Servers are started once and left running for the next test run; stop
// them with `nullsweep lab down`.
package labtest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab"
)

// startTimeout bounds a cold start: the DC provisions its template once
// (6-11 s here, longer on a slow CI box) and then needs a few seconds more.
const startTimeout = 5 * time.Minute

// Require makes sure the named postures are up and returns posture → address.
// Once per test run, shared by all test packages (go test runs packages in parallel
// processes): guard with an flock on a lock file in the lab dir; a posture whose
// server already answers (TCP 445; for dc also 389) is reused, never started twice.
// Samba absent (no smbd binary): t.Skip with a clear message, but t.Fatal when CI=true.
func Require(t testing.TB, postures ...string) map[string]string {
	t.Helper()
	if os.Getenv(NoLabEnv) == "1" {
		skipOrFatal(t, "")
	}
	out := make(map[string]string, len(postures))
	ctx := context.Background()
	var missing []string
	for _, name := range postures {
		p, err := lab.Lookup(name)
		if err != nil {
			t.Fatalf("labtest: %v", err)
		}
		out[name] = p.Addr
		if !lab.Answers(ctx, p) {
			missing = append(missing, name)
		}
	}
	if !lab.SambaInstalled() {
		if len(missing) == 0 {
			return out // served from elsewhere
		}
		skipOrFatal(t, "labtest: Samba (smbd) is not installed, cannot start lab postures %v; run scripts/setup.sh", missing)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	// Always through Up, even when every address answers: Up holds a
	// posture's lock (LABDIR/POSTURE.lock) while it starts that server, so
	// a test in another package cannot slip in between "port open" and
	// "null session works" (the DC opens 445 and 389 seconds before it can
	// serve one).
	l := lab.New(lab.DefaultDir())
	if err := l.Up(ctx, postures...); err != nil {
		if errors.Is(err, lab.ErrNotRoot) {
			skipOrFatal(t, "labtest: cannot start lab postures %v: %v", missing, err)
		}
		t.Fatalf("labtest: start %v: %v (logs under %s)", missing, err, l.Dir)
	}
	return out
}

// NoLabEnv, set to 1, skips every live test even under CI=true: the
// 32-bit run of the decoder tests under qemu-user (scripts/test.sh) wants
// the decoders, not a lab started from an emulated process.
const NoLabEnv = "NULLSWEEP_NO_LAB"

// OracleMissing ends a live test whose oracle (rpcclient, smbclient,
// impacket, ldapsearch) is not installed or cannot run: a skip on a
// developer's machine, a failure under CI=true, where scripts/setup.sh
// installs every oracle and a comparison that did not happen proves nothing.
func OracleMissing(t testing.TB, format string, args ...any) {
	t.Helper()
	skipOrFatal(t, format, args...)
}

func skipOrFatal(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(NoLabEnv) == "1" {
		t.Skipf("labtest: %s=1: live tests are not run", NoLabEnv)
	}
	if v, err := strconv.ParseBool(os.Getenv("CI")); err == nil && v {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// RequireCustom starts a posture made by lab.Custom for this test alone and
// stops it when the test ends; it returns the posture's address. Skips
// without Samba, as Require does (a failure under CI=true).
func RequireCustom(t testing.TB, p lab.Posture) string {
	t.Helper()
	if os.Getenv(NoLabEnv) == "1" {
		skipOrFatal(t, "")
	}
	if !lab.SambaInstalled() {
		skipOrFatal(t, "labtest: Samba (smbd) is not installed, cannot start posture %s; run scripts/setup.sh", p.Name)
	}
	if os.Geteuid() != 0 {
		skipOrFatal(t, "labtest: cannot start posture %s: %v", p.Name, lab.ErrNotRoot)
	}
	l := lab.New(lab.DefaultDir())
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// A server left by an interrupted earlier run of the test has the old
	// configuration: stop it first.
	if err := l.DownPosture(ctx, p); err != nil {
		t.Fatalf("labtest: stop stale %s: %v", p.Name, err)
	}
	if err := l.UpPosture(ctx, p); err != nil {
		t.Fatalf("labtest: start %s: %v (logs under %s)", p.Name, err, l.Dir)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.DownPosture(ctx, p); err != nil {
			t.Errorf("labtest: stop %s: %v", p.Name, err)
		}
	})
	return p.Addr
}
