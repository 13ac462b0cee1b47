package samr

import (
	"encoding/binary"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Reply is one SAMR response decoded outside a Client (a recorded
// conversation): the request's opnum picks the decoder, the request stub
// gives what the reply depends on (a class, the RIDs asked). Only the fields
// of the decoded call are set.
type Reply struct {
	Opnum        uint16
	Call         string
	Status       ntstatus.Status
	Handle       *ndr.Handle
	Entries      []RIDName // Enumerate*: domains, users, groups, aliases
	DomainSID    *ndr.SID  // LookupDomainInSamServer
	Users        []DisplayUser
	GroupMembers []GroupMember
	AliasMembers []ndr.SID
	Domain       *DomainInfo
	PasswordInfo *DomainPasswordInfo
	Lookups      []Lookup // LookupIdsInDomain
	ACB          *uint32  // QueryInformationUser class 16
	User         *UserDetails
}

// replyCallNames are the [MS-SAMR] 3.1.5 method names of the opnums DecodeReply
// knows.
var replyCallNames = map[uint16]string{
	OpConnect:                      "SamrConnect",
	OpCloseHandle:                  "SamrCloseHandle",
	OpLookupDomainInSamServer:      "SamrLookupDomainInSamServer",
	OpEnumerateDomainsInSamServer:  "SamrEnumerateDomainsInSamServer",
	OpOpenDomain:                   "SamrOpenDomain",
	OpQueryInformationDomain:       "SamrQueryInformationDomain",
	OpEnumerateGroupsInDomain:      "SamrEnumerateGroupsInDomain",
	OpEnumerateUsersInDomain:       "SamrEnumerateUsersInDomain",
	OpEnumerateAliasesInDomain:     "SamrEnumerateAliasesInDomain",
	OpLookupIdsInDomain:            "SamrLookupIdsInDomain",
	OpOpenGroup:                    "SamrOpenGroup",
	OpGetMembersInGroup:            "SamrGetMembersInGroup",
	OpOpenAlias:                    "SamrOpenAlias",
	OpGetMembersInAlias:            "SamrGetMembersInAlias",
	OpOpenUser:                     "SamrOpenUser",
	OpQueryInformationUser:         "SamrQueryInformationUser",
	OpQueryDisplayInformation:      "SamrQueryDisplayInformation",
	OpQueryDisplayInformation2:     "SamrQueryDisplayInformation2",
	OpQueryDisplayInformation3:     "SamrQueryDisplayInformation3",
	OpQueryInformationDomain2:      "SamrQueryInformationDomain2",
	OpGetDomainPasswordInformation: "SamrGetDomainPasswordInformation",
	OpConnect2:                     "SamrConnect2",
	OpConnect5:                     "SamrConnect5",
}

// CallName names an opnum: the method name when this package decodes it,
// "opnum N" otherwise.
func CallName(opnum uint16) string {
	if n, ok := replyCallNames[opnum]; ok {
		return n
	}
	return fmt.Sprintf("opnum %d", opnum)
}

// SamrQueryDisplayInformation2 and 3 ([MS-SAMR] 3.1.5.3.2, 3.1.5.3.1)
// take and return what SamrQueryDisplayInformation does.
const (
	OpQueryDisplayInformation2 = 48
	OpQueryDisplayInformation3 = 51
)

// OpConnect is SamrConnect ([MS-SAMR] 3.1.5.1.4): a handle reply, like
// Connect2.
const OpConnect = 0

// ErrNotDecoded is returned for an opnum (or class) this package has no
// reply decoder for.
var ErrNotDecoded = fmt.Errorf("%w: no decoder for this call", ErrBadReply)

// DecodeReply decodes the response stub of opnum, given the request stub.
func DecodeReply(opnum uint16, req, stub []byte) (*Reply, error) {
	out := &Reply{Opnum: opnum, Call: CallName(opnum)}
	var err error
	handle := func(h ndr.Handle) {
		if !h.IsZero() {
			out.Handle = &h
		}
	}
	switch opnum {
	case OpConnect, OpCloseHandle, OpOpenDomain, OpOpenGroup, OpOpenAlias, OpOpenUser, OpConnect2:
		var h ndr.Handle
		h, out.Status, err = decHandleReply(stub)
		handle(h)
	case OpConnect5:
		var h ndr.Handle
		h, out.Status, err = decConnect5(stub)
		handle(h)
	case OpEnumerateDomainsInSamServer, OpEnumerateGroupsInDomain, OpEnumerateUsersInDomain, OpEnumerateAliasesInDomain:
		var e enumReply
		e, out.Status, err = decEnum(stub)
		out.Entries = e.Entries
	case OpLookupDomainInSamServer:
		var sid ndr.SID
		sid, out.Status, err = decLookupDomain(stub)
		if err == nil && !out.Status.IsError() {
			out.DomainSID = &sid
		}
	case OpQueryDisplayInformation, OpQueryDisplayInformation2, OpQueryDisplayInformation3:
		if c, ok := requestClass(req); !ok || c != displayUser {
			return out, fmt.Errorf("%w: display class %d", ErrNotDecoded, c)
		}
		var d displayReply
		d, out.Status, err = decQueryDisplay(stub)
		out.Users = d.Users
	case OpGetMembersInGroup:
		out.GroupMembers, out.Status, err = decGetMembersInGroup(stub)
	case OpGetMembersInAlias:
		out.AliasMembers, out.Status, err = decGetMembersInAlias(stub)
	case OpQueryInformationDomain, OpQueryInformationDomain2:
		c, ok := requestClass(req)
		if !ok {
			return out, fmt.Errorf("%w: request without a class", ErrBadReply)
		}
		var d DomainInfo
		d, out.Status, err = decQueryDomainInfo(stub, c)
		if err == nil && !out.Status.IsError() {
			out.Domain = &d
		}
	case OpGetDomainPasswordInformation:
		var p DomainPasswordInfo
		p, out.Status, err = decGetDomainPasswordInformation(stub)
		if err == nil && !out.Status.IsError() {
			out.PasswordInfo = &p
		}
	case OpLookupIdsInDomain:
		rids, rerr := requestRIDs(req)
		if rerr != nil {
			return out, rerr
		}
		out.Lookups, out.Status, err = decLookupIds(stub, rids)
	case OpQueryInformationUser:
		c, ok := requestClass(req)
		switch {
		case ok && c == UserControlInformation:
			var acb uint32
			acb, out.Status, err = decQueryUserControl(stub)
			if err == nil && !out.Status.IsError() {
				out.ACB = &acb
			}
		case ok && c == UserAllInformation:
			var u UserDetails
			u, out.Status, err = decQueryUserAll(stub)
			if err == nil && !out.Status.IsError() {
				out.User = &u
			}
		default:
			return out, fmt.Errorf("%w: user class %d", ErrNotDecoded, c)
		}
	default:
		return out, ErrNotDecoded
	}
	if err != nil {
		return out, fmt.Errorf("samr: %s: %w", out.Call, err)
	}
	return out, nil
}

// requestClass reads the 16-bit information class that follows the
// 20-byte handle in QueryDisplayInformation, QueryInformationDomain(2) and
// QueryInformationUser requests.
func requestClass(req []byte) (uint16, bool) {
	if len(req) < 22 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(req[20:]), true
}

// requestRIDs reads SamrLookupIdsInDomain's request: the handle, Count and
// the conformant-varying RelativeIds array ([MS-SAMR] 3.1.5.11.2).
func requestRIDs(req []byte) ([]uint32, error) {
	r := ndr.NewReader(req)
	r.Handle()
	count := r.Uint32()
	n := r.ConformantVaryingCount(4)
	if r.Err() == nil && (uint32(n) != count || n > MaxLookup) {
		r.Fail(fmt.Errorf("%d RIDs in an array of %d", count, n))
	}
	rids := r.Uint32s(n)
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("samr: SamrLookupIdsInDomain request: %w", err)
	}
	return rids, nil
}
