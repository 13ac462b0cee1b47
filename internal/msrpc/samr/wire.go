package samr

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Opnums, [MS-SAMR] 3.1.5.
const (
	OpCloseHandle                  = 1
	OpLookupDomainInSamServer      = 5
	OpEnumerateDomainsInSamServer  = 6
	OpOpenDomain                   = 7
	OpQueryInformationDomain       = 8
	OpEnumerateGroupsInDomain      = 11
	OpEnumerateUsersInDomain       = 13
	OpEnumerateAliasesInDomain     = 15
	OpLookupNamesInDomain          = 17
	OpLookupIdsInDomain            = 18
	OpOpenGroup                    = 19
	OpGetMembersInGroup            = 25
	OpOpenAlias                    = 27
	OpGetMembersInAlias            = 33
	OpOpenUser                     = 34
	OpQueryInformationUser         = 36
	OpQueryDisplayInformation      = 40
	OpQueryInformationDomain2      = 46
	OpGetDomainPasswordInformation = 56
	OpConnect2                     = 57
	OpConnect5                     = 64
)

// Sentinel errors for replies that do not decode. They reach callers
// wrapped as "samr: <call>: malformed reply: …", hence no prefix here.
var (
	ErrShortReply = errors.New("reply shorter than its status")
	ErrBadReply   = errors.New("malformed reply")
)

// MaxLookup is the most RIDs or names one LookupIdsInDomain or
// LookupNamesInDomain call carries: the IDL's range(0,1000). Samba answers
// RPC_NT_BAD_STUB_DATA beyond it.
const MaxLookup = 1000

// Sizes of array elements on the wire, used to bound counts before
// allocating: a SAMPR_RID_ENUMERATION is a RID and an RPC_UNICODE_STRING
// header; a SAMPR_DOMAIN_DISPLAY_USER three ulongs and three strings.
const (
	ridEnumSize     = 4 + 8
	displayUserSize = 12 + 3*8
	unicodeStrSize  = 8
)

// replyStatus reads the NTSTATUS every SAMR reply ends with.
func replyStatus(stub []byte) (ntstatus.Status, error) {
	if len(stub) < 4 {
		return 0, ErrShortReply
	}
	return ntstatus.Status(binary.LittleEndian.Uint32(stub[len(stub)-4:])), nil
}

// finish checks the reader consumed the body cleanly and returns the
// status. The status is read at the position the body ends, which must be
// the last four bytes of the stub.
func finish(r *ndr.Reader) (ntstatus.Status, error) {
	st := ntstatus.Status(r.Uint32())
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadReply, err)
	}
	if n := r.Remaining(); n != 0 {
		return 0, fmt.Errorf("%w: %d bytes after the status", ErrBadReply, n)
	}
	return st, nil
}

// errorStatus reports an error-severity status at the end of stub. Such a
// reply's out parameters are not meaningful (Samba fills them with empty
// values, Windows with nulls), so decoders stop there.
func errorStatus(stub []byte) (ntstatus.Status, bool, error) {
	st, err := replyStatus(stub)
	if err != nil {
		return 0, false, err
	}
	return st, st.IsError(), nil
}

// ---- requests ----

func encHandle(h ndr.Handle) []byte {
	var w ndr.Writer
	w.Handle(h)
	return w.Bytes()
}

// encConnect2 encodes SamrConnect2: [in, unique, string] ServerName, then
// DesiredAccess. The server name is sent as the empty string, as Windows
// and impacket do.
func encConnect2(access uint32) []byte {
	var w ndr.Writer
	name := ""
	w.UniqueStringZ(&name)
	w.Uint32(access)
	return w.Bytes()
}

