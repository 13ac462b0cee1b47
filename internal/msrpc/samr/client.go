// Package samr is a client for the Security Account Manager remote
// protocol ([MS-SAMR]) as an anonymous caller uses it: connect, list and
// look up domains, users, groups and aliases, read group and alias
// members, read the password, lockout and logoff policy, and translate
// RIDs and names.
//
// Requests are encoded explicitly and replies decoded with the bounded
// readers of package ndr: a hostile count or length is an error, never a
// large allocation or a panic. Every call returns the server's NTSTATUS as
// an error that wraps ntstatus.Status when it is not a success.
package samr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Interface identity of SAMR ([MS-SAMR] 1.9).
const (
	InterfaceUUID         = "12345778-1234-abcd-ef00-0123456789ac"
	InterfaceVersionMajor = 1
	InterfaceVersionMinor = 0
)

// Access rights ([MS-SAMR] 2.2.1). Only what the calls here need is asked.
const (
	ServerConnect          uint32 = 0x00000001
	ServerEnumerateDomains uint32 = 0x00000010
	ServerLookupDomain     uint32 = 0x00000020

	DomainReadPasswordParameters uint32 = 0x00000001
	DomainReadOtherParameters    uint32 = 0x00000004
	DomainListAccounts           uint32 = 0x00000100
	DomainLookup                 uint32 = 0x00000200

	GroupListMembers uint32 = 0x00000010
	AliasListMembers uint32 = 0x00000004
	UserReadAccount  uint32 = 0x00000010
)

// Handle is a SAMR context handle.
type Handle = ndr.Handle

// Caller is what the Client needs of a DCE/RPC connection bound to SAMR:
// send one request stub, return the reply stub. *dcerpc.Client is one.
type Caller interface {
	Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error)
}

// Call is the evidence of one RPC: which call, how it ended, how long it
// took.
type Call struct {
	Name     string // "samr.QueryDisplayInformation"
	Method   string // "QueryDisplayInformation"
	Opnum    uint16
	Status   string // NTSTATUS name; empty when no status came back
	Code     uint32 // the NTSTATUS value, when Status is not empty
	Err      error  // nil on success
	Duration time.Duration
	Detail   string // what was asked, e.g. "class 12" or "rid 0x3eb"
}

// CallError is a failed call: which method, and why. It reads
// "samr: OpenDomain: STATUS_ACCESS_DENIED".
type CallError struct {
	Method string
	Err    error
}

func (e *CallError) Error() string { return "samr: " + e.Method + ": " + e.Err.Error() }

// Unwrap gives the status or transport error.
func (e *CallError) Unwrap() error { return e.Err }

// Client issues SAMR calls over a bound connection. It is not safe for
// concurrent use (neither is one DCE/RPC association over a pipe).
type Client struct {
	rpc Caller
	// OnCall, when set, receives the record of every call made.
	OnCall func(Call)
	// MaxPages bounds the calls a paged enumeration makes (0 = 4096),
	// so a server that keeps answering STATUS_MORE_ENTRIES cannot loop
	// us forever.
	MaxPages int
}

// New returns a Client over a connection bound to SAMR.
func New(rpc Caller) *Client { return &Client{rpc: rpc} }

// StatusName gives the name to record for err: the NTSTATUS it wraps, an
// RPC fault's name ("nca_s_op_rng_error"), or "" (transport errors).
func StatusName(err error) string {
	if err == nil {
		return ntstatus.Success.String()
	}
	var st ntstatus.Status
	if errors.As(err, &st) {
		return st.String()
	}
	var f *dcerpc.Fault
	if errors.As(err, &f) {
		return f.Name()
	}
	return ""
}

// call sends one request and returns the reply stub; decode errors and
// statuses are recorded by the caller through done.
func (c *Client) call(ctx context.Context, opnum uint16, req []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.rpc.Call(dcerpc.WithMaxResponse(ctx, responseCap(opnum)), opnum, req)
}

// responseCap is the largest reply stub a call may return: a page for the
// enumerations and member lists, a lookup's worth for MaxLookup names of
// the longest sAMAccountName (256 characters, [MS-ADA3] SAM-Account-Name),
// a small reply for everything else (docs/bounds.md).
func responseCap(opnum uint16) int {
	switch opnum {
	case OpEnumerateDomainsInSamServer, OpEnumerateUsersInDomain, OpEnumerateGroupsInDomain,
		OpEnumerateAliasesInDomain, OpQueryDisplayInformation, OpGetMembersInGroup, OpGetMembersInAlias:
		return dcerpc.PageResponse
	case OpLookupIdsInDomain, OpLookupNamesInDomain:
		return dcerpc.LookupResponse(MaxLookup, 256)
	}
	return dcerpc.SmallResponse
}

