//go:build linux

package sweep

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// rawConnect is phase 1's connect without the net package's per-connection
// machinery: a non-blocking socket, connect, and SO_ERROR. A refusal that
// is already known when connect returns (a RST from a near host, every
// closed loopback address) costs four system calls and no poller
// registration; anything else waits on the runtime's poller through an
// os.File, bounded by timeout and ctx.
func rawConnect(ctx context.Context, addr netip.Addr, port int, timeout time.Duration) (portState, error) {
	var sa syscall.Sockaddr
	family := syscall.AF_INET
	if addr.Is4() {
		sa = &syscall.SockaddrInet4{Port: port, Addr: addr.As4()}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: port, Addr: addr.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return portError, os.NewSyscallError("socket", err)
	}
	err = syscall.Connect(fd, sa)
	if err == nil {
		syscall.Close(fd)
		return portOpen, nil
	}
	if err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return errnoState(err)
	}
	if v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR); err == nil && v != 0 {
		syscall.Close(fd)
		return errnoState(syscall.Errno(v))
	}
	f := os.NewFile(uintptr(fd), "connect")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return portError, err
	}
	if err := f.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return portError, err
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Now()) })
	defer stop()
	// As the net package decides it: an error in SO_ERROR ends the
	// connect; none, and a peer name, means connected; none and no peer
	// means still in progress (wait for writability).
	soerr := 0
	werr := rc.Write(func(fd uintptr) bool {
		v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		switch {
		case err != nil:
			soerr = int(err.(syscall.Errno))
			return true
		case v != 0:
			soerr = v
			return true
		}
		_, err = syscall.Getpeername(int(fd))
		return err == nil
	})
	switch {
	case ctx.Err() != nil:
		return portCancelled, ctx.Err()
	case errors.Is(werr, os.ErrDeadlineExceeded):
		return portFiltered, context.DeadlineExceeded
	case werr != nil:
		return portError, werr
	case soerr == 0:
		return portOpen, nil
	}
	return errnoState(syscall.Errno(soerr))
}

func errnoState(e error) (portState, error) {
	err := os.NewSyscallError("connect", e)
	switch e {
	case syscall.ECONNREFUSED:
		return portClosed, err
	case syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH:
		return portFiltered, err
	}
	return portError, err
}
