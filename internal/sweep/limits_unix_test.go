//go:build unix

package sweep

import (
	"syscall"
	"testing"
)

func TestRaiseFileLimit(t *testing.T) {
	n, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	if uint64(r.Cur) != n || r.Cur != r.Max {
		t.Errorf("soft limit %d (returned %d), hard %d: want soft raised to hard", r.Cur, n, r.Max)
	}
}