// done records a finished call and turns an error status into an error.
// accept lists error-severity statuses that are answers, not failures.
func (c *Client) done(op uint16, name, detail string, start time.Time, st ntstatus.Status, err error, accept ...ntstatus.Status) error {
	if err == nil && !st.IsSuccess() && !slices.Contains(accept, st) {
		err = st
	}
	if err != nil {
		err = &CallError{Method: name, Err: err}
	}
	if c.OnCall != nil {
		rec := Call{Name: "samr." + name, Method: name, Opnum: op, Err: err, Duration: time.Since(start), Detail: detail}
		if err == nil {
			rec.Status, rec.Code = st.String(), uint32(st)
		} else {
			rec.Status = StatusName(err)
			var code ntstatus.Status
			if errors.As(err, &code) {
				rec.Code = uint32(code)
			}
		}
		c.OnCall(rec)
	}
	return err
}

// MaxEntries bounds what one enumeration (all its pages) returns: as many
// as RID cycling keeps of one host; MaxEnumBytes bounds the reply bytes
// all its pages may bring (65,536 users of SamrQueryDisplayInformation with
// short names take about 8 MiB). A larger domain ends with an error saying
// so, and the entries read.
const (
	MaxEntries   = 1 << 16
	MaxEnumBytes = 8 << 20
)

func (c *Client) maxPages() int {
	if c.MaxPages > 0 {
		return c.MaxPages
	}
	return 4096
}

// handleCall runs a call whose reply is a context handle.
func (c *Client) handleCall(ctx context.Context, name, detail string, op uint16, req []byte) (Handle, error) {
	start := time.Now()
	stub, err := c.call(ctx, op, req)
	var h Handle
	var st ntstatus.Status
	if err == nil {
		h, st, err = decHandleReply(stub)
	}
	return h, c.done(op, name, detail, start, st, err)
}

// Connect opens the server with SamrConnect5, falling back to SamrConnect2
// when the server refuses or lacks it (older servers fault on opnum 64).
// It returns the handle and the name of the call that worked.
func (c *Client) Connect(ctx context.Context, access uint32) (Handle, string, error) {
	h, err5 := c.Connect5(ctx, access)
	if err5 == nil {
		return h, "Connect5", nil
	}
	if ctx.Err() != nil {
		return Handle{}, "", err5
	}
	h, err2 := c.Connect2(ctx, access)
	if err2 != nil {
		return Handle{}, "", err2
	}
	return h, "Connect2", nil
}

// Connect5 is SamrConnect5 (opnum 64) with revision 3.
func (c *Client) Connect5(ctx context.Context, access uint32) (Handle, error) {
	start := time.Now()
	stub, err := c.call(ctx, OpConnect5, encConnect5(access))
	var h Handle
	var st ntstatus.Status
	if err == nil {
		h, st, err = decConnect5(stub)
	}
	return h, c.done(OpConnect5, "Connect5", fmt.Sprintf("access 0x%x", access), start, st, err)
}

// Connect2 is SamrConnect2 (opnum 57).
func (c *Client) Connect2(ctx context.Context, access uint32) (Handle, error) {
	return c.handleCall(ctx, "Connect2", fmt.Sprintf("access 0x%x", access), OpConnect2, encConnect2(access))
}

// Close is SamrCloseHandle (opnum 1).
func (c *Client) Close(ctx context.Context, h Handle) error {
	_, err := c.handleCall(ctx, "CloseHandle", "", OpCloseHandle, encHandle(h))
	return err
}

// enumerate pages through one of the Enumerate* calls (paging.go).
func (c *Client) enumerate(ctx context.Context, name string, op uint16, req func(resume uint32) []byte) ([]RIDName, error) {
	return pages(ctx, c, c.enumPager(name, op, req))
}

// prefLen is the PreferedMaximumLength sent with enumerations: a page
// large enough that a server answers in few round trips (Samba sends about
// 128 KiB per reply whatever we ask), small enough that a reply fits the
// page cap responseCap gives.
const prefLen = dcerpc.PagePreferred

// EnumerateDomains is SamrEnumerateDomainsInSamServer (opnum 6); the RID
// field of each entry is the server's index.
func (c *Client) EnumerateDomains(ctx context.Context, server Handle) ([]RIDName, error) {
	return c.enumerate(ctx, "EnumerateDomainsInSamServer", OpEnumerateDomainsInSamServer,
		func(resume uint32) []byte { return encEnum(server, resume, prefLen) })
}

