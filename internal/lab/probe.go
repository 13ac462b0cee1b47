package lab

import (
	"context"
	"net"
	"os"
	"os/exec"
	"time"
)

// answers reports whether addr:port accepts a TCP connection now.
func answers(ctx context.Context, addr, port string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr, port))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Answers reports whether a server for p is listening: TCP 445, and for the
// DC also LDAP 389 (Samba AD opens 445 before its directory is ready).
func Answers(ctx context.Context, p Posture) bool {
	if !answers(ctx, p.Addr, "445") {
		return false
	}
	return !p.DC || answers(ctx, p.Addr, "389")
}

// sbinPath finds a Samba binary: on PATH, else in the Debian sbin dirs
// (a non-root PATH often lacks /usr/sbin).
func sbinPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin/", "/usr/local/sbin/", "/sbin/"} {
		if st, err := os.Stat(dir + name); err == nil && !st.IsDir() {
			return dir + name, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// SambaInstalled reports whether smbd is present on this machine.
func SambaInstalled() bool {
	_, err := sbinPath("smbd")
	return err == nil
}