// encConnect5 encodes SamrConnect5 with InVersion 1 and
// SAMPR_REVISION_INFO_V1{Revision 3, SupportedFeatures 0}.
func encConnect5(access uint32) []byte {
	var w ndr.Writer
	name := ""
	w.UniqueStringZ(&name)
	w.Uint32(access)
	w.Uint32(1) // InVersion
	w.Uint32(1) // union discriminant
	w.Uint32(3) // Revision
	w.Uint32(0) // SupportedFeatures
	return w.Bytes()
}

// encEnum encodes the common shape of SamrEnumerateDomainsInSamServer,
// EnumerateGroupsInDomain and EnumerateAliasesInDomain: handle,
// [in, out] EnumerationContext, PreferedMaximumLength.
func encEnum(h ndr.Handle, resume, maxLen uint32) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(resume)
	w.Uint32(maxLen)
	return w.Bytes()
}

// encEnumUsers adds the UserAccountControl filter before the length.
func encEnumUsers(h ndr.Handle, resume, acb, maxLen uint32) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(resume)
	w.Uint32(acb)
	w.Uint32(maxLen)
	return w.Bytes()
}

func encLookupDomain(h ndr.Handle, name string) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.UnicodeString(name)
	w.Flush()
	return w.Bytes()
}

func encOpenDomain(h ndr.Handle, access uint32, sid ndr.SID) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(access)
	w.SID(sid)
	return w.Bytes()
}

// encOpenByRID encodes SamrOpenGroup, SamrOpenAlias and SamrOpenUser:
// domain handle, DesiredAccess, RID.
func encOpenByRID(h ndr.Handle, access, rid uint32) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(access)
	w.Uint32(rid)
	return w.Bytes()
}

// encQueryDisplay encodes SamrQueryDisplayInformation. The information
// class is an enum: 16 bits on the wire.
func encQueryDisplay(h ndr.Handle, class uint16, index, count, maxLen uint32) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint16(class)
	w.Uint32(index)
	w.Uint32(count)
	w.Uint32(maxLen)
	return w.Bytes()
}

// encHandleClass encodes SamrQueryInformationDomain(2) and
// SamrQueryInformationUser: handle and a 16-bit information class.
func encHandleClass(h ndr.Handle, class uint16) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint16(class)
	return w.Bytes()
}

// encGetDomainPasswordInformation sends the [in, unique] Unused string as
// a null pointer.
func encGetDomainPasswordInformation() []byte {
	var w ndr.Writer
	w.Pointer(false)
	return w.Bytes()
}

// encLookupIds encodes SamrLookupIdsInDomain: Count, then RelativeIds as a
// conformant varying array with max_count 1000 (size_is(1000),
// length_is(Count)).
func encLookupIds(h ndr.Handle, rids []uint32) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(uint32(len(rids)))
	w.Uint32(MaxLookup)
	w.Uint32(0)
	w.Uint32(uint32(len(rids)))
	for _, r := range rids {
		w.Uint32(r)
	}
	return w.Bytes()
}

// encLookupNames encodes SamrLookupNamesInDomain: Count, then Names as a
// conformant varying array of RPC_UNICODE_STRING with max_count 1000.
func encLookupNames(h ndr.Handle, names []string) []byte {
	var w ndr.Writer
	w.Handle(h)
	w.Uint32(uint32(len(names)))
	w.Uint32(MaxLookup)
	w.Uint32(0)
	w.Uint32(uint32(len(names)))
	for _, n := range names {
		w.UnicodeString(n)
	}
	w.Flush()
	return w.Bytes()
}

// ---- replies ----

// decHandleReply decodes a reply that is one context handle and a status:
// SamrConnect2, OpenDomain, OpenGroup, OpenAlias, OpenUser, CloseHandle.
func decHandleReply(stub []byte) (ndr.Handle, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return ndr.Handle{}, st, err
	}
	r := ndr.NewReader(stub)
	h := r.Handle()
	st, err := finish(r)
	return h, st, err
}