// LookupDomain is SamrLookupDomainInSamServer (opnum 5): a domain's SID.
func (c *Client) LookupDomain(ctx context.Context, server Handle, name string) (ndr.SID, error) {
	start := time.Now()
	stub, err := c.call(ctx, OpLookupDomainInSamServer, encLookupDomain(server, name))
	var sid ndr.SID
	var st ntstatus.Status
	if err == nil {
		sid, st, err = decLookupDomain(stub)
	}
	return sid, c.done(OpLookupDomainInSamServer, "LookupDomainInSamServer", name, start, st, err)
}

// OpenDomain is SamrOpenDomain (opnum 7).
func (c *Client) OpenDomain(ctx context.Context, server Handle, access uint32, sid ndr.SID) (Handle, error) {
	return c.handleCall(ctx, "OpenDomain", fmt.Sprintf("%s access 0x%x", sid, access), OpOpenDomain, encOpenDomain(server, access, sid))
}

// EnumerateUsers is SamrEnumerateUsersInDomain (opnum 13); acb filters by
// account-control bits (0 = all accounts).
func (c *Client) EnumerateUsers(ctx context.Context, domain Handle, acb uint32) ([]RIDName, error) {
	return c.enumerate(ctx, "EnumerateUsersInDomain", OpEnumerateUsersInDomain,
		func(resume uint32) []byte { return encEnumUsers(domain, resume, acb, prefLen) })
}

// EnumerateGroups is SamrEnumerateGroupsInDomain (opnum 11).
func (c *Client) EnumerateGroups(ctx context.Context, domain Handle) ([]RIDName, error) {
	return c.enumerate(ctx, "EnumerateGroupsInDomain", OpEnumerateGroupsInDomain,
		func(resume uint32) []byte { return encEnum(domain, resume, prefLen) })
}

// EnumerateAliases is SamrEnumerateAliasesInDomain (opnum 15).
func (c *Client) EnumerateAliases(ctx context.Context, domain Handle) ([]RIDName, error) {
	return c.enumerate(ctx, "EnumerateAliasesInDomain", OpEnumerateAliasesInDomain,
		func(resume uint32) []byte { return encEnum(domain, resume, prefLen) })
}

// QueryDisplayUsers pages through SamrQueryDisplayInformation (opnum 40)
// class DomainDisplayUser until the server says it is done. It asks for
// as many entries and bytes as the fields allow, so a server answers in as
// few round trips as its own cap permits, and asks for each next page
// before decoding the one in hand (paging.go).
func (c *Client) QueryDisplayUsers(ctx context.Context, domain Handle) ([]DisplayUser, error) {
	return pages(ctx, c, c.displayPager(domain))
}

// OpenGroup is SamrOpenGroup (opnum 19).
func (c *Client) OpenGroup(ctx context.Context, domain Handle, access, rid uint32) (Handle, error) {
	return c.handleCall(ctx, "OpenGroup", fmt.Sprintf("rid 0x%x", rid), OpOpenGroup, encOpenByRID(domain, access, rid))
}

// GetMembersInGroup is SamrGetMembersInGroup (opnum 25).
func (c *Client) GetMembersInGroup(ctx context.Context, group Handle) ([]GroupMember, error) {
	start := time.Now()
	stub, err := c.call(ctx, OpGetMembersInGroup, encHandle(group))
	var m []GroupMember
	var st ntstatus.Status
	if err == nil {
		m, st, err = decGetMembersInGroup(stub)
	}
	return m, c.done(OpGetMembersInGroup, "GetMembersInGroup", "", start, st, err)
}

// OpenAlias is SamrOpenAlias (opnum 27).
func (c *Client) OpenAlias(ctx context.Context, domain Handle, access, rid uint32) (Handle, error) {
	return c.handleCall(ctx, "OpenAlias", fmt.Sprintf("rid 0x%x", rid), OpOpenAlias, encOpenByRID(domain, access, rid))
}

// GetMembersInAlias is SamrGetMembersInAlias (opnum 33): member SIDs.
func (c *Client) GetMembersInAlias(ctx context.Context, alias Handle) ([]ndr.SID, error) {
	start := time.Now()
	stub, err := c.call(ctx, OpGetMembersInAlias, encHandle(alias))
	var m []ndr.SID
	var st ntstatus.Status
	if err == nil {
		m, st, err = decGetMembersInAlias(stub)
	}
	return m, c.done(OpGetMembersInAlias, "GetMembersInAlias", "", start, st, err)
}

// OpenUser is SamrOpenUser (opnum 34).
func (c *Client) OpenUser(ctx context.Context, domain Handle, access, rid uint32) (Handle, error) {
	return c.handleCall(ctx, "OpenUser", fmt.Sprintf("rid 0x%x", rid), OpOpenUser, encOpenByRID(domain, access, rid))
}

