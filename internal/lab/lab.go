package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"
)

// ErrNotRoot: starting a posture needs root (Samba binds port 445, the DC
// needs a mount namespace). Reusing servers that answer does not.
var ErrNotRoot = errors.New("needs root to start Samba (port 445, mount namespace)")

// canaryAddr is a loopback address no posture uses.
const canaryAddr = "127.0.0.254"

// Lab is a lab directory: one subdirectory per posture, holding its config,
// state, logs and the pid files of the daemons we started.
type Lab struct {
	Dir string
}

// New returns the lab rooted at dir (see DefaultDir).
func New(dir string) *Lab { return &Lab{Dir: dir} }

// lock takes an exclusive flock on Dir/POSTURE.lock, shared with every
// other process (test binaries run in parallel, and `nullsweep lab`
// alongside). One lock per posture: a test that needs open does not wait
// while another process imports bulk's 2,000 users.
func (l *Lab) lock(ctx context.Context, p Posture) (unlock func(), err error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return flock(ctx, filepath.Join(l.Dir, p.Name+".lock"))
}

// flock takes an exclusive lock on path, waiting until ctx is done.
func flock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644) // O_CLOEXEC: daemons never inherit it
	if err != nil {
		return nil, fmt.Errorf("lab: lock: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- lockFD(f.Fd()) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lab: lock: %w", err)
		}
	case <-ctx.Done():
		// Closing the file drops the lock if the goroutine gets it later.
		go func() { <-done; f.Close() }()
		return nil, fmt.Errorf("lab: waiting for lock %s: %w", path, ctx.Err())
	}
	return func() { f.Close() }, nil
}

func lookupAll(names []string, def []string) ([]Posture, error) {
	if len(names) == 0 {
		names = def
	}
	ps := make([]Posture, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		p, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			ps = append(ps, p)
		}
	}
	return ps, nil
}

func allNames() []string {
	n := make([]string, len(postures))
	for i, p := range postures {
		n[i] = p.Name
	}
	return n
}

