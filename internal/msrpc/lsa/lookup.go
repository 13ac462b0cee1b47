package lsa

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// SIDNameUse is SID_NAME_USE ([MS-LSAT] 2.2.13).
type SIDNameUse uint16

// SID_NAME_USE values.
const (
	SidTypeUser           SIDNameUse = 1
	SidTypeGroup          SIDNameUse = 2
	SidTypeDomain         SIDNameUse = 3
	SidTypeAlias          SIDNameUse = 4
	SidTypeWellKnownGroup SIDNameUse = 5
	SidTypeDeletedAccount SIDNameUse = 6
	SidTypeInvalid        SIDNameUse = 7
	SidTypeUnknown        SIDNameUse = 8
	SidTypeComputer       SIDNameUse = 9
	SidTypeLabel          SIDNameUse = 10
)

// String gives the lower-case word reports use (enum.RID.Type).
func (u SIDNameUse) String() string {
	switch u {
	case SidTypeUser:
		return "user"
	case SidTypeGroup:
		return "group"
	case SidTypeDomain:
		return "domain"
	case SidTypeAlias:
		return "alias"
	case SidTypeWellKnownGroup:
		return "well-known"
	case SidTypeDeletedAccount:
		return "deleted"
	case SidTypeInvalid:
		return "invalid"
	case SidTypeUnknown:
		return "unknown"
	case SidTypeComputer:
		return "computer"
	case SidTypeLabel:
		return "label"
	}
	return fmt.Sprintf("use-%d", uint16(u))
}

// Lookup levels ([MS-LSAT] 2.2.16); LsapLookupWksta is what rpcclient and
// impacket use.
const LookupWksta = 1

// Limits from the [MS-LSAT] IDL range() attributes.
const (
	MaxLookupSids  = 20480
	MaxLookupNames = 1000
)

// The longest names a lookup reply may carry, in characters. An account
// name is an sAMAccountName, whose schema allows at most 256 ([MS-ADA3]
// SAM-Account-Name rangeUpper); a referenced domain's name is a NetBIOS
// name or at most a DNS name (255 octets, RFC 1035 2.3.4). The wire allows
// 32,767, and every translation shares its domain's name, so a reply's
// size would otherwise be multiplied by each consumer that copies it.
const (
	MaxAccountNameLen = 256
	MaxDomainNameLen  = 255
)

// ErrNameTooLong is returned for a reply with a name over those limits.
var ErrNameTooLong = errors.New("lsa: name longer than Windows allows")

// checkNames holds a decoded reply to MaxAccountNameLen and MaxDomainNameLen.
func (res *LookupResult) checkNames(names func(i int) string, n int) error {
	for _, d := range res.Domains {
		if c := utf8.RuneCountInString(d.Name); c > MaxDomainNameLen {
			return fmt.Errorf("%w: domain name of %d characters (at most %d)", ErrNameTooLong, c, MaxDomainNameLen)
		}
	}
	for i := range n {
		if c := utf8.RuneCountInString(names(i)); c > MaxAccountNameLen {
			return fmt.Errorf("%w: name %d of %d characters (at most %d)", ErrNameTooLong, i, c, MaxAccountNameLen)
		}
	}
	return nil
}

// Translation is one translated SID or name. Domain and DomainSID come from
// the referenced domain list; both are empty when the server gave none.
type Translation struct {
	SID       ndr.SID // for LookupNames: nil-valued (zero) when not mapped
	Name      string
	Use       SIDNameUse
	Domain    string
	DomainSID *ndr.SID
}

// Mapped reports whether the server translated this entry.
func (t Translation) Mapped() bool {
	return t.Use != SidTypeUnknown && t.Use != SidTypeInvalid && t.Use != 0
}

// LookupResult is a decoded LsarLookupSids or LsarLookupNames reply.
type LookupResult struct {
	Domains      []TrustInfo
	Translations []Translation
	MappedCount  uint32
	Status       ntstatus.Status
}

