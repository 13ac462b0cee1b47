//go:build !linux

package lab

import (
	"errors"
	"syscall"
)

// The lab needs Linux (Samba, /proc, namespaces); elsewhere nullsweep still
// builds and `lab` says so.
var errNotLinux = errors.New("lab: runs on Linux only")

func daemonAttr(bool) *syscall.SysProcAttr { return nil }

func lockFD(uintptr) error { return errNotLinux }

func terminate(int) {}

func kill(int) {}