// Up starts the named postures (DefaultNames when none) side by side and
// returns once each answers. A posture whose server already answers, ours
// from an earlier run or anyone else's, is left alone; so is one whose
// daemons we recorded and which still run.
func (l *Lab) Up(ctx context.Context, names ...string) error {
	ps, err := lookupAll(names, DefaultNames())
	if err != nil {
		return err
	}
	// A server on 0.0.0.0:445 (a distro smbd) answers on every posture's
	// address and would be taken for ours.
	if answers(ctx, canaryAddr, "445") {
		return fmt.Errorf("lab: %s:445 answers, so a server listens on all addresses (a system smbd?); stop it first", canaryAddr)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range ps {
		g.Go(func() error {
			// Held while starting, so nobody else starts it too, nor takes
			// "port open" for "ready" (the DC opens 445 and 389 seconds
			// before it serves a null session).
			unlock, err := l.lock(gctx, p)
			if err != nil {
				return err
			}
			defer unlock()
			t0 := time.Now()
			started, err := l.upOne(gctx, p)
			if err != nil {
				return fmt.Errorf("lab: %s: %w", p.Name, err)
			}
			if started {
				slog.Info("lab: posture up", "posture", p.Name, "addr", p.Addr, "took", time.Since(t0).Round(time.Millisecond))
			} else {
				slog.Debug("lab: posture already answering", "posture", p.Name, "addr", p.Addr)
			}
			return nil
		})
	}
	return g.Wait()
}

// UpPosture starts one posture, which may be a Custom one, under its lock,
// and returns once it answers.
func (l *Lab) UpPosture(ctx context.Context, p Posture) error {
	if answers(ctx, canaryAddr, "445") {
		return fmt.Errorf("lab: %s:445 answers, so a server listens on all addresses (a system smbd?); stop it first", canaryAddr)
	}
	unlock, err := l.lock(ctx, p)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := l.upOne(ctx, p); err != nil {
		return fmt.Errorf("lab: %s: %w", p.Name, err)
	}
	return nil
}

// DownPosture stops one posture, which may be a Custom one.
func (l *Lab) DownPosture(ctx context.Context, p Posture) error {
	if _, err := os.Stat(l.pdir(p)); err != nil {
		return nil
	}
	unlock, err := l.lock(ctx, p)
	if err != nil {
		return err
	}
	defer unlock()
	if err := l.downOne(p); err != nil {
		return fmt.Errorf("lab: %s: %w", p.Name, err)
	}
	return nil
}

// upOne brings p up; started says whether anything had to be started.
func (l *Lab) upOne(ctx context.Context, p Posture) (started bool, err error) {
	if Answers(ctx, p) {
		// Ours, but nmbd may have died: restart just that.
		if p.NMBD && len(l.daemons(p)) > 0 {
			if _, ok := runningDaemon(l.pdir(p), "nmbd"); !ok {
				return true, l.upStandalone(ctx, p)
			}
		}
		return false, nil
	}
	if os.Geteuid() != 0 {
		return false, ErrNotRoot
	}
	if p.DC {
		return true, l.upDC(ctx, p)
	}
	return true, l.upStandalone(ctx, p)
}

// Down stops the named postures (all when none): only processes this lab
// dir started or Samba recorded in the posture's pid dir for our config.
func (l *Lab) Down(ctx context.Context, names ...string) error {
	ps, err := lookupAll(names, allNames())
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		if _, err := os.Stat(l.pdir(p)); err != nil {
			continue // never set up here
		}
		unlock, err := l.lock(ctx, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = l.downOne(p)
		unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("lab: %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (l *Lab) downOne(p Posture) error {
	d := l.pdir(p)
	// Further passes catch a helper (samba-dcerpcd) smbd spawned on demand
	// while the first pass was stopping it.
	for range 3 {
		roots := ourProcesses(d, l.conf(p))
		if len(roots) == 0 {
			break
		}
		if err := stopProcesses(roots, 10*time.Second); err != nil {
			return err
		}
	}
	files, _ := filepath.Glob(filepath.Join(d, "pids", "*.pid"))
	for _, f := range files {
		os.Remove(f)
	}
	return nil
}

// Daemon is one running process of a posture.
type Daemon struct {
	Name string // smbd, nmbd, samba, samba-dcerpcd
	PID  int
}

// State is what Status reports for one posture.
type State struct {
	Posture
	Daemons  []Daemon // ours, running
	Answers  bool     // its address answers SMB (and LDAP for the DC)
	Provided bool     // accounts/config created in this lab dir
}

// Status says, for every posture, which of our daemons run and whether its
// address answers (it may answer from a server this lab dir did not start).
func (l *Lab) Status(ctx context.Context) []State {
	out := make([]State, len(postures))
	for i, p := range postures {
		_, err := os.Stat(filepath.Join(l.pdir(p), ".provisioned"))
		out[i] = State{Posture: p, Daemons: l.daemons(p), Answers: Answers(ctx, p), Provided: err == nil}
	}
	return out
}

// Word is the one-word state: up (ours and answering), down, starting (ours
// but not answering yet), or foreign (answering, but not started here).
func (s State) Word() string {
	switch {
	case len(s.Daemons) > 0 && s.Answers:
		return "up"
	case len(s.Daemons) > 0:
		return "starting"
	case s.Answers:
		return "foreign"
	}
	return "down"
}

func (l *Lab) daemons(p Posture) []Daemon {
	var ds []Daemon
	d := l.pdir(p)
	for _, name := range []string{"smbd", "nmbd", "samba"} {
		if r, ok := runningDaemon(d, name); ok {
			ds = append(ds, Daemon{Name: name, PID: r.PID})
		}
	}
	if len(ds) == 0 {
		return nil
	}
	if b, err := os.ReadFile(filepath.Join(d, "run", "samba-dcerpcd.pid")); err == nil {
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 && cmdlineHas(pid, l.conf(p)) {
			if r, ok := recordOf(pid); ok && r.alive() {
				ds = append(ds, Daemon{Name: "samba-dcerpcd", PID: pid})
			}
		}
	}
	return ds
}
