package lsa

import (
	"context"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// POLICY_INFORMATION_CLASS values we query ([MS-LSAD] 2.2.4.1).
const (
	PolicyPrimaryDomainInformation = 3
	PolicyAccountDomainInformation = 5
	PolicyDNSDomainInformation     = 12
)

// DomainInfo is LSAPR_POLICY_PRIMARY_DOM_INFO or LSAPR_POLICY_ACCOUNT_DOM_INFO.
// SID is nil when the server sent a null SID (a workgroup member's primary
// domain).
type DomainInfo struct {
	Name string
	SID  *ndr.SID
}

// DNSDomainInfo is LSAPR_POLICY_DNS_DOMAIN_INFO.
type DNSDomainInfo struct {
	Name      string // NetBIOS name
	DNSDomain string
	DNSForest string
	GUID      dcerpc.UUID
	SID       *ndr.SID
}

// PolicyInfo is a decoded LSAPR_POLICY_INFORMATION; the field for the
// class is set.
type PolicyInfo struct {
	Class   uint16
	Primary *DomainInfo    // class 3
	Account *DomainInfo    // class 5
	DNS     *DNSDomainInfo // class 12
}

// QueryInformationPolicy calls LsarQueryInformationPolicy (opnum 7,
// [MS-LSAD] 3.1.4.4.3) for class 3, 5 or 12.
func (c *Client) QueryInformationPolicy(ctx context.Context, h ndr.Handle, class uint16) (*PolicyInfo, error) {
	var w ndr.Writer
	w.Handle(h)
	w.Uint16(class)
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.SmallResponse), OpQueryInformationPolicy, w.Bytes())
	if err != nil {
		return nil, fmt.Errorf("lsa: query info policy %d: %w", class, err)
	}
	info, status, err := DecodeQueryInformationPolicy(out)
	if err != nil {
		return nil, fmt.Errorf("lsa: query info policy %d: %w", class, err)
	}
	if status != ntstatus.Success {
		return nil, fmt.Errorf("lsa: query info policy %d: %w", class, status)
	}
	if info == nil || info.Class != class {
		return nil, fmt.Errorf("lsa: query info policy %d: server answered another class", class)
	}
	return info, nil
}

// PrimaryDomain queries PolicyPrimaryDomainInformation.
func (c *Client) PrimaryDomain(ctx context.Context, h ndr.Handle) (*DomainInfo, error) {
	info, err := c.QueryInformationPolicy(ctx, h, PolicyPrimaryDomainInformation)
	if err != nil {
		return nil, err
	}
	return info.Primary, nil
}

// AccountDomain queries PolicyAccountDomainInformation: the domain whose
// SID RID cycling uses.
func (c *Client) AccountDomain(ctx context.Context, h ndr.Handle) (*DomainInfo, error) {
	info, err := c.QueryInformationPolicy(ctx, h, PolicyAccountDomainInformation)
	if err != nil {
		return nil, err
	}
	return info.Account, nil
}

// DNSDomain queries PolicyDnsDomainInformation.
func (c *Client) DNSDomain(ctx context.Context, h ndr.Handle) (*DNSDomainInfo, error) {
	info, err := c.QueryInformationPolicy(ctx, h, PolicyDNSDomainInformation)
	if err != nil {
		return nil, err
	}
	return info.DNS, nil
}

// DecodeQueryInformationPolicy decodes the reply: a unique pointer to the
// LSAPR_POLICY_INFORMATION union (16-bit discriminant) and the NTSTATUS.
// info is nil when the pointer is null.
func DecodeQueryInformationPolicy(stub []byte) (*PolicyInfo, ntstatus.Status, error) {
	r := ndr.NewReader(stub)
	var info *PolicyInfo
	if r.Pointer() != 0 {
		info = &PolicyInfo{Class: r.Uint16()}
		switch info.Class {
		case PolicyPrimaryDomainInformation:
			info.Primary = &DomainInfo{}
			r.UnicodeString(&info.Primary.Name)
			r.SIDPtr(&info.Primary.SID)
		case PolicyAccountDomainInformation:
			info.Account = &DomainInfo{}
			r.UnicodeString(&info.Account.Name)
			r.SIDPtr(&info.Account.SID)
		case PolicyDNSDomainInformation:
			d := &DNSDomainInfo{}
			info.DNS = d
			r.UnicodeString(&d.Name)
			r.UnicodeString(&d.DNSDomain)
			r.UnicodeString(&d.DNSForest)
			r.Align(4)
			copy(d.GUID[:], r.Bytes(16))
			r.SIDPtr(&d.SID)
		default:
			if r.Err() == nil {
				return nil, 0, fmt.Errorf("lsa: policy information class %d not decoded", info.Class)
			}
		}
		r.Flush()
	}
	status := ntstatus.Status(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, 0, err
	}
	return info, status, nil
}
