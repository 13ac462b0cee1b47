package sweep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// DialFunc opens a TCP connection; tests replace it.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// probe is the phase-1 outcome for one target.
type probe struct {
	status  Status
	port    int
	address string // resolved, for names
	layer   enum.Layer
	err     string
	// interrupted: the sweep was cancelled before an answer; no record.
	interrupted bool
}

// portState is one connect's answer.
type portState int

const (
	portOpen portState = iota
	portClosed
	portFiltered // no answer within the timeout, or ICMP unreachable
	portError    // the connect failed on our side (e.g. out of descriptors)
	portCancelled
)

func (s portState) String() string {
	return [...]string{"open", "closed", "filtered", "error", "cancelled"}[s]
}

// connect tries one port with its own timeout. A timeout is "filtered"
// (no answer), never "closed": only a refusal (RST) is closed.
// A nil dial takes rawConnect.
func connect(ctx context.Context, dial DialFunc, addr netip.Addr, port int, timeout time.Duration) (portState, error) {
	if dial == nil {
		return rawConnect(ctx, addr, port, timeout)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(cctx, "tcp", net.JoinHostPort(addr.String(), strconv.Itoa(port)))
	if err == nil {
		c.Close()
		return portOpen, nil
	}
	switch {
	case ctx.Err() != nil:
		return portCancelled, ctx.Err()
	case errors.Is(err, syscall.ECONNREFUSED):
		return portClosed, err
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return portFiltered, err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return portFiltered, err
	}
	return portError, err
}

// isTimeout: the connect's own deadline ran out (the dialer reports it as
// an i/o timeout or as the context's error).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// scanner is phase 1's configuration.
type scanner struct {
	dial     DialFunc
	resolver *net.Resolver
	timeout  time.Duration
	// port is 445 or 139 to connect to that port only; 0 is 445, then 139
	// when 445 refused.
	port int
	// limit is taken once per connect: the 139 connect after a refused 445
	// counts against --rate like any other.
	limit *bucket
}

// scan is phase 1 for one target: resolve a name, connect to 445, and to
// 139 when 445 refused. The caller took the first connect's token.
func (sc *scanner) scan(ctx context.Context, t Target) probe {
	dial, resolver, timeout := sc.dial, sc.resolver, sc.timeout
	addr := t.Addr
	var p probe
	if t.Name != "" {
		rctx, cancel := context.WithTimeout(ctx, max(timeout, 5*time.Second))
		addrs, err := resolver.LookupNetIP(rctx, "ip", t.Name)
		cancel()
		if ctx.Err() != nil {
			return probe{interrupted: true}
		}
		if err != nil || len(addrs) == 0 {
			if err == nil {
				err = errors.New("no addresses")
			}
			return probe{status: StatusError, layer: enum.LayerResolve, err: fmt.Sprintf("resolve %s: %v", t.Name, err)}
		}
		// The first address, as a dialer would take it; enum resolves
		// the name again for phase 2.
		addr = addrs[0].Unmap()
		p.address = addr.String()
	}
	if sc.port == 139 {
		s139, err139 := connect(ctx, dial, addr, 139, timeout)
		return p.after(s139, err139, 139, "", timeout)
	}
	s445, err445 := connect(ctx, dial, addr, 445, timeout)
	if sc.port == 445 || s445 != portClosed {
		return p.after(s445, err445, 445, "", timeout)
	}
	if sc.limit.wait(ctx) != nil {
		return probe{interrupted: true}
	}
	s139, err139 := connect(ctx, dial, addr, 139, timeout)
	return p.after(s139, err139, 139, "tcp/445 closed, ", timeout)
}

// after is phase 1's answer once port's connect ended in s: open, closed
// (refused), filtered (no answer within timeout: a state, never an error)
// or an error, each with the layer and the text said; interrupted for a
// cancel. before is what the ports tried first said.
func (p probe) after(s portState, err error, port int, before string, timeout time.Duration) probe {
	name := "tcp/" + strconv.Itoa(port)
	switch s {
	case portOpen:
		p.status, p.port = StatusOpen, port
	case portCancelled:
		return probe{interrupted: true}
	case portClosed:
		p.status = StatusClosed
	case portFiltered:
		p.status, p.layer, p.err = StatusFiltered, enum.LayerReachability, fmt.Sprintf("%s%s no answer within %v", before, name, timeout)
		if !isTimeout(err) {
			p.err = before + name + ": " + err.Error()
		}
	default:
		p.status, p.layer, p.err = StatusError, enum.LayerReachability, before+name+": "+err.Error()
	}
	return p
}
