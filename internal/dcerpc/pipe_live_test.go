package dcerpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/dcerpc/dcerpctest"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// TestLiveSMBPipe runs the client over a real SMB2 named pipe (null
// session, IPC$, \PIPE\lsarpc) on the open server and the DC: bind, a
// fault for an opnum LSA lacks, a refused alter context, and a call that
// still works afterwards. Multi-fragment traffic over the pipe is covered
// by lsa.TestLiveLookupSidsBulk.
func TestLiveSMBPipe(t *testing.T) {
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