// decConnect5 decodes SamrConnect5: OutVersion, SAMPR_REVISION_INFO
// (discriminant, Revision, SupportedFeatures), the handle.
func decConnect5(stub []byte) (ndr.Handle, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return ndr.Handle{}, st, err
	}
	r := ndr.NewReader(stub)
	ver := r.Uint32()
	tag := r.Uint32()
	if r.Err() == nil && (ver != 1 || tag != 1) {
		r.Fail(fmt.Errorf("revision info version %d, arm %d", ver, tag))
	}
	r.Uint32() // Revision
	r.Uint32() // SupportedFeatures
	h := r.Handle()
	st, err := finish(r)
	return h, st, err
}

// RIDName is one SAMPR_RID_ENUMERATION entry: a RID (or domain index) and
// a name.
type RIDName struct {
	RID  uint32
	Name string
}

// enumReply is the common reply of the four Enumerate* calls.
type enumReply struct {
	Resume  uint32
	Entries []RIDName
}

// decEnum decodes EnumerationContext, PSAMPR_ENUMERATION_BUFFER
// (EntriesRead and a pointer to the entries), CountReturned.
func decEnum(stub []byte) (enumReply, ntstatus.Status, error) {
	var out enumReply
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return out, st, err
	}
	r := ndr.NewReader(stub)
	out.Resume = r.Uint32()
	if r.Pointer() != 0 {
		read := r.Uint32()
		if r.Pointer() != 0 {
			r.Defer(func(r *ndr.Reader) {
				n := r.ConformantCount(ridEnumSize)
				if r.Err() == nil && uint32(n) != read {
					r.Fail(fmt.Errorf("%d entries in an array of %d", read, n))
					return
				}
				out.Entries = make([]RIDName, n)
				for i := range out.Entries {
					out.Entries[i].RID = r.Uint32()
					r.UnicodeString(&out.Entries[i].Name)
				}
			})
		}
		r.Flush()
	}
	r.Uint32() // CountReturned
	st, err := finish(r)
	if err != nil {
		return enumReply{}, 0, err
	}
	return out, st, nil
}

// decLookupDomain decodes a PRPC_SID* reply.
func decLookupDomain(stub []byte) (ndr.SID, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return ndr.SID{}, st, err
	}
	r := ndr.NewReader(stub)
	var sid ndr.SID
	if r.Pointer() == 0 {
		r.Fail(errors.New("null domain SID"))
	} else {
		sid = r.SID()
	}
	st, err := finish(r)
	if err != nil {
		return ndr.SID{}, 0, err
	}
	return sid, st, nil
}

// DisplayUser is one SAMPR_DOMAIN_DISPLAY_USER ([MS-SAMR] 2.2.8.2).
type DisplayUser struct {
	Index       uint32
	RID         uint32
	ACB         uint32
	Name        string
	Description string // AdminComment
	FullName    string
}

// displayReply is SamrQueryDisplayInformation's reply for class 1.
type displayReply struct {
	TotalAvailable uint32 // bytes, as servers fill it
	TotalReturned  uint32
	Users          []DisplayUser
}

// decQueryDisplay decodes TotalAvailable, TotalReturned and the
// SAMPR_DISPLAY_INFO_BUFFER union (16-bit discriminant) for
// DomainDisplayUser (1).
func decQueryDisplay(stub []byte) (displayReply, ntstatus.Status, error) {
	var out displayReply
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return out, st, err
	}
	r := ndr.NewReader(stub)
	out.TotalAvailable = r.Uint32()
	out.TotalReturned = r.Uint32()
	if tag := r.Uint16(); r.Err() == nil && tag != displayUser {
		r.Fail(fmt.Errorf("display class %d, asked %d", tag, displayUser))
	}
	read := r.Uint32()
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(displayUserSize)
			if r.Err() == nil && uint32(n) != read {
				r.Fail(fmt.Errorf("%d entries in an array of %d", read, n))
				return
			}
			out.Users = make([]DisplayUser, n)
			for i := range out.Users {
				u := &out.Users[i]
				u.Index = r.Uint32()
				u.RID = r.Uint32()
				u.ACB = r.Uint32()
				r.UnicodeString(&u.Name)
				r.UnicodeString(&u.Description)
				r.UnicodeString(&u.FullName)
			}
		})
	}
	r.Flush()
	st, err := finish(r)
	if err != nil {
		return displayReply{}, 0, err
	}
	return out, st, nil
}

