package samr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// UserAllInformation is the information class of SAMPR_USER_ALL_INFORMATION.
const UserAllInformation uint16 = 21

// Rights QueryUserDetails needs: general, preferences, logon and account
// information ([MS-SAMR] 3.1.5.5.6).
const UserReadDetails uint32 = 0x00000001 | 0x00000002 | 0x00000008 | UserReadAccount

// UserDetails is the readable part of SAMPR_USER_ALL_INFORMATION
// ([MS-SAMR] 2.2.7.6). Times are raw FILETIMEs (100 ns since 1601); see
// FileTime. Password hashes, private data and the security descriptor are
// skipped (a server never gives them to an anonymous caller anyway).
type UserDetails struct {
	RID            uint32
	PrimaryGroupID uint32
	ACB            uint32
	WhichFields    uint32

	Name          string
	FullName      string
	HomeDirectory string
	HomeDrive     string
	ScriptPath    string
	ProfilePath   string
	Description   string // AdminComment
	Workstations  string
	UserComment   string

	LastLogon          int64
	LastLogoff         int64
	PasswordLastSet    int64
	AccountExpires     int64
	PasswordCanChange  int64
	PasswordMustChange int64

	BadPasswordCount uint16
	LogonCount       uint16
	CountryCode      uint16
	CodePage         uint16
	UnitsPerWeek     uint16
	LogonHours       []byte
	PasswordExpired  bool
}

// FileTime converts an absolute FILETIME to a time. set is false for the
// values that mean "not set" or "never": 0 and 0x7fffffffffffffff (and
// anything negative).
func FileTime(raw int64) (t time.Time, set bool) {
	if raw <= 0 || raw == 0x7fffffffffffffff {
		return time.Time{}, false
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	// Seconds and the rest apart: raw*100 ns overflows a Duration past 2262.
	since := raw - epochDiff
	sec, rest := since/10_000_000, since%10_000_000
	if rest < 0 {
		sec, rest = sec-1, rest+10_000_000
	}
	return time.Unix(sec, rest*100).UTC(), true
}

// Bounds of the deferred arrays, from the IDL's size_is / range.
const (
	maxLogonHours = 1260
	maxSD         = 256 * 1024
)

// decQueryUserAll decodes SamrQueryInformationUser class 21: a unique
// pointer to the union (16-bit discriminant, 4-aligned arm), the
// structure's scalars, then its deferred strings and arrays in order.
func decQueryUserAll(stub []byte) (UserDetails, ntstatus.Status, error) {
	var u UserDetails
	if st, isErr, err := errorStatus(stub); err != nil || isErr {
		return u, st, err
	}
	r := ndr.NewReader(stub)
	if r.Pointer() == 0 {
		r.Fail(errors.New("null user information"))
	}
	if tag := r.Uint16(); r.Err() == nil && tag != UserAllInformation {
		r.Fail(fmt.Errorf("user information class %d, asked %d", tag, UserAllInformation))
	}
	u.LastLogon = oldLargeInteger(r)
	u.LastLogoff = oldLargeInteger(r)
	u.PasswordLastSet = oldLargeInteger(r)
	u.AccountExpires = oldLargeInteger(r)
	u.PasswordCanChange = oldLargeInteger(r)
	u.PasswordMustChange = oldLargeInteger(r)
	for _, s := range []*string{&u.Name, &u.FullName, &u.HomeDirectory, &u.HomeDrive, &u.ScriptPath,
		&u.ProfilePath, &u.Description, &u.Workstations, &u.UserComment} {
		r.UnicodeString(s)
	}
	var ignored string
	r.UnicodeString(&ignored) // Parameters
	shortBlob(r)              // LmOwfPassword
	shortBlob(r)              // NtOwfPassword
	r.UnicodeString(&ignored) // PrivateData
	// SecurityDescriptor: Length, pointer to Length bytes.
	sdLen := r.Uint32()
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(1)
			if r.Err() == nil && (uint32(n) != sdLen || n > maxSD) {
				r.Fail(fmt.Errorf("security descriptor of %d bytes, length %d", n, sdLen))
				return
			}
			r.Skip(n)
		})
	}
	u.RID = r.Uint32()
	u.PrimaryGroupID = r.Uint32()
	u.ACB = r.Uint32()
	u.WhichFields = r.Uint32()
	// LogonHours: UnitsPerWeek, pointer to a size_is(1260) varying byte array.
	u.UnitsPerWeek = r.Uint16()
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			max := r.Uint32()
			if r.Err() == nil && max > maxLogonHours {
				r.Fail(fmt.Errorf("logon hours max_count %d", max))
				return
			}
			n := r.VaryingCount(max, 1)
			u.LogonHours = r.Bytes(n)
		})
	}
	u.BadPasswordCount = r.Uint16()
	u.LogonCount = r.Uint16()
	u.CountryCode = r.Uint16()
	u.CodePage = r.Uint16()
	r.Uint8() // LmPasswordPresent
	r.Uint8() // NtPasswordPresent
	u.PasswordExpired = r.Uint8() != 0
	r.Uint8() // PrivateDataSensitive
	r.Flush()
	st, err := finish(r)
	if err != nil {
		return UserDetails{}, 0, err
	}
	return u, st, nil
}

// shortBlob reads an RPC_SHORT_BLOB and skips its deferred body.
func shortBlob(r *ndr.Reader) {
	r.Uint16() // Length
	r.Uint16() // MaximumLength
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantVaryingCount(2)
			r.Uint16s(n)
		})
	}
}

// QueryUserDetails is SamrQueryInformationUser (opnum 36) class 21, on a
// handle opened with UserReadDetails.
func (c *Client) QueryUserDetails(ctx context.Context, user Handle) (UserDetails, error) {
	start := time.Now()
	stub, err := c.call(ctx, OpQueryInformationUser, encHandleClass(user, UserAllInformation))
	var u UserDetails
	var st ntstatus.Status
	if err == nil {
		u, st, err = decQueryUserAll(stub)
	}
	return u, c.done(OpQueryInformationUser, "QueryInformationUser", "class 21", start, st, err)
}
