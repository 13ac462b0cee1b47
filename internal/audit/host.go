package audit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// OS families the inference tells apart; each changes which defaults
// apply and which settings exist.
const (
	FamilySamba      = "samba"
	FamilyNT4        = "windows-nt4"
	Family2000       = "windows-2000"
	FamilyXP2003     = "windows-xp-2003"
	FamilyVista2012  = "windows-vista-2012r2"
	FamilyWin10Early = "windows-10-pre1607"
	Family2016       = "windows-2016+"
	FamilyWindows    = "windows" // Windows, version not known
	FamilyUnknown    = "unknown"
)

// Roles.
const (
	RoleDC         = "dc"
	RoleMember     = "member"
	RoleStandalone = "standalone"
	RoleUnknown    = "unknown"
)

// Host is what the inference decided about the target's platform.
type Host struct {
	Family string `json:"family"`
	OS     string `json:"os,omitempty"`
	Role   string `json:"role"`
	// FamilyEvidence and RoleEvidence are the facts each was decided on.
	FamilyEvidence []string `json:"family_evidence"`
	RoleEvidence   []string `json:"role_evidence"`
}

// Samba reports whether the target was recognised as Samba.
func (h Host) Samba() bool { return h.Family == FamilySamba }

// Windows reports whether the target was recognised as Windows.
func (h Host) Windows() bool { return strings.HasPrefix(h.Family, "windows") }

// Server type bits (MS-SRVS 2.2.2.7) the identification uses.
const (
	svTypeDomainCtrl    = 0x00000008
	svTypeDomainBakCtrl = 0x00000010
	svTypeServerUnix    = 0x00000800
)

// Identify decides the OS family and role from NativeOS/NativeLanMan, the
// NTLM version, the server type and the LSA domains.
func Identify(r *enum.Result) Host {
	h := Host{Family: FamilyUnknown, Role: RoleUnknown, FamilyEvidence: []string{}, RoleEvidence: []string{}}
	var ntlmVer string
	if r.SMB != nil {
		if r.SMB.NTLM != nil {
			ntlmVer = r.SMB.NTLM.OSVersion
		}
		if lm := r.SMB.NativeLanMan; strings.Contains(strings.ToLower(lm), "samba") {
			h.Family, h.OS = FamilySamba, lm
			h.FamilyEvidence = append(h.FamilyEvidence, fmt.Sprintf("SMB1 NativeLanMan %q", lm))
		}
	}
	si := r.ServerInfo
	if si != nil && si.Type&svTypeServerUnix != 0 {
		if h.Family != FamilySamba {
			h.Family = FamilySamba
		}
		h.FamilyEvidence = append(h.FamilyEvidence, fmt.Sprintf("server type 0x%08x has SV_TYPE_SERVER_UNIX (0x800)", si.Type))
	}
	if si != nil && strings.Contains(strings.ToLower(si.Comment), "samba") {
		h.Family = FamilySamba
		if h.OS == "" {
			h.OS = si.Comment
		}
		h.FamilyEvidence = append(h.FamilyEvidence, fmt.Sprintf("server comment %q", si.Comment))
	}
	major, minor, build, verOK := parseVersion(ntlmVer)
	// Samba's NTLMSSP CHALLENGE always says 6.1 build 0; Windows 7 and
	// 2008 R2 send their real build (7600/7601).
	if verOK && major == 6 && minor == 1 && build == 0 {
		if h.Family == FamilyUnknown {
			h.Family = FamilySamba
		}
		h.FamilyEvidence = append(h.FamilyEvidence, "NTLM version 6.1 build 0 (what Samba sends; Windows sends its real build)")
	}
	if h.Family == FamilyUnknown && verOK {
		h.Family = windowsFamily(major, minor, build)
		h.OS = fmt.Sprintf("Windows %d.%d build %d", major, minor, build)
		h.FamilyEvidence = append(h.FamilyEvidence, "NTLM version "+ntlmVer)
	}
	if h.Family == FamilyUnknown && r.SMB != nil && r.SMB.NativeOS != "" {
		if f := nativeOSFamily(r.SMB.NativeOS); f != "" {
			h.Family, h.OS = f, r.SMB.NativeOS
			h.FamilyEvidence = append(h.FamilyEvidence, fmt.Sprintf("SMB1 NativeOS %q", r.SMB.NativeOS))
		}
	}
	if h.Samba() && h.OS == "" {
		h.OS = "Samba"
	}

	// Role.
	switch {
	case si != nil && si.Type&(svTypeDomainCtrl|svTypeDomainBakCtrl) != 0:
		h.Role = RoleDC
		h.RoleEvidence = append(h.RoleEvidence, fmt.Sprintf("server type 0x%08x has SV_TYPE_DOMAIN_CTRL/BAKCTRL", si.Type))
	case r.Domain != nil && strings.Contains(strings.ToLower(r.Domain.Role), "controller"):
		h.Role = RoleDC
		h.RoleEvidence = append(h.RoleEvidence, "LSA role "+r.Domain.Role)
	case r.PrimaryDomain != nil && r.Domain != nil && r.PrimaryDomain.SID != nil && r.Domain.SID != "":
		// A DC's account domain is the domain; a member has its own SAM.
		if *r.PrimaryDomain.SID == r.Domain.SID {
			h.Role = RoleDC
			h.RoleEvidence = append(h.RoleEvidence, "account domain SID = primary domain SID "+r.Domain.SID)
		} else {
			h.Role = RoleMember
			h.RoleEvidence = append(h.RoleEvidence, "account domain SID differs from the primary domain's")
		}
	case r.PrimaryDomain != nil && r.PrimaryDomain.SID == nil:
		h.Role = RoleStandalone
		h.RoleEvidence = append(h.RoleEvidence, "primary domain "+r.PrimaryDomain.Name+" has no SID (workgroup)")
	case nbHasGroup(r, "<1c>"):
		h.Role = RoleDC
		h.RoleEvidence = append(h.RoleEvidence, "NetBIOS domain controllers name <1c> registered")
	case r.SMB != nil && r.SMB.NTLM != nil && r.SMB.NTLM.DNSDomain == "" && r.SMB.NTLM.NetBIOSDomain != "" &&
		r.SMB.NTLM.NetBIOSDomain == r.SMB.NTLM.NetBIOSComputer:
		h.Role = RoleStandalone
		h.RoleEvidence = append(h.RoleEvidence, "NTLM domain name = computer name, no DNS domain")
	case r.SMB != nil && r.SMB.NTLM != nil && r.SMB.NTLM.DNSDomain != "" && r.SMB.SigningRequired && h.Samba():
		// Samba AD DCs require signing by default; members and standalone
		// servers do not.
		h.Role = RoleDC
		h.RoleEvidence = append(h.RoleEvidence, "NTLM DNS domain "+r.SMB.NTLM.DNSDomain+" and signing required (a Samba AD DC's default)")
	}
	identifyDoors(r, &h)
	return h
}

