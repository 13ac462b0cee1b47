package lab

import "syscall"

// daemonAttr puts a daemon in its own session and, for the DC, its own
// mount namespace (Go makes / private in the child before exec).
func daemonAttr(newMountNS bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setsid: true}
	if newMountNS {
		a.Unshareflags = syscall.CLONE_NEWNS
	}
	return a
}

func lockFD(fd uintptr) error { return syscall.Flock(int(fd), syscall.LOCK_EX) }

func terminate(pid int) { syscall.Kill(pid, syscall.SIGTERM) }

func kill(pid int) { syscall.Kill(pid, syscall.SIGKILL) }