// LookupSids calls LsarLookupSids ([MS-LSAT] 3.1.4.11) at level 1 for one
// batch of up to MaxLookupSids SIDs (the caller batches; ~1000 a call is
// what servers handle well). STATUS_SOME_NOT_MAPPED and STATUS_NONE_MAPPED
// are results, not failures: the translations are returned with the status
// and a nil error. Other failure statuses come back as errors.
func (c *Client) LookupSids(ctx context.Context, h ndr.Handle, sids []ndr.SID) ([]Translation, ntstatus.Status, error) {
	req, err := EncodeLookupSids(h, sids)
	if err != nil {
		return nil, 0, err
	}
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.LookupResponse(len(sids), MaxAccountNameLen+MaxDomainNameLen)), OpLookupSids, req)
	if err != nil {
		return nil, 0, fmt.Errorf("lsa: lookup sids: %w", err)
	}
	res, err := DecodeLookupSids(out, sids)
	if err != nil {
		return nil, 0, fmt.Errorf("lsa: lookup sids: %w", err)
	}
	if res.Status != ntstatus.NoneMapped {
		if err := statusErr("lookup sids", res.Status); err != nil {
			return nil, res.Status, err
		}
	}
	return res.Translations, res.Status, nil
}

// EncodeLookupSids builds the request: the handle, LSAPR_SID_ENUM_BUFFER,
// an empty LSAPR_TRANSLATED_NAMES, level 1 and MappedCount 0.
func EncodeLookupSids(h ndr.Handle, sids []ndr.SID) ([]byte, error) {
	if len(sids) > MaxLookupSids {
		return nil, fmt.Errorf("lsa: lookup sids: %d SIDs, at most %d a call", len(sids), MaxLookupSids)
	}
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(uint32(len(sids)))
	w.Pointer(len(sids) > 0)
	if len(sids) > 0 {
		w.Defer(func(w *ndr.Writer) {
			w.Uint32(uint32(len(sids)))
			for _, s := range sids {
				w.Pointer(true)
				w.Defer(func(w *ndr.Writer) { w.SID(s) })
			}
		})
	}
	w.Flush()
	w.Uint32(0)      // TranslatedNames.Entries
	w.Pointer(false) // TranslatedNames.Names
	w.Uint16(LookupWksta)
	w.Uint32(0) // MappedCount
	return w.Bytes(), nil
}

// readReferencedDomains reads the [out] PLSAPR_REFERENCED_DOMAIN_LIST*
// parameter: a unique pointer, then {Entries, Domains pointer, MaxEntries}
// and the referents.
func readReferencedDomains(r *ndr.Reader) []TrustInfo {
	if r.Pointer() == 0 {
		return nil
	}
	entries := r.Uint32()
	var out []TrustInfo
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(12)
			if r.Err() == nil && uint32(n) < entries {
				r.Fail(fmt.Errorf("lsa: %d referenced domains in an array of %d", entries, n))
				return
			}
			out = make([]TrustInfo, n)
			for i := range out {
				r.UnicodeString(&out[i].Name)
				r.SIDPtr(&out[i].SID)
			}
		})
	}
	r.Uint32() // MaxEntries
	r.Flush()
	if uint32(len(out)) > entries {
		out = out[:entries]
	}
	return out
}

// DecodeLookupSids decodes a LsarLookupSids reply for the SIDs that were
// asked (in order). A reply with as many names as SIDs is required, except
// that a server may send no names with STATUS_NONE_MAPPED.
func DecodeLookupSids(stub []byte, sids []ndr.SID) (*LookupResult, error) {
	r := ndr.NewReader(stub)
	res := &LookupResult{Domains: readReferencedDomains(r)}
	type name struct {
		use SIDNameUse
		s   string
		idx int32
	}
	entries := r.Uint32()
	var names []name
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(16)
			if r.Err() == nil && uint32(n) != entries {
				r.Fail(fmt.Errorf("lsa: %d names in an array of %d", entries, n))
				return
			}
			names = make([]name, n)
			for i := range names {
				names[i].use = SIDNameUse(r.Uint16())
				r.UnicodeString(&names[i].s)
				names[i].idx = int32(r.Uint32())
			}
		})
	}
	r.Flush()
	res.MappedCount = r.Uint32()
	res.Status = ntstatus.Status(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := res.checkNames(func(i int) string { return names[i].s }, len(names)); err != nil {
		return nil, err
	}
	if len(names) == 0 && (res.Status == ntstatus.NoneMapped || res.Status.IsError()) {
		res.Translations = make([]Translation, len(sids))
		for i, s := range sids {
			res.Translations[i] = Translation{SID: s, Use: SidTypeUnknown}
		}
		if res.Status != ntstatus.NoneMapped {
			res.Translations = nil
		}
		return res, nil
	}
	if len(names) != len(sids) {
		return nil, fmt.Errorf("lsa: %d names for %d SIDs", len(names), len(sids))
	}
	res.Translations = make([]Translation, len(sids))
	for i, n := range names {
		t := Translation{SID: sids[i], Name: n.s, Use: n.use}
		if err := res.setDomain(&t, n.idx); err != nil {
			return nil, err
		}
		res.Translations[i] = t
	}
	return res, nil
}