func nbHasGroup(r *enum.Result, suffix string) bool {
	if r.NetBIOS == nil {
		return false
	}
	for _, n := range r.NetBIOS.Names {
		if n.Suffix == suffix && n.Group {
			return true
		}
	}
	return false
}

func parseVersion(v string) (major, minor, build int, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0, 0, 0, false
	}
	var err error
	if major, err = strconv.Atoi(parts[0]); err != nil {
		return 0, 0, 0, false
	}
	if minor, err = strconv.Atoi(parts[1]); err != nil {
		return 0, 0, 0, false
	}
	if len(parts) > 2 {
		if build, err = strconv.Atoi(parts[2]); err != nil {
			return 0, 0, 0, false
		}
	}
	return major, minor, build, true
}

func windowsFamily(major, minor, build int) string {
	switch {
	case major == 5 && minor == 0:
		return Family2000
	case major == 5:
		return FamilyXP2003
	case major == 6:
		return FamilyVista2012
	case major == 10 && build >= 14393:
		return Family2016
	case major == 10:
		return FamilyWin10Early
	case major < 5:
		return FamilyNT4
	}
	return FamilyWindows
}

func nativeOSFamily(s string) string {
	l := strings.ToLower(s)
	switch {
	case strings.Contains(l, "nt 4"):
		return FamilyNT4
	case strings.Contains(l, "windows 5.0"), strings.Contains(l, "windows 2000"):
		return Family2000
	case strings.Contains(l, "windows 5.1"), strings.Contains(l, "2003"), strings.Contains(l, "windows 5.2"):
		return FamilyXP2003
	case strings.HasPrefix(l, "windows"):
		return FamilyWindows
	}
	return ""
}
