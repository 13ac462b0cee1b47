package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"time"
)

// negotiateProbe is an SMB1 NEGOTIATE offering NT LM 0.12 and SMB2: every
// posture answers it, smb1only in SMB1 and smb2only in SMB2.
var negotiateProbe = func() []byte {
	var dialects []byte
	for _, d := range []string{"NT LM 0.12", "SMB 2.002", "SMB 2.???"} {
		dialects = append(dialects, 0x02)
		dialects = append(dialects, d...)
		dialects = append(dialects, 0)
	}
	hdr := []byte{
		0xFF, 'S', 'M', 'B', 0x72, // protocol, SMB_COM_NEGOTIATE
		0, 0, 0, 0, // status
		0x18,       // flags: case insensitive, canonical paths
		0x01, 0xC8, // flags2: unicode, NT status, long names
		0, 0, // PID high
		0, 0, 0, 0, 0, 0, 0, 0, // signature
		0, 0, // reserved
		0, 0, // TID
		0xFF, 0xFE, // PID
		0, 0, // UID
		0, 0, // MID
		0, // word count
		byte(len(dialects)), byte(len(dialects) >> 8),
	}
	msg := append(hdr, dialects...)
	return append([]byte{0, 0, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}()

// smbAnswers sends the probe and checks the reply is an SMB1 or SMB2 message.
func smbAnswers(ctx context.Context, addr string) error {
	return smbAnswersAt(ctx, net.JoinHostPort(addr, "445"))
}

func smbAnswersAt(ctx context.Context, hostport string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return err
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	if _, err := c.Write(negotiateProbe); err != nil {
		return err
	}
	var h [8]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return fmt.Errorf("negotiate reply: %w", err)
	}
	if h[0] != 0 || (!bytes.Equal(h[4:], []byte("\xFFSMB")) && !bytes.Equal(h[4:], []byte("\xFESMB"))) {
		return fmt.Errorf("negotiate reply is not SMB: % x", h)
	}
	return nil
}

// waitSMB polls until addr answers SMB, the daemon dies, or timeout.
func waitSMB(ctx context.Context, addr string, dm *daemon, timeout time.Duration) error {
	return poll(ctx, dm, timeout, func(ctx context.Context) error { return smbAnswers(ctx, addr) })
}

// waitAnonList polls until `smbclient -U % -L //addr` succeeds: the first
// moment a null session really works (a DC answers NEGOTIATE well before).
func waitAnonList(ctx context.Context, addr string, dm *daemon, timeout time.Duration) error {
	return poll(ctx, dm, timeout, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := command(ctx, baseEnv(), "", "smbclient", "-U", "%", "-L", "//"+addr)
		if err != nil {
			return fmt.Errorf("smbclient -U %% -L: %w: %s", err, tail(out, 2))
		}
		return nil
	})
}

func poll(ctx context.Context, dm *daemon, timeout time.Duration, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if dm != nil {
			select {
			case <-dm.exited:
				return errors.New("daemon exited during start-up")
			default:
			}
			if !dm.rec.alive() {
				return errors.New("daemon exited during start-up")
			}
		}
		if last = probe(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %w", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// command runs argv with env and stdin, returning combined output.
func command(ctx context.Context, env []string, stdin string, argv ...string) ([]byte, error) {
	bin := argv[0]
	if p, err := sbinPath(bin); err == nil {
		bin = p
	}
	cmd := exec.CommandContext(ctx, bin, argv[1:]...)
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = bytes.NewReader([]byte(stdin))
	}
	cmd.WaitDelay = time.Second
	return cmd.CombinedOutput()
}
