package lsa

import (
	"context"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// TrustInfo is LSAPR_TRUST_INFORMATION: a trusted (or referenced) domain.
type TrustInfo struct {
	Name string
	SID  *ndr.SID
}

// TrustInfoEx is LSAPR_TRUSTED_DOMAIN_INFORMATION_EX ([MS-LSAD] 2.2.7.9).
type TrustInfoEx struct {
	Name       string // DNS name
	FlatName   string // NetBIOS name
	SID        *ndr.SID
	Direction  uint32 // TRUST_DIRECTION_INBOUND 1, OUTBOUND 2
	Type       uint32 // TRUST_TYPE_DOWNLEVEL 1, UPLEVEL 2, MIT 3
	Attributes uint32
}

// maxEnumRounds bounds enumeration loops against servers that never stop;
// maxTrusts bounds the entries all rounds together may return.
const (
	maxEnumRounds = 256
	maxTrusts     = 4096
	maxTrustBytes = 4 << 20
)

// prefMaxLength is the PreferedMaximumLength we ask with; the server may
// send less and say STATUS_MORE_ENTRIES.
const prefMaxLength = 0x10000

// EnumerateTrustedDomains calls LsarEnumerateTrustedDomains ([MS-LSAD]
// 3.1.4.7.8) until the server says there are no more entries.
func (c *Client) EnumerateTrustedDomains(ctx context.Context, h ndr.Handle) ([]TrustInfo, error) {
	var all []TrustInfo
	err := c.enumerate(ctx, h, OpEnumerateTrustedDomains, "enum trusted domains", func(stub []byte) (uint32, int, ntstatus.Status, error) {
		res, err := DecodeEnumerateTrustedDomains(stub)
		if err != nil {
			return 0, 0, 0, err
		}
		all = append(all, res.Domains...)
		return res.Context, len(res.Domains), res.Status, nil
	})
	return all, err
}

// EnumerateTrustedDomainsEx calls LsarEnumerateTrustedDomainsEx ([MS-LSAD]
// 3.1.4.7.7).
func (c *Client) EnumerateTrustedDomainsEx(ctx context.Context, h ndr.Handle) ([]TrustInfoEx, error) {
	var all []TrustInfoEx
	err := c.enumerate(ctx, h, OpEnumerateTrustedDomainsEx, "enum trusted domains ex", func(stub []byte) (uint32, int, ntstatus.Status, error) {
		res, err := DecodeEnumerateTrustedDomainsEx(stub)
		if err != nil {
			return 0, 0, 0, err
		}
		all = append(all, res.Domains...)
		return res.Context, len(res.Domains), res.Status, nil
	})
	return all, err
}

// enumerate runs the EnumerationContext loop shared by both calls.
func (c *Client) enumerate(ctx context.Context, h ndr.Handle, op uint16, what string, decode func([]byte) (uint32, int, ntstatus.Status, error)) error {
	var resume uint32
	total, received := 0, 0
	for round := 0; round < maxEnumRounds; round++ {
		var w ndr.Writer
		w.Handle(h)
		w.Uint32(resume)
		w.Uint32(prefMaxLength)
		out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.PageResponse), op, w.Bytes())
		if err != nil {
			return fmt.Errorf("lsa: %s: %w", what, err)
		}
		next, n, status, err := decode(out)
		if err != nil {
			return fmt.Errorf("lsa: %s: %w", what, err)
		}
		switch {
		case status == ntstatus.NoMoreEntries:
			return nil
		case status == ntstatus.Success || status == ntstatus.MoreEntries:
			if n == 0 || next == resume {
				return nil // nothing new: done, whatever the status said
			}
			total += n
			if received += len(out); total >= maxTrusts || received >= maxTrustBytes {
				return fmt.Errorf("lsa: %s: stopped after %d entries in %d bytes (the most we read)", what, total, received)
			}
			resume = next
		default:
			return statusErr(what, status)
		}
	}
	return fmt.Errorf("lsa: %s: no end after %d calls", what, maxEnumRounds)
}

// TrustedDomainsResult is one LsarEnumerateTrustedDomains reply.
type TrustedDomainsResult struct {
	Context uint32
	Domains []TrustInfo
	Status  ntstatus.Status
}

// DecodeEnumerateTrustedDomains decodes EnumerationContext,
// LSAPR_TRUSTED_ENUM_BUFFER and the NTSTATUS.
func DecodeEnumerateTrustedDomains(stub []byte) (*TrustedDomainsResult, error) {
	r := ndr.NewReader(stub)
	res := &TrustedDomainsResult{Context: r.Uint32()}
	res.Domains = readTrustInfoArray(r)
	res.Status = ntstatus.Status(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// readTrustInfoArray reads {Entries; [size_is(Entries)] PLSAPR_TRUST_INFORMATION}
// as the struct of a top-level parameter, referents included.
func readTrustInfoArray(r *ndr.Reader) []TrustInfo {
	entries := r.Uint32()
	var out []TrustInfo
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(12)
			if r.Err() == nil && uint32(n) != entries {
				r.Fail(fmt.Errorf("lsa: %d entries in an array of %d", entries, n))
				return
			}
			out = make([]TrustInfo, n)
			for i := range out {
				r.UnicodeString(&out[i].Name)
				r.SIDPtr(&out[i].SID)
			}
		})
	}
	r.Flush()
	return out
}

// TrustedDomainsExResult is one LsarEnumerateTrustedDomainsEx reply.
type TrustedDomainsExResult struct {
	Context uint32
	Domains []TrustInfoEx
	Status  ntstatus.Status
}

// DecodeEnumerateTrustedDomainsEx decodes EnumerationContext,
// LSAPR_TRUSTED_ENUM_BUFFER_EX and the NTSTATUS.
func DecodeEnumerateTrustedDomainsEx(stub []byte) (*TrustedDomainsExResult, error) {
	r := ndr.NewReader(stub)
	res := &TrustedDomainsExResult{Context: r.Uint32()}
	entries := r.Uint32()
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(32)
			if r.Err() == nil && uint32(n) != entries {
				r.Fail(fmt.Errorf("lsa: %d entries in an array of %d", entries, n))
				return
			}
			res.Domains = make([]TrustInfoEx, n)
			for i := range res.Domains {
				d := &res.Domains[i]
				r.UnicodeString(&d.Name)
				r.UnicodeString(&d.FlatName)
				r.SIDPtr(&d.SID)
				d.Direction = r.Uint32()
				d.Type = r.Uint32()
				d.Attributes = r.Uint32()
			}
		})
	}
	r.Flush()
	res.Status = ntstatus.Status(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, err
	}
	return res, nil
}
