package samr

import (
	"fmt"
	"math"
)

// ACB (UserAccountControl) bits, [MS-SAMR] 2.2.1.12. Samba calls them
// ACB_*; Windows USER_*.
const (
	ACBDisabled                   uint32 = 0x00000001
	ACBHomedirRequired            uint32 = 0x00000002
	ACBPasswordNotRequired        uint32 = 0x00000004
	ACBTempDuplicate              uint32 = 0x00000008
	ACBNormal                     uint32 = 0x00000010
	ACBMNS                        uint32 = 0x00000020
	ACBDomainTrust                uint32 = 0x00000040
	ACBWorkstationTrust           uint32 = 0x00000080
	ACBServerTrust                uint32 = 0x00000100
	ACBPasswordNeverExpires       uint32 = 0x00000200
	ACBAutoLocked                 uint32 = 0x00000400
	ACBEncryptedTextAllowed       uint32 = 0x00000800
	ACBSmartcardRequired          uint32 = 0x00001000
	ACBTrustedForDelegation       uint32 = 0x00002000
	ACBNotDelegated               uint32 = 0x00004000
	ACBUseDESKeyOnly              uint32 = 0x00008000
	ACBDontRequirePreauth         uint32 = 0x00010000
	ACBPasswordExpired            uint32 = 0x00020000
	ACBTrustedToAuthForDelegation uint32 = 0x00040000
	ACBNoAuthDataRequired         uint32 = 0x00080000
	ACBPartialSecrets             uint32 = 0x00100000
	ACBUseAESKeys                 uint32 = 0x00200000
)

var acbNames = []struct {
	bit  uint32
	name string
}{
	{ACBDisabled, "disabled"},
	{ACBHomedirRequired, "homedir_required"},
	{ACBPasswordNotRequired, "password_not_required"},
	{ACBTempDuplicate, "temp_duplicate"},
	{ACBNormal, "normal"},
	{ACBMNS, "mns"},
	{ACBDomainTrust, "domain_trust"},
	{ACBWorkstationTrust, "workstation_trust"},
	{ACBServerTrust, "server_trust"},
	{ACBPasswordNeverExpires, "password_never_expires"},
	{ACBAutoLocked, "autolock"},
	{ACBEncryptedTextAllowed, "encrypted_text_password_allowed"},
	{ACBSmartcardRequired, "smartcard_required"},
	{ACBTrustedForDelegation, "trusted_for_delegation"},
	{ACBNotDelegated, "not_delegated"},
	{ACBUseDESKeyOnly, "use_des_key_only"},
	{ACBDontRequirePreauth, "dont_require_preauth"},
	{ACBPasswordExpired, "password_expired"},
	{ACBTrustedToAuthForDelegation, "trusted_to_authenticate_for_delegation"},
	{ACBNoAuthDataRequired, "no_auth_data_required"},
	{ACBPartialSecrets, "partial_secrets_account"},
	{ACBUseAESKeys, "use_aes_keys"},
}

// ACBNames names the set bits of an account-control value in bit order;
// bits the spec does not define come out as "0x%08x". The result is never
// nil, so JSON shows [] for 0.
func ACBNames(acb uint32) []string {
	out := []string{}
	for _, n := range acbNames {
		if acb&n.bit != 0 {
			out = append(out, n.name)
			acb &^= n.bit
		}
	}
	if acb != 0 {
		out = append(out, fmt.Sprintf("0x%08x", acb))
	}
	return out
}

// PasswordProperties bits of DOMAIN_PASSWORD_INFORMATION ([MS-SAMR] 2.2.4.5)
// and USER_DOMAIN_PASSWORD_INFORMATION (2.2.3.17).
const (
	PasswordComplex        uint32 = 0x01
	PasswordNoAnonChange   uint32 = 0x02
	PasswordNoClearChange  uint32 = 0x04
	LockoutAdmins          uint32 = 0x08
	PasswordStoreCleartext uint32 = 0x10
	RefusePasswordChange   uint32 = 0x20
)

var pwPropNames = []struct {
	bit  uint32
	name string
}{
	{PasswordComplex, "DOMAIN_PASSWORD_COMPLEX"},
	{PasswordNoAnonChange, "DOMAIN_PASSWORD_NO_ANON_CHANGE"},
	{PasswordNoClearChange, "DOMAIN_PASSWORD_NO_CLEAR_CHANGE"},
	{LockoutAdmins, "DOMAIN_LOCKOUT_ADMINS"},
	{PasswordStoreCleartext, "DOMAIN_PASSWORD_STORE_CLEARTEXT"},
	{RefusePasswordChange, "DOMAIN_REFUSE_PASSWORD_CHANGE"},
}

// PasswordPropertyNames names the set bits of PasswordProperties; unknown
// bits come out as "0x%08x". Never nil.
func PasswordPropertyNames(p uint32) []string {
	out := []string{}
	for _, n := range pwPropNames {
		if p&n.bit != 0 {
			out = append(out, n.name)
			p &^= n.bit
		}
	}
	if p != 0 {
		out = append(out, fmt.Sprintf("0x%08x", p))
	}
	return out
}

// NeverTicks is the "never" value of Windows and Samba AD for a relative
// time: the most negative 64-bit number.
const NeverTicks int64 = math.MinInt64

// sambaNeverSeconds is the magnitude standalone Samba writes for "never":
// -(2^32-1) seconds minus one tick (0xff6769800098967f), from its 32-bit
// time_t days. Anything that long or longer is "never" in practice too:
// Windows caps password ages at 999 days and lockout at 99,999 minutes.
const sambaNeverSeconds = 1<<32 - 1

// Duration turns a raw SAMR relative time (a negative count of 100 ns
// ticks, [MS-SAMR] 2.2.4.5) into whole seconds, rounded to the nearest
// second, or never=true (seconds nil) for the "never" encodings:
// 0x8000000000000000 (Windows, Samba AD) and anything of 2^32-1 seconds or
// more (standalone Samba's 0xff6769800098967f). Rounding absorbs the one
// tick standalone Samba adds to every duration it stores (30 min is stored
// as 0xfffffffbcf1dcbff). A positive value, which the spec does not
// define, is read by its magnitude.
func Duration(raw int64) (seconds *int64, never bool) {
	if raw == NeverTicks {
		return nil, true
	}
	ticks := uint64(raw)
	if raw < 0 {
		ticks = uint64(-raw)
	}
	s := int64((ticks + 5_000_000) / 10_000_000)
	if s >= sambaNeverSeconds {
		return nil, true
	}
	return &s, false
}
