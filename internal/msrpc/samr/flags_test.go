package samr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The raw values of docs/samba.md (policy times), read from the lab's DC and
// standalone servers.
func TestDuration(t *testing.T) {
	const day = 86400
	neg := func(ticks int64) uint64 { return uint64(-ticks) }
	tests := []struct {
		what  string
		raw   uint64
		secs  int64
		never bool
	}{
		{"dc max password age (42 d)", 0xffffdeff0aa68000, 42 * day, false},
		{"dc min password age (1 d)", 0xffffff36d5964000, day, false},
		{"dc lockout duration/window (30 min)", 0xfffffffbcf1dcc00, 1800, false},
		{"dc force logoff (never)", 0x8000000000000000, 0, true},
		{"standalone max password age (never)", 0xff6769800098967f, 0, true},
		{"standalone force logoff (never)", 0xff6769800098967f, 0, true},
		{"standalone lockout duration (30 min + 1 tick)", 0xfffffffbcf1dcbff, 1800, false},
		{"standalone min password age (none)", 0, 0, false},
		{"half a second rounds up", neg(5_000_000), 1, false},
		{"just under half a second rounds down", neg(4_999_999), 0, false},
		{"999 days (Windows' largest age)", neg(999 * day * 10_000_000), 999 * day, false},
		{"positive value read by magnitude", 18_000_000_000, 1800, false},
	}
	for _, tt := range tests {
		secs, never := Duration(int64(tt.raw))
		if never != tt.never {
			t.Errorf("%s: never=%v", tt.what, never)
			continue
		}
		if never {
			if secs != nil {
				t.Errorf("%s: never with seconds %d", tt.what, *secs)
			}
			continue
		}
		if secs == nil || *secs != tt.secs {
			t.Errorf("%s: got %v, want %d s", tt.what, secs, tt.secs)
		}
	}
}

func TestACBNames(t *testing.T) {
	tests := []struct {
		acb  uint32
		want []string
	}{
		{0, []string{}},
		{0x10, []string{"normal"}},
		// the DC's Guest, from QueryInformationUser class 16
		{0x215, []string{"disabled", "password_not_required", "normal", "password_never_expires"}},
		// the DC's machine account DC1$
		{0x2100, []string{"server_trust", "trusted_for_delegation"}},
		{0x80 | 0x40, []string{"domain_trust", "workstation_trust"}},
		{0x400 | 0x8 | 0x2 | 0x20, []string{"homedir_required", "temp_duplicate", "mns", "autolock"}},
		{0x80000000 | 0x1, []string{"disabled", "0x80000000"}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, ACBNames(tt.acb)); d != "" {
			t.Errorf("0x%x (-want +got):\n%s", tt.acb, d)
		}
	}
	if d := cmp.Diff([]string{"DOMAIN_PASSWORD_COMPLEX", "DOMAIN_LOCKOUT_ADMINS", "0x00000100"}, PasswordPropertyNames(0x109)); d != "" {
		t.Error(d)
	}
	if got := PasswordPropertyNames(0); got == nil || len(got) != 0 {
		t.Errorf("0: %v", got)
	}
}