// GroupMember is one member of a domain group: a RID in the group's
// domain and its SE_GROUP_* attributes.
type GroupMember struct {
	RID        uint32
	Attributes uint32
}

// decGetMembersInGroup decodes PSAMPR_GET_MEMBERS_BUFFER: MemberCount and
// two unique pointers to conformant ulong arrays (RIDs, attributes).
func decGetMembersInGroup(stub []byte) ([]GroupMember, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return nil, st, err
	}
	r := ndr.NewReader(stub)
	var rids, attrs []uint32
	if r.Pointer() != 0 {
		count := r.Uint32()
		readArray := func(dst *[]uint32) func(*ndr.Reader) {
			return func(r *ndr.Reader) {
				n := r.ConformantCount(4)
				if r.Err() == nil && uint32(n) != count {
					r.Fail(fmt.Errorf("%d members in an array of %d", count, n))
					return
				}
				*dst = r.Uint32s(n)
			}
		}
		if r.Pointer() != 0 {
			r.Defer(readArray(&rids))
		}
		if r.Pointer() != 0 {
			r.Defer(readArray(&attrs))
		}
		r.Flush()
		if r.Err() == nil && count > 0 && (rids == nil || (attrs != nil && len(attrs) != len(rids))) {
			r.Fail(errors.New("member arrays missing or of different lengths"))
		}
	}
	st, err := finish(r)
	if err != nil {
		return nil, 0, err
	}
	out := make([]GroupMember, len(rids))
	for i := range rids {
		out[i].RID = rids[i]
		if i < len(attrs) {
			out[i].Attributes = attrs[i]
		}
	}
	return out, st, nil
}

// decGetMembersInAlias decodes SAMPR_PSID_ARRAY_OUT: Count and a unique
// pointer to an array of unique SID pointers.
func decGetMembersInAlias(stub []byte) ([]ndr.SID, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return nil, st, err
	}
	r := ndr.NewReader(stub)
	var sids []ndr.SID
	count := r.Uint32()
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			sids = r.SIDPointerArray()
			if r.Err() == nil && uint32(len(sids)) != count {
				r.Fail(fmt.Errorf("%d members in an array of %d", count, len(sids)))
			}
		})
	}
	r.Flush()
	st, err := finish(r)
	if err != nil {
		return nil, 0, err
	}
	return sids, st, nil
}

// Domain information classes ([MS-SAMR] 2.2.3.16) read by this package.
const (
	DomainPasswordInformation uint16 = 1
	DomainLogoffInformation   uint16 = 3
	DomainLockoutInformation  uint16 = 12
)

// PasswordInfo is DOMAIN_PASSWORD_INFORMATION ([MS-SAMR] 2.2.4.5). Ages are
// raw relative times; see Duration.
type PasswordInfo struct {
	MinLength     uint16
	HistoryLength uint16
	Properties    uint32
	MaxAge        int64
	MinAge        int64
}

// LockoutInfo is DOMAIN_LOCKOUT_INFORMATION ([MS-SAMR] 2.2.4.15).
type LockoutInfo struct {
	Duration  int64
	Window    int64 // LockoutObservationWindow
	Threshold uint16
}

// DomainInfo holds the one arm of SAMPR_DOMAIN_INFO_BUFFER that was asked.
type DomainInfo struct {
	Class       uint16
	Password    *PasswordInfo
	ForceLogoff *int64 // DOMAIN_LOGOFF_INFORMATION, raw
	Lockout     *LockoutInfo
}

