package dcerpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/dcerpc/dcerpctest"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// TestLiveSMBPipe runs the client over a real SMB2 named pipe (null
// session, IPC$, \PIPE\lsarpc) on the open server and the DC: bind, a
// fault for an opnum LSA lacks, a refused alter context, and a call that
// still works afterwards. Multi-fragment traffic over the pipe is covered
// by lsa.TestLiveLookupSidsBulk.
func TestLiveSMBPipe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	addrs := labtest.Require(t, "open", "dc")
	for _, posture := range []string{"open", "dc"} {
		t.Run(posture, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := dcerpctest.Pipe(t, addrs[posture], "lsarpc", dcerpc.LSARPC)
			if c.SecAddr == "" {
				t.Errorf("no sec_addr in bind_ack")
			}
			_, err := c.Call(ctx, 200, nil)
			var f *dcerpc.Fault
			if !errors.As(err, &f) || f.Status != dcerpc.FaultOpRngError {
				t.Fatalf("opnum 200: %v", err)
			}
			bogus := dcerpc.SyntaxID{UUID: dcerpc.MustParseUUID("01234567-89ab-cdef-0123-456789abcdef"), Major: 1}
			var rej *dcerpc.ContextRejectedError
			if err := c.AlterContext(ctx, bogus); !errors.As(err, &rej) {
				t.Fatalf("alter context to a bogus interface: %v", err)
			}
			// LsarClose on a zero handle: the server answers (with an
			// error status in the stub), so the association still works.
			// Samba standalone faults it (context mismatch), Samba AD answers.
			out, err := c.Call(ctx, 0, make([]byte, 20))
			if err != nil && (!errors.As(err, &f) || f.Status != dcerpc.FaultContextMismatch) {
				t.Fatalf("call after refused alter context: %v", err)
			}
			if err == nil && len(out) != 24 {
				t.Fatalf("close reply %x", out)
			}
		})
	}
}

// TestLiveOpenPipeErrors: a pipe the server lacks fails at "open" with its
// NTSTATUS; an interface the pipe does not serve fails at "bind".
func TestLiveOpenPipeErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: live lab test")
	}
	addrs := labtest.Require(t, "open")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := smb.Dial(ctx, addrs["open"], smb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sess, _, err := conn.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := sess.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatal(err)
	}
	var pe *dcerpc.PipeError
	// The lab notes netlogon is absent on standalone servers.
	_, _, err = dcerpc.OpenPipe(ctx, tree, "netlogon", dcerpc.NETLOGON)
	if !errors.As(err, &pe) || pe.Step != "open" || !errors.Is(err, ntstatus.ObjectNameNotFound) {
		t.Fatalf("netlogon: %v", err)
	}
	_, _, err = dcerpc.OpenPipe(ctx, tree, "srvsvc", dcerpc.SAMR)
	if !errors.As(err, &pe) || pe.Step != "bind" || !errors.Is(err, dcerpc.ErrBindRefused) {
		t.Fatalf("samr on srvsvc: %v", err)
	}
	c, p, err := dcerpc.OpenPipe(ctx, tree, "srvsvc", dcerpc.SRVSVC)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if c.Abstract() != dcerpc.SRVSVC {
		t.Fatalf("bound to %s", c.Abstract())
	}
}
