package enum

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// RID cycling over LSA LookupSids.

// lsaLane translates with LsarLookupSids on its own policy handle.
type lsaLane struct {
	g   *gatedPipe
	c   *lsa.Client
	pol ndr.Handle
}

// lsaLookupMasks are the policy access masks RID cycling asks for, in
// order. POLICY_LOOKUP_NAMES is the right LsarLookupSids checks
// ([MS-LSAT] 3.1.4.11), but Samba's AD DC refuses it to a null session
// while it opens the policy for POLICY_VIEW_LOCAL_INFORMATION or
// MAXIMUM_ALLOWED ([MS-LSAD] 2.2.1.1.2) and translates on that handle; the
// narrower masks come first.
var lsaLookupMasks = []uint32{lsa.PolicyLookupNames, lsa.PolicyViewLocalInformation, lsa.MaximumAllowed}

// openLSALane opens a pipe, binds LSA and opens a policy handle for
// LookupSids: lane 0 tries lsaLookupMasks in order, later lanes the mask
// lane 0 was granted. Its error, when the server denies every mask, is
// what the report shows as denied.
func (c *cycler) openLSALane(ctx context.Context, i int) (*lsaLane, error) {
	g, rpc, err := c.openPipe(ctx, "lsarpc", dcerpc.LSARPC, i)
	if err != nil {
		return nil, nil // not a denial of translation; nothing to report beyond the check
	}
	cl := lsa.New(rpc)
	masks := lsaLookupMasks
	if i > 0 && c.lsaAccess != 0 {
		masks = []uint32{c.lsaAccess}
	}
	pol, err := cl.OpenPolicy(ctx, masks...)
	name := "lsa.OpenPolicy2"
	for _, a := range pol.Attempts {
		ch := openPolicyCheck(a, fmt.Sprintf("(for LookupSids), rid cycling lane %d", i))
		name = ch.Name
		c.h.record(ch)
	}
	if err != nil {
		_ = g.Close(ctx)
		if _, st := Classify(err); st.Name != "" && i == 0 {
			return nil, fmt.Errorf("%s(lookup names, view local information, maximum allowed): %s", name, st.Name)
		}
		return nil, nil
	}
	if i == 0 {
		c.lsaAccess = pol.Access
	}
	return &lsaLane{g: g, c: cl, pol: pol.Handle}, nil
}

func (l *lsaLane) gate() *gatedPipe { return l.g }

func (l *lsaLane) close(ctx context.Context) {
	if l.g == nil {
		return
	}
	_ = l.c.Close(ctx, l.pol)
	_ = l.g.Close(ctx)
	l.g = nil
}

// lookup translates the job's SIDs, halving the batch on faults that say
// it was too large (and remembering the smaller size for later jobs).
func (l *lsaLane) lookup(ctx context.Context, c *cycler, j *ridJob) ([]RID, error) {
	return l.lookupSids(ctx, c, j.sids, j.label, 0)
}

// maxShrink bounds how often one job is halved: a server that faults on
// every call costs a handful of calls, not one per SID.
const maxShrink = 5

func (l *lsaLane) lookupSids(ctx context.Context, c *cycler, sids []ndr.SID, label string, depth int) ([]RID, error) {
	start := time.Now()
	tr, st, err := l.c.LookupSids(ctx, l.pol, sids)
	ch := Call(LayerCall, IfaceLSA, "LookupSids", label).Op(lsa.OpLookupSids).Named("lsa.LookupSids").Done(time.Since(start), err)
	if err == nil {
		ch.Status, ch.StatusCode = st.String(), uint32(st)
		ch.Detail = fmt.Sprintf("%s: %d mapped", label, countMapped(tr))
	} else {
		ch.Detail = strings.TrimSpace(label + " " + ch.Detail)
	}
	if err != nil && len(sids) > 1 && depth < maxShrink && shrinkable(err) {
		half := (len(sids) + 1) / 2
		ch.Detail += fmt.Sprintf("; retrying as calls of %d", half)
		c.h.record(ch)
		c.shrink(half)
		a, err := l.lookupSids(ctx, c, sids[:half], label+" (first half)", depth+1)
		if err != nil {
			return a, err // the same failure, most likely: do not repeat it
		}
		b, err := l.lookupSids(ctx, c, sids[half:], label+" (second half)", depth+1)
		return append(a, b...), err
	}
	c.h.record(ch)
	if err != nil {
		return nil, err
	}
	var out []RID
	for _, t := range tr {
		if t.Mapped() && !synthetic(t) {
			out = append(out, translationRID(t))
		}
	}
	return out, nil
}

// synthetic: Samba maps every uid and gid under S-1-22 and names the ones
// with no account by their number ("Unix User\777777"); those are not
// accounts, and counting them as hits would keep the scan going forever.
func synthetic(t lsa.Translation) bool {
	k := kindFor(t.SID)
	return (k == kindUnixUsers || k == kindUnixGroups) && t.Name == strconv.FormatUint(uint64(t.SID.RID()), 10)
}

// shrinkable: the call failed in a way a smaller batch may fix — a reply
// over our size cap, an NDR or bound fault, or a status servers give for
// requests too large. Access denied and missing opnums are not.
func shrinkable(err error) bool {
	var f *dcerpc.Fault
	if errors.As(err, &f) {
		switch f.Status {
		case dcerpc.FaultNDR, dcerpc.FaultInvalidBound, dcerpc.FaultCantPerform, 0x1C00001C /* nca_s_fault_remote_no_memory */ :
			return true
		}
		return false
	}
	if errors.Is(err, dcerpc.ErrTooLarge) {
		return true
	}
	// Samba answers a SAMR lookup of more than 1,000 RIDs with
	// RPC_NT_BAD_STUB_DATA (docs/samba.md).
	for _, s := range []ntstatus.Status{ntstatus.RPCBadStubData, 0xC0020023, /* RPC_NT_INVALID_BOUND */
		0xC0000017 /* NO_MEMORY */, 0xC000009A /* INSUFFICIENT_RESOURCES */, 0xC0000023 /* BUFFER_TOO_SMALL */} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
