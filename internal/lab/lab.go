package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lab is a lab directory: one subdirectory per posture, holding its config,
// state, logs and the pid files of the daemons we started.
type Lab struct {
	Dir string
}

// New returns the lab rooted at dir (see DefaultDir).
func New(dir string) *Lab { return &Lab{Dir: dir} }

// lock takes an exclusive flock on Dir/lab.lock, shared with every other
// process (test binaries run in parallel, and `nullsweep lab` alongside).
func (l *Lab) lock(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, "lab.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab: lock: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lab: lock: %w", err)
		}
	case <-ctx.Done():
		// Closing the file drops the lock if the goroutine gets it later.
		go func() { <-done; f.Close() }()
		return nil, fmt.Errorf("lab: waiting for lock: %w", ctx.Err())
	}
	return func() { f.Close() }, nil
}

// Up starts the named postures (DefaultNames when none), skipping any whose
// server already answers, and returns once each is ready.
func (l *Lab) Up(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		names = DefaultNames()
	}
	ps := make([]Posture, 0, len(names))
	for _, n := range names {
		p, err := Lookup(n)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	unlock, err := l.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for _, p := range ps {
		if Answers(ctx, p) {
			continue // ours from an earlier run, or someone else's: reuse
		}
		if err := l.start(ctx, p); err != nil {
			return fmt.Errorf("lab: %s: %w", p.Name, err)
		}
	}
	return nil
}
