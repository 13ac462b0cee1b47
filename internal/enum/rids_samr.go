package enum

import (
	"context"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
)

// RID cycling over SAMR LookupIdsInDomain.

// samrLane translates with SamrLookupIdsInDomain on its own binding: one
// server handle, each domain opened once with DOMAIN_LOOKUP only.
type samrLane struct {
	g       *gatedPipe
	c       *samr.Client
	server  *samr.Handle
	domains map[string]samr.Handle
	fails   map[string]error
}

func (c *cycler) openSAMRLane(ctx context.Context, i int) (*samrLane, error) {
	g, rpc, err := c.openPipe(ctx, "samr", dcerpc.SAMR, i)
	if err != nil {
		return nil, err
	}
	cl := samr.New(rpc)
	cl.OnCall = c.recordSAMR
	return &samrLane{g: g, c: cl, domains: map[string]samr.Handle{}, fails: map[string]error{}}, nil
}

func (l *samrLane) gate() *gatedPipe { return l.g }

func (l *samrLane) close(ctx context.Context) {
	if l.g == nil {
		return
	}
	for _, h := range l.domains {
		_ = l.c.Close(ctx, h)
	}
	if l.server != nil {
		_ = l.c.Close(ctx, *l.server)
	}
	_ = l.g.Close(ctx)
	l.g = nil
}

// domain returns the lane's handle on d, connecting on first use.
func (l *samrLane) domain(ctx context.Context, d *cycleDomain) (samr.Handle, error) {
	key := d.sid.String()
	if h, ok := l.domains[key]; ok {
		return h, nil
	}
	if err, ok := l.fails[key]; ok {
		return samr.Handle{}, err
	}
	if l.server == nil {
		h, _, err := l.c.Connect(ctx, samr.ServerConnect|samr.ServerLookupDomain)
		if err != nil {
			l.fails[key] = err
			return samr.Handle{}, err
		}
		l.server = &h
	}
	h, err := l.c.OpenDomain(ctx, *l.server, samr.DomainLookup, d.sid)
	if err != nil {
		l.fails[key] = err
		return samr.Handle{}, err
	}
	l.domains[key] = h
	return h, nil
}

func (l *samrLane) lookup(ctx context.Context, c *cycler, j *ridJob) ([]RID, error) {
	h, err := l.domain(ctx, j.dom)
	if err != nil {
		return nil, err
	}
	return l.lookupIDs(ctx, c, h, j.dom, j.rids, 0)
}

func (l *samrLane) lookupIDs(ctx context.Context, c *cycler, h samr.Handle, d *cycleDomain, rids []uint32, depth int) ([]RID, error) {
	res, err := l.c.LookupIDs(ctx, h, rids)
	if err != nil && len(rids) > 1 && depth < maxShrink && shrinkable(err) {
		half := (len(rids) + 1) / 2
		c.shrink(half)
		a, err := l.lookupIDs(ctx, c, h, d, rids[:half], depth+1)
		if err != nil {
			return a, err
		}
		b, err := l.lookupIDs(ctx, c, h, d, rids[half:], depth+1)
		return append(a, b...), err
	}
	if err != nil {
		return nil, err
	}
	var out []RID
	for _, x := range res {
		if x.Use == samr.UseUnknown || x.Use == samr.UseInvalid || x.Use == 0 {
			continue
		}
		out = append(out, RID{RID: x.RID, SID: d.sid.Append(x.RID).String(), Name: x.Name, Domain: d.name,
			Type: ridType(x.Use.String(), x.Name)})
	}
	return out, nil
}