// oldLargeInteger reads an OLD_LARGE_INTEGER: LowPart, HighPart, 4-aligned.
func oldLargeInteger(r *ndr.Reader) int64 {
	lo := r.Uint32()
	hi := r.Uint32()
	return int64(uint64(hi)<<32 | uint64(lo))
}

// decQueryDomainInfo decodes SamrQueryInformationDomain(2): a unique
// pointer to the union, its 16-bit discriminant, then the arm. The union
// holds LARGE_INTEGER (hyper) members, so its arms are 8-aligned.
func decQueryDomainInfo(stub []byte, want uint16) (DomainInfo, ntstatus.Status, error) {
	out := DomainInfo{Class: want}
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return out, st, err
	}
	r := ndr.NewReader(stub)
	if r.Pointer() == 0 {
		r.Fail(errors.New("null domain information"))
	}
	tag := r.Uint16()
	if r.Err() == nil && tag != want {
		r.Fail(fmt.Errorf("domain information class %d, asked %d", tag, want))
	}
	r.Align(8)
	switch want {
	case DomainPasswordInformation:
		p := &PasswordInfo{}
		p.MinLength = r.Uint16()
		p.HistoryLength = r.Uint16()
		p.Properties = r.Uint32()
		p.MaxAge = oldLargeInteger(r)
		p.MinAge = oldLargeInteger(r)
		out.Password = p
	case DomainLogoffInformation:
		v := oldLargeInteger(r)
		out.ForceLogoff = &v
	case DomainLockoutInformation:
		l := &LockoutInfo{}
		l.Duration = int64(r.Uint64())
		l.Window = int64(r.Uint64())
		l.Threshold = r.Uint16()
		out.Lockout = l
	default:
		r.Fail(fmt.Errorf("domain information class %d not supported", want))
	}
	st, err := finish(r)
	if err != nil {
		return DomainInfo{Class: want}, 0, err
	}
	return out, st, nil
}

// DomainPasswordInfo is USER_DOMAIN_PASSWORD_INFORMATION, the reply of
// SamrGetDomainPasswordInformation ([MS-SAMR] 2.2.3.17).
type DomainPasswordInfo struct {
	MinLength  uint16
	Properties uint32
}

func decGetDomainPasswordInformation(stub []byte) (DomainPasswordInfo, ntstatus.Status, error) {
	var out DomainPasswordInfo
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return out, st, err
	}
	r := ndr.NewReader(stub)
	out.MinLength = r.Uint16()
	out.Properties = r.Uint32()
	st, err := finish(r)
	if err != nil {
		return DomainPasswordInfo{}, 0, err
	}
	return out, st, nil
}

// SIDUse is SID_NAME_USE ([MS-SAMR] 2.2.2.3, [MS-LSAT] 2.2.13).
type SIDUse uint32

// SID_NAME_USE values.
const (
	UseUser           SIDUse = 1
	UseGroup          SIDUse = 2
	UseDomain         SIDUse = 3
	UseAlias          SIDUse = 4
	UseWellKnownGroup SIDUse = 5
	UseDeleted        SIDUse = 6
	UseInvalid        SIDUse = 7
	UseUnknown        SIDUse = 8
	UseComputer       SIDUse = 9
	UseLabel          SIDUse = 10
)

// String gives the names the JSON contract uses for RID types.
func (u SIDUse) String() string {
	switch u {
	case UseUser:
		return "user"
	case UseGroup:
		return "group"
	case UseDomain:
		return "domain"
	case UseAlias:
		return "alias"
	case UseWellKnownGroup:
		return "well-known"
	case UseDeleted:
		return "deleted"
	case UseInvalid:
		return "invalid"
	case UseUnknown:
		return "unknown"
	case UseComputer:
		return "computer"
	case UseLabel:
		return "label"
	case 0:
		return "" // not looked up
	}
	return fmt.Sprintf("use-%d", uint32(u))
}

