// Package lsa holds the LSA calls nullsweep makes anonymously ([MS-LSAD],
// [MS-LSAT]) over a DCE/RPC client bound to dcerpc.LSARPC on \PIPE\lsarpc:
// open a policy handle with the least access that works, query the
// primary, account and DNS domain, list trusts, and translate SIDs and
// names. NTSTATUS results come back as ntstatus.Status errors.
package lsa

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Opnums ([MS-LSAD] 3.1.4, [MS-LSAT] 3.1.4).
const (
	OpClose                     = 0
	OpOpenPolicy                = 6
	OpQueryInformationPolicy    = 7
	OpEnumerateTrustedDomains   = 13
	OpLookupNames               = 14
	OpLookupSids                = 15
	OpOpenPolicy2               = 44
	OpEnumerateTrustedDomainsEx = 50
	// LsarQueryInformationPolicy2 (46) is not used: Samba standalone
	// servers fault it with nca_s_op_rng_error, and 7 answers the same.
)

// Policy access rights ([MS-LSAD] 2.2.1.1.2).
const (
	PolicyViewLocalInformation = 0x00000001
	PolicyViewAuditInformation = 0x00000002
	PolicyLookupNames          = 0x00000800
	MaximumAllowed             = 0x02000000
)

// DefaultAccessMasks is the order OpenPolicy tries: what the checks need,
// then each half alone. MAXIMUM_ALLOWED is never asked for: some servers
// deny it where a small mask works, and it asks for more than we use.
var DefaultAccessMasks = []uint32{
	PolicyViewLocalInformation | PolicyLookupNames,
	PolicyViewLocalInformation,
	PolicyLookupNames,
}

// Caller sends one request stub and returns the response stub;
// *dcerpc.Client is one.
type Caller interface {
	Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error)
}

// Client makes LSA calls over one bound association.
type Client struct {
	c Caller
}

// New returns a client over c (bound to dcerpc.LSARPC).
func New(c Caller) *Client { return &Client{c: c} }

// Attempt is one open-policy try, kept as evidence.
type Attempt struct {
	Opnum    uint16
	Access   uint32
	Err      error // nil when it worked
	Duration time.Duration
}

// Policy is an open policy handle and how it was obtained.
type Policy struct {
	Handle   ndr.Handle
	Access   uint32
	Opnum    uint16 // OpOpenPolicy2 or OpOpenPolicy
	Attempts []Attempt
}

// OpenPolicy opens a policy handle, trying the masks in order (default
// DefaultAccessMasks) with LsarOpenPolicy2 and falling back to
// LsarOpenPolicy when the server does not have opnum 44. Access denied
// moves on to the next mask; any other error stops. The error of the last
// attempt is returned when none worked.
func (c *Client) OpenPolicy(ctx context.Context, masks ...uint32) (*Policy, error) {
	if len(masks) == 0 {
		masks = DefaultAccessMasks
	}
	p := &Policy{}
	op := uint16(OpOpenPolicy2)
	var last error
	for i := 0; i < len(masks); i++ {
		access := masks[i]
		start := time.Now()
		h, err := c.openPolicy(ctx, op, access)
		p.Attempts = append(p.Attempts, Attempt{Opnum: op, Access: access, Err: err, Duration: time.Since(start)})
		if err == nil {
			p.Handle, p.Access, p.Opnum = h, access, op
			return p, nil
		}
		last = err
		var f *dcerpc.Fault
		if op == OpOpenPolicy2 && errors.As(err, &f) && (f.Status == dcerpc.FaultOpRngError || f.Status == dcerpc.FaultProcnumOutOfRange) {
			op = OpOpenPolicy
			i-- // same mask with the old call
			continue
		}
		if !errors.Is(err, ntstatus.AccessDenied) {
			break
		}
	}
	return p, last
}

// OpenPolicy2 calls LsarOpenPolicy2 ([MS-LSAD] 3.1.4.4.1) with one mask.
func (c *Client) OpenPolicy2(ctx context.Context, access uint32) (ndr.Handle, error) {
	return c.openPolicy(ctx, OpOpenPolicy2, access)
}

func (c *Client) openPolicy(ctx context.Context, op uint16, access uint32) (ndr.Handle, error) {
	name := "open policy2"
	if op == OpOpenPolicy {
		name = "open policy"
	}
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.SmallResponse), op, EncodeOpenPolicy(op, access))
	if err != nil {
		return ndr.Handle{}, fmt.Errorf("lsa: %s 0x%x: %w", name, access, err)
	}
	h, status, err := DecodeHandleStatus(out)
	if err != nil {
		return ndr.Handle{}, fmt.Errorf("lsa: %s 0x%x: %w", name, access, err)
	}
	if status != ntstatus.Success {
		return ndr.Handle{}, fmt.Errorf("lsa: %s 0x%x: %w", name, access, status)
	}
	return h, nil
}

// EncodeOpenPolicy builds LsarOpenPolicy2 (or LsarOpenPolicy) with a null
// SystemName, empty object attributes with the usual quality of service,
// and the access mask.
func EncodeOpenPolicy(op uint16, access uint32) []byte {
	var w ndr.Writer
	w.Pointer(false) // SystemName: null ([string] wchar_t* for 44, wchar_t* for 6)
	// LSAPR_OBJECT_ATTRIBUTES (a top-level [in] pointer: ref, no ID).
	w.Uint32(24)     // Length, as Windows clients send it
	w.Pointer(false) // RootDirectory
	w.Pointer(false) // ObjectName
	w.Uint32(0)      // Attributes
	w.Pointer(false) // SecurityDescriptor
	w.Pointer(true)  // SecurityQualityOfService
	w.Defer(func(w *ndr.Writer) {
		w.Uint32(12) // Length
		w.Uint16(2)  // ImpersonationLevel: SecurityImpersonation
		w.Uint8(1)   // ContextTrackingMode: dynamic
		w.Uint8(0)   // EffectiveOnly
	})
	w.Flush()
	w.Uint32(access)
	return w.Bytes()
}

// DecodeHandleStatus decodes a reply made of a context handle and an
// NTSTATUS (LsarOpenPolicy2, LsarOpenPolicy, LsarClose).
func DecodeHandleStatus(stub []byte) (ndr.Handle, ntstatus.Status, error) {
	r := ndr.NewReader(stub)
	h := r.Handle()
	status := ntstatus.Status(r.Uint32())
	if err := r.Err(); err != nil {
		return ndr.Handle{}, 0, err
	}
	return h, status, nil
}

// Close calls LsarClose ([MS-LSAD] 3.1.4.9.4).
func (c *Client) Close(ctx context.Context, h ndr.Handle) error {
	var w ndr.Writer
	w.Handle(h)
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.SmallResponse), OpClose, w.Bytes())
	if err != nil {
		return fmt.Errorf("lsa: close: %w", err)
	}
	_, status, err := DecodeHandleStatus(out)
	if err != nil {
		return fmt.Errorf("lsa: close: %w", err)
	}
	if status != ntstatus.Success {
		return fmt.Errorf("lsa: close: %w", status)
	}
	return nil
}

// statusErr turns an error-severity NTSTATUS into an error.
func statusErr(what string, s ntstatus.Status) error {
	if s.IsError() {
		return fmt.Errorf("lsa: %s: %w", what, s)
	}
	return nil
}