// QueryUserControl is SamrQueryInformationUser (opnum 36) class 16: the
// account-control bits. Samba AD fills these where its display
// information carries zeros.
func (c *Client) QueryUserControl(ctx context.Context, user Handle) (uint32, error) {
	start := time.Now()
	stub, err := c.call(ctx, OpQueryInformationUser, encHandleClass(user, UserControlInformation))
	var acb uint32
	var st ntstatus.Status
	if err == nil {
		acb, st, err = decQueryUserControl(stub)
	}
	return acb, c.done(OpQueryInformationUser, "QueryInformationUser", "class 16", start, st, err)
}

// QueryDomainInfo2 is SamrQueryInformationDomain2 (opnum 46) for class 1
// (password), 3 (logoff) or 12 (lockout).
func (c *Client) QueryDomainInfo2(ctx context.Context, domain Handle, class uint16) (DomainInfo, error) {
	return c.queryDomain(ctx, "QueryInformationDomain2", OpQueryInformationDomain2, domain, class)
}

// QueryDomainInfo is SamrQueryInformationDomain (opnum 8), the older
// form of QueryDomainInfo2 with the same reply.
func (c *Client) QueryDomainInfo(ctx context.Context, domain Handle, class uint16) (DomainInfo, error) {
	return c.queryDomain(ctx, "QueryInformationDomain", OpQueryInformationDomain, domain, class)
}

func (c *Client) queryDomain(ctx context.Context, name string, op uint16, domain Handle, class uint16) (DomainInfo, error) {
	start := time.Now()
	stub, err := c.call(ctx, op, encHandleClass(domain, class))
	var info DomainInfo
	var st ntstatus.Status
	if err == nil {
		info, st, err = decQueryDomainInfo(stub, class)
	}
	return info, c.done(op, name, fmt.Sprintf("class %d", class), start, st, err)
}

// GetDomainPasswordInformation is SamrGetDomainPasswordInformation (opnum
// 56): minimum length and properties without a domain handle.
func (c *Client) GetDomainPasswordInformation(ctx context.Context) (DomainPasswordInfo, error) {
	start := time.Now()
	stub, err := c.call(ctx, OpGetDomainPasswordInformation, encGetDomainPasswordInformation())
	var info DomainPasswordInfo
	var st ntstatus.Status
	if err == nil {
		info, st, err = decGetDomainPasswordInformation(stub)
	}
	return info, c.done(OpGetDomainPasswordInformation, "GetDomainPasswordInformation", "", start, st, err)
}

// LookupIDs is SamrLookupIdsInDomain (opnum 18), in batches of MaxLookup
// RIDs. An RID the server cannot map comes back with UseUnknown and no
// name; STATUS_SOME_NOT_MAPPED and STATUS_NONE_MAPPED are not errors.
func (c *Client) LookupIDs(ctx context.Context, domain Handle, rids []uint32) ([]Lookup, error) {
	out := make([]Lookup, 0, len(rids))
	for len(rids) > 0 {
		n := min(len(rids), MaxLookup)
		batch := rids[:n]
		rids = rids[n:]
		start := time.Now()
		stub, err := c.call(ctx, OpLookupIdsInDomain, encLookupIds(domain, batch))
		var res []Lookup
		var st ntstatus.Status
		if err == nil {
			res, st, err = decLookupIds(stub, batch)
		}
		if err == nil && st == ntstatus.NoneMapped {
			res = unmappedRIDs(batch)
		}
		if err := c.done(OpLookupIdsInDomain, "LookupIdsInDomain", fmt.Sprintf("%d rids", n), start, st, err, ntstatus.NoneMapped); err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func unmappedRIDs(rids []uint32) []Lookup {
	out := make([]Lookup, len(rids))
	for i, r := range rids {
		out[i] = Lookup{RID: r, Use: UseUnknown}
	}
	return out
}

// LookupNames is SamrLookupNamesInDomain (opnum 17), in batches of
// MaxLookup names. A name the server cannot map comes back with
// UseUnknown and RID 0.
func (c *Client) LookupNames(ctx context.Context, domain Handle, names []string) ([]Lookup, error) {
	out := make([]Lookup, 0, len(names))
	for len(names) > 0 {
		n := min(len(names), MaxLookup)
		batch := names[:n]
		names = names[n:]
		start := time.Now()
		stub, err := c.call(ctx, OpLookupNamesInDomain, encLookupNames(domain, batch))
		var res []Lookup
		var st ntstatus.Status
		if err == nil {
			res, st, err = decLookupNames(stub, batch)
		}
		if err == nil && st == ntstatus.NoneMapped {
			res = make([]Lookup, len(batch))
			for i, name := range batch {
				res[i] = Lookup{Name: name, Use: UseUnknown}
			}
		}
		if err := c.done(OpLookupNamesInDomain, "LookupNamesInDomain", fmt.Sprintf("%d names", n), start, st, err, ntstatus.NoneMapped); err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	return out, nil
}
