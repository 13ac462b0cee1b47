package samr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/ndr"
)

// Translator is an open domain for translating RIDs and names: the SAMR
// path of RID cycling, next to LSA LookupSids. On Samba AD it is the only
// path (LSA lookups are denied to anonymous, docs/samba.md).
type Translator struct {
	c      *Client
	server Handle
	handle Handle
	Domain DomainRef
}

// OpenLookup connects and opens one domain with DOMAIN_LOOKUP only.
// domain is a SID ("S-1-5-32" for Builtin), a domain name, or "" for the
// account domain (the one whose SID is not S-1-5-32).
func (c *Client) OpenLookup(ctx context.Context, domain string) (*Translator, error) {
	server, _, err := c.Connect(ctx, ServerConnect|ServerEnumerateDomains|ServerLookupDomain)
	if err != nil {
		return nil, err
	}
	d := &Translator{c: c, server: server}
	switch {
	case strings.HasPrefix(strings.ToUpper(domain), "S-"):
		sid, err := ndr.ParseSID(domain)
		if err != nil {
			c.Close(ctx, server)
			return nil, fmt.Errorf("samr: open lookup: %w", err)
		}
		d.Domain = DomainRef{SID: sid}
	case domain != "":
		sid, err := c.LookupDomain(ctx, server, domain)
		if err != nil {
			c.Close(ctx, server)
			return nil, err
		}
		d.Domain = DomainRef{Name: domain, SID: sid}
	default:
		var e Enumeration
		if err := c.findDomains(ctx, server, &e, "", nil); err != nil {
			c.Close(ctx, server)
			return nil, err
		}
		d.Domain = *e.Account
	}
	d.handle, err = c.OpenDomain(ctx, server, DomainLookup, d.Domain.SID)
	if err != nil {
		c.Close(ctx, server)
		return nil, err
	}
	return d, nil
}

// IDs translates RIDs (SamrLookupIdsInDomain, batches of MaxLookup). An
// RID the domain does not hold comes back with UseUnknown and no name.
func (d *Translator) IDs(ctx context.Context, rids []uint32) ([]Lookup, error) {
	return d.c.LookupIDs(ctx, d.handle, rids)
}

// Names translates names to RIDs (SamrLookupNamesInDomain).
func (d *Translator) Names(ctx context.Context, names []string) ([]Lookup, error) {
	return d.c.LookupNames(ctx, d.handle, names)
}

// SID returns the SID of rid in this domain.
func (d *Translator) SID(rid uint32) ndr.SID { return d.Domain.SID.Append(rid) }

// Close closes the domain and server handles.
func (d *Translator) Close(ctx context.Context) error {
	return errors.Join(d.c.Close(ctx, d.handle), d.c.Close(ctx, d.server))
}
