package enum

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// RID cycling lanes: a pipe per lane, and the barrier that pipelines SMB1.

// ridLane is one pipe with its own bind, translating one job at a time.
type ridLane interface {
	lookup(ctx context.Context, c *cycler, j *ridJob) ([]RID, error)
	gate() *gatedPipe
	close(ctx context.Context)
}

// openPipe opens and binds one lane's pipe, recording both steps.
func (c *cycler) openPipe(ctx context.Context, name string, iface dcerpc.SyntaxID, lane int) (*gatedPipe, *dcerpc.Client, error) {
	detail := fmt.Sprintf("rid cycling lane %d", lane)
	if c.st.tcp {
		return c.tcpLane(ctx, name, iface, detail)
	}
	if c.h.IPC == nil {
		return nil, nil, fmt.Errorf("%s: IPC$ not connected", name)
	}
	start := time.Now()
	p, err := c.h.IPC.OpenPipe(ctx, name)
	ch := openPipeCall(name).Done(time.Since(start), err)
	ch.Detail = joinWords(detail, ch.Detail)
	c.h.record(ch)
	if err != nil {
		return nil, nil, err
	}
	g := &gatedPipe{Pipe: p}
	start = time.Now()
	rpc, err := dcerpc.Bind(ctx, g, iface)
	ch = bindCall(name).Done(time.Since(start), err)
	ch.Detail = joinWords(detail, ch.Detail)
	c.h.record(ch)
	if err != nil {
		_ = p.Close(ctx)
		return nil, nil, err
	}
	return g, rpc, nil
}

// gatedPipe is the transport of one lane. When armed for a round, the
// transaction that ends a request is split: the request is written, the
// lane waits until every lane in the round has written its own, and only
// then reads the reply. A read on a named pipe holds the SMB connection
// until the server answers, so without the gate the lanes would take
// turns and the server would never work on two batches at once.
type gatedPipe struct {
	smb.Pipe
	mu sync.Mutex
	b  *barrier
}

func (g *gatedPipe) arm(b *barrier) {
	g.mu.Lock()
	g.b = b
	g.mu.Unlock()
}

// take disarms the gate and returns the barrier it held, if any.
func (g *gatedPipe) take() *barrier {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.b
	g.b = nil
	return b
}

// pass arrives at the barrier for a lane that finished without using it.
func (g *gatedPipe) pass() {
	if b := g.take(); b != nil {
		b.arrive()
	}
}

// Transact implements dcerpc.Transport.
func (g *gatedPipe) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	b := g.take()
	if b == nil {
		return g.Pipe.Transact(ctx, in, maxOut)
	}
	n, err := g.Pipe.Write(ctx, in)
	b.arrive()
	if err == nil && n != len(in) {
		err = fmt.Errorf("enum: short pipe write: %d of %d bytes", n, len(in))
	}
	if err != nil {
		return nil, err
	}
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	return g.Pipe.Read(ctx, maxOut)
}

// ReadAhead lets the lane read a reply's fragments with their reads sent
// at once where its pipe can (SMB2; dcerpc's readAhead).
func (g *gatedPipe) ReadAhead(ctx context.Context, n, max int) (smb.AheadReads, error) {
	ra, ok := g.Pipe.(smb.ReadAheader)
	if !ok {
		return nil, errors.New("enum: this lane's pipe cannot read ahead")
	}
	return ra.ReadAhead(ctx, n, max)
}

// Write implements dcerpc.Transport. A request's last fragment written
// outside Transact (reads sent ahead are waiting for its reply, dcerpc's
// send) still arrives at the round's barrier, so the other lanes do not
// wait for it until their deadline.
func (g *gatedPipe) Write(ctx context.Context, b []byte) (int, error) {
	n, err := g.Pipe.Write(ctx, b)
	if len(b) > 3 && b[3]&dcerpc.FlagLastFrag != 0 {
		g.pass()
	}
	return n, err
}

// barrier is a countdown every lane of a round arrives at once.
type barrier struct {
	mu   sync.Mutex
	left int
	done chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{left: n, done: make(chan struct{})} }

func (b *barrier) arrive() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left--; b.left == 0 {
		close(b.done)
	}
}

func (b *barrier) wait(ctx context.Context) error {
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