// Lookup is one translated RID or name. Use is UseUnknown and Name empty
// when the server could not map it.
type Lookup struct {
	RID  uint32
	Name string
	Use  SIDUse
}

// readUlongArray reads a SAMPR_ULONG_ARRAY: Count and a unique pointer to
// a conformant array of ulongs.
func readUlongArray(r *ndr.Reader) []uint32 {
	count := r.Uint32()
	var out []uint32
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(4)
			if r.Err() == nil && uint32(n) != count {
				r.Fail(fmt.Errorf("count %d in an array of %d", count, n))
				return
			}
			out = r.Uint32s(n)
		})
	}
	r.Flush()
	return out
}

// decLookupIds decodes SAMPR_RETURNED_USTRING_ARRAY Names and
// SAMPR_ULONG_ARRAY Use. STATUS_SOME_NOT_MAPPED is a success; on
// STATUS_NONE_MAPPED the arrays are not meaningful.
func decLookupIds(stub []byte, rids []uint32) ([]Lookup, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return nil, st, err
	}
	r := ndr.NewReader(stub)
	count := r.Uint32()
	var names []string
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(unicodeStrSize)
			if r.Err() == nil && uint32(n) != count {
				r.Fail(fmt.Errorf("%d names in an array of %d", count, n))
				return
			}
			names = make([]string, n)
			for i := range names {
				r.UnicodeString(&names[i])
			}
		})
	}
	r.Flush()
	uses := readUlongArray(r)
	st, err := finish(r)
	if err != nil {
		return nil, 0, err
	}
	if len(names) != len(rids) || len(uses) != len(rids) {
		return nil, 0, fmt.Errorf("%w: %d names and %d uses for %d RIDs", ErrBadReply, len(names), len(uses), len(rids))
	}
	out := make([]Lookup, len(rids))
	for i, rid := range rids {
		out[i] = Lookup{RID: rid, Name: names[i], Use: SIDUse(uses[i])}
	}
	return out, st, nil
}

// decLookupNames decodes two SAMPR_ULONG_ARRAYs: RelativeIds and Use.
func decLookupNames(stub []byte, names []string) ([]Lookup, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return nil, st, err
	}
	r := ndr.NewReader(stub)
	rids := readUlongArray(r)
	uses := readUlongArray(r)
	st, err := finish(r)
	if err != nil {
		return nil, 0, err
	}
	if len(rids) != len(names) || len(uses) != len(names) {
		return nil, 0, fmt.Errorf("%w: %d RIDs and %d uses for %d names", ErrBadReply, len(rids), len(uses), len(names))
	}
	out := make([]Lookup, len(names))
	for i, n := range names {
		out[i] = Lookup{RID: rids[i], Name: n, Use: SIDUse(uses[i])}
		if out[i].Use == UseUnknown {
			out[i].RID = 0 // Samba standalone sends 0xffffffff, Windows and Samba AD 0
		}
	}
	return out, st, nil
}

// User information classes ([MS-SAMR] 2.2.6.28) read by this package.
const (
	UserControlInformation uint16 = 16
)

// decQueryUserControl decodes SamrQueryInformationUser class 16:
// USER_CONTROL_INFORMATION, the account-control bits.
func decQueryUserControl(stub []byte) (uint32, ntstatus.Status, error) {
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return 0, st, err
	}
	r := ndr.NewReader(stub)
	if r.Pointer() == 0 {
		r.Fail(errors.New("null user information"))
	}
	if tag := r.Uint16(); r.Err() == nil && tag != UserControlInformation {
		r.Fail(fmt.Errorf("user information class %d, asked %d", tag, UserControlInformation))
	}
	acb := r.Uint32()
	st, err := finish(r)
	if err != nil {
		return 0, 0, err
	}
	return acb, st, nil
}

// displayUser is DOMAIN_DISPLAY_INFORMATION's DomainDisplayUser.
const displayUser uint16 = 1