func (res *LookupResult) setDomain(t *Translation, idx int32) error {
	if idx < 0 {
		return nil
	}
	if int(idx) >= len(res.Domains) {
		return fmt.Errorf("lsa: domain index %d of %d referenced domains", idx, len(res.Domains))
	}
	t.Domain = res.Domains[idx].Name
	t.DomainSID = res.Domains[idx].SID
	return nil
}

// LookupNames calls LsarLookupNames ([MS-LSAT] 3.1.4.8) at level 1 for up
// to MaxLookupNames names. Statuses are handled as in LookupSids. The SID
// of a mapped account is its domain SID plus RID; a domain maps to its SID.
func (c *Client) LookupNames(ctx context.Context, h ndr.Handle, names []string) ([]Translation, ntstatus.Status, error) {
	req, err := EncodeLookupNames(h, names)
	if err != nil {
		return nil, 0, err
	}
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.LookupResponse(len(names), MaxDomainNameLen)), OpLookupNames, req)
	if err != nil {
		return nil, 0, fmt.Errorf("lsa: lookup names: %w", err)
	}
	res, err := DecodeLookupNames(out, names)
	if err != nil {
		return nil, 0, fmt.Errorf("lsa: lookup names: %w", err)
	}
	if res.Status != ntstatus.NoneMapped {
		if err := statusErr("lookup names", res.Status); err != nil {
			return nil, res.Status, err
		}
	}
	return res.Translations, res.Status, nil
}

// EncodeLookupNames builds the request: the handle, Count, the conformant
// array of RPC_UNICODE_STRING, an empty LSAPR_TRANSLATED_SIDS, level 1
// and MappedCount 0.
func EncodeLookupNames(h ndr.Handle, names []string) ([]byte, error) {
	if len(names) > MaxLookupNames {
		return nil, fmt.Errorf("lsa: lookup names: %d names, at most %d a call", len(names), MaxLookupNames)
	}
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(uint32(len(names)))
	w.Uint32(uint32(len(names))) // max_count of the [size_is(Count)] array
	for _, n := range names {
		w.UnicodeString(n)
	}
	w.Flush()
	w.Uint32(0)      // TranslatedSids.Entries
	w.Pointer(false) // TranslatedSids.Sids
	w.Uint16(LookupWksta)
	w.Uint32(0) // MappedCount
	return w.Bytes(), nil
}

// DecodeLookupNames decodes a LsarLookupNames reply for the names asked.
func DecodeLookupNames(stub []byte, names []string) (*LookupResult, error) {
	r := ndr.NewReader(stub)
	res := &LookupResult{Domains: readReferencedDomains(r)}
	type sid struct {
		use SIDNameUse
		rid uint32
		idx int32
	}
	entries := r.Uint32()
	var sids []sid
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(12)
			if r.Err() == nil && uint32(n) != entries {
				r.Fail(fmt.Errorf("lsa: %d SIDs in an array of %d", entries, n))
				return
			}
			sids = make([]sid, n)
			for i := range sids {
				sids[i].use = SIDNameUse(r.Uint16())
				sids[i].rid = r.Uint32()
				sids[i].idx = int32(r.Uint32())
			}
		})
	}
	r.Flush()
	res.MappedCount = r.Uint32()
	res.Status = ntstatus.Status(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := res.checkNames(nil, 0); err != nil {
		return nil, err
	}
	if len(sids) == 0 && (res.Status == ntstatus.NoneMapped || res.Status.IsError()) {
		if res.Status == ntstatus.NoneMapped {
			res.Translations = make([]Translation, len(names))
			for i, n := range names {
				res.Translations[i] = Translation{Name: n, Use: SidTypeUnknown}
			}
		}
		return res, nil
	}
	if len(sids) != len(names) {
		return nil, fmt.Errorf("lsa: %d SIDs for %d names", len(sids), len(names))
	}
	res.Translations = make([]Translation, len(names))
	for i, s := range sids {
		t := Translation{Name: names[i], Use: s.use}
		if err := res.setDomain(&t, s.idx); err != nil {
			return nil, err
		}
		if t.DomainSID != nil && t.Mapped() {
			if s.use == SidTypeDomain {
				t.SID = t.DomainSID.Append()
			} else {
				t.SID = t.DomainSID.Append(s.rid)
			}
		}
		res.Translations[i] = t
	}
	return res, nil
}
