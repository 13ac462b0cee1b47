package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Exposure names: one thing a null session gets or not, as observed on a
// host (Assess) or predicted from policy files (Predict). "share:NAME" is
// the anonymous tree connect to share NAME.
const (
	ExpNullSession = "null-session"     // anonymous SESSION_SETUP accepted
	ExpIPC         = "ipc"              // anonymous IPC$ tree connect
	ExpUsers       = "users"            // SAMR user enumeration
	ExpShares      = "shares-list"      // SRVSVC share enumeration
	ExpPolicy      = "password-policy"  // SAMR password/lockout policy
	ExpSIDLookup   = "sid-translation"  // LSA LookupSids/LookupNames
	ExpGuest       = "guest-logon"      // unknown user mapped to guest
	ExpSMB1        = "smb1"             // SMB1 dialect accepted
	ExpSigning     = "signing-required" // server requires signing
)

// Exposure values.
const (
	Yes     = "yes"
	No      = "no"
	Unknown = "unknown"
)

// Exposure is one observed or predicted fact with its reasons.
type Exposure struct {
	Name    string   `json:"name"`
	Value   string   `json:"value"` // yes | no | unknown
	Because []string `json:"because"`
	Setting string   `json:"setting,omitempty"`
}

// SettingState is one setting's state on a host (observed, consistent,
// not-observable) or in policy files (configured).
type SettingState struct {
	Name     string   `json:"name"`
	State    string   `json:"state"`
	Value    string   `json:"value,omitempty"`
	Evidence []string `json:"evidence"`
}

// Setting states.
const (
	StateObserved      = "observed"
	StateConsistent    = "consistent"
	StateNotObservable = "not-observable"
	StateConfigured    = "configured"
)

// Prediction is what policy files say a null session will see.
type Prediction struct {
	Files    []string       `json:"files"`
	Platform string         `json:"platform"` // samba | windows
	Role     string         `json:"role"`     // the role assumed: dc | member | standalone
	Settings []SettingState `json:"settings"`
	Exposure []Exposure     `json:"exposure"`
	Notes    []string       `json:"notes,omitempty"`
}

// Predict turns a Config into the exposure a null session should meet.
func Predict(cfg *Config) *Prediction {
	p := &Prediction{Files: cfg.Files, Platform: cfg.Platform()}
	for _, s := range Settings {
		v, ok := cfg.Values[s.Name]
		if !ok {
			continue
		}
		p.Settings = append(p.Settings, SettingState{Name: s.Name, State: StateConfigured, Value: v.Value, Evidence: []string{v.Source + ": " + v.Line}})
	}
	if p.Platform == "samba" {
		predictSamba(cfg, p)
	} else {
		predictWindows(cfg, p)
	}
	p.Notes = append(p.Notes, cfg.Warnings...)
	return p
}

func (p *Prediction) add(name, value, setting string, because ...string) {
	p.Exposure = append(p.Exposure, Exposure{Name: name, Value: value, Because: because, Setting: setting})
}

// why quotes a configured value, or the default when the files are silent.
func why(cfg *Config, key, def string) (string, string) {
	if v, ok := cfg.Values[key]; ok {
		return v.Value, fmt.Sprintf("%s: %s", v.Source, v.Line)
	}
	return def, fmt.Sprintf("%s not set: Samba default %s", key, def)
}

func predictSamba(cfg *Config, p *Prediction) {
	role, _ := why(cfg, "server role", "standalone server")
	dc := strings.Contains(role, "active directory domain controller")
	switch {
	case dc:
		p.Role = "dc"
	case strings.Contains(role, "member"):
		p.Role = "member"
	default:
		p.Role = "standalone"
	}
	raS, raWhy := why(cfg, SambaRestrictAnonymous, "0")
	ra, err := strconv.Atoi(strings.TrimSpace(raS))
	if err != nil {
		p.Notes = append(p.Notes, fmt.Sprintf("restrict anonymous = %q is not a number; treated as 0", raS))
	}
	p.add(ExpNullSession, Yes, SambaRestrictAnonymous, "Samba accepts an anonymous session setup at every restrict anonymous level (lab: open, restricted1, restricted)")
	if ra >= 2 {
		p.add(ExpIPC, No, SambaRestrictAnonymous, raWhy, "restrict anonymous = 2 refuses anonymous IPC$")
	} else {
		p.add(ExpIPC, Yes, SambaRestrictAnonymous, raWhy)
	}
	for _, e := range []string{ExpUsers, ExpShares, ExpPolicy} {
		if ra >= 1 {
			p.add(e, No, SambaRestrictAnonymous, raWhy, "restrict anonymous ≥ 1 denies anonymous SAMR and SRVSVC enumeration")
		} else {
			p.add(e, Yes, SambaRestrictAnonymous, raWhy)
		}
	}
	switch {
	case ra >= 2:
		p.add(ExpSIDLookup, No, SambaRestrictAnonymous, raWhy, "no anonymous IPC$, so no LSA pipe")
	case dc:
		p.add(ExpSIDLookup, Yes, SambaRestrictAnonymous, raWhy, "server role = "+role+": Samba AD refuses POLICY_LOOKUP_NAMES to ANONYMOUS LOGON but opens the policy for POLICY_VIEW_LOCAL_INFORMATION, on which LookupSids and LookupNames translate")
	default:
		p.add(ExpSIDLookup, Yes, SambaRestrictAnonymous, raWhy, "restrict anonymous < 2 leaves LSA lookups open")
	}
	mtg, mtgWhy := why(cfg, SambaMapToGuest, "Never")
	switch {
	case (mtg == "Bad User" || mtg == "Bad Password") && dc:
		p.add(ExpGuest, No, SambaMapToGuest, mtgWhy, "on an AD DC the mapping needs the AD Guest account, which is disabled by default (lab dc: LOGON_FAILURE)")
	case mtg == "Bad User" || mtg == "Bad Password":
		p.add(ExpGuest, Yes, SambaMapToGuest, mtgWhy)
	default:
		p.add(ExpGuest, No, SambaMapToGuest, mtgWhy)
	}
	minP, minWhy := why(cfg, SambaServerMinProtocol, "SMB2_02")
	maxP, maxWhy := why(cfg, "server max protocol", "SMB3")
	switch {
	case smb1Protocol(minP):
		p.add(ExpSMB1, Yes, SambaServerMinProtocol, minWhy)
	case smb1Protocol(maxP):
		p.add(ExpSMB1, Yes, SambaServerMinProtocol, maxWhy)
	default:
		p.add(ExpSMB1, No, SambaServerMinProtocol, minWhy)
	}
	sig, sigWhy := why(cfg, SambaServerSigning, "default")
	switch {
	case sig == "mandatory" || sig == "required":
		p.add(ExpSigning, Yes, SambaServerSigning, sigWhy)
	case (sig == "default" || sig == "") && dc:
		p.add(ExpSigning, Yes, SambaServerSigning, sigWhy, "default means mandatory on an AD DC")
	default:
		p.add(ExpSigning, No, SambaServerSigning, sigWhy)
	}
	for _, s := range cfg.Shares {
		if s.GuestOK {
			p.add("share:"+s.Name, Yes, SambaGuestOK, s.Source+": guest ok = yes (readable even with restrict anonymous = 2)")
		} else {
			p.add("share:"+s.Name, No, SambaGuestOK, s.Source+": no guest ok: an anonymous connect is refused")
		}
	}
}

func smb1Protocol(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "CORE", "COREPLUS", "LANMAN1", "LANMAN2", "NT1":
		return true
	}
	return false
}

// predictWindows assumes a member server or workstation unless the files
// set Pre-Windows 2000 Compatible Access, which only matters on a DC.
func predictWindows(cfg *Config, p *Prediction) {
	get := func(k string) (string, string, bool) {
		v, ok := cfg.Values[k]
		return v.Value, v.Source + ": " + v.Line, ok
	}
	p.Role = "member"
	if _, _, ok := get(PreWindows2000); ok {
		p.Role = "dc"
	}
	p.Notes = append(p.Notes, "Windows prediction assumes role "+p.Role+"; settings the files leave unset are 'unknown' (their defaults depend on version and role)")
	p.add(ExpNullSession, Unknown, "", "whether Windows accepts the anonymous session setup is not decided by these files")

	// pipe says whether an anonymous caller may open a pipe.
	pipe := func(name string) (string, []string) {
		rn, rnWhy, rnOK := get(RestrictNullSessAccess)
		if rnOK && rn == "0" {
			return Yes, []string{rnWhy}
		}
		np, npWhy, npOK := get(NullSessionPipes)
		if !npOK {
			return Unknown, []string{"NullSessionPipes not set"}
		}
		why := []string{npWhy}
		if rnOK {
			why = append(why, rnWhy)
		}
		if listHas(np, name) {
			return Yes, why
		}
		return No, append(why, name+" is not in NullSessionPipes")
	}
	ra, raWhy, raOK := get(RestrictAnonymous)
	sam, samWhy, samOK := get(RestrictAnonymousSAM)
	rrs, rrsWhy, rrsOK := get(RestrictRemoteSAM)

	// users and password policy
	samr, samrWhy := pipe("samr")
	for _, e := range []string{ExpUsers, ExpPolicy} {
		switch {
		case p.Role == "dc":
			m, mWhy, _ := get(PreWindows2000)
			eia, eiaWhy, _ := get(EveryoneIncludesAnonymous)
			switch {
			case listHas(m, "S-1-5-7"):
				p.add(e, Yes, PreWindows2000, mWhy, "ANONYMOUS LOGON is a member")
			case listHas(m, "S-1-1-0") && eia == "1":
				p.add(e, Yes, PreWindows2000, mWhy, eiaWhy, "Everyone is a member and includes anonymous")
			default:
				p.add(e, No, PreWindows2000, mWhy, "neither ANONYMOUS LOGON nor (Everyone with EveryoneIncludesAnonymous=1) is a member")
			}
		case samr == No:
			p.add(e, No, NullSessionPipes, samrWhy...)
		case samOK && sam != "0":
			p.add(e, No, RestrictAnonymousSAM, samWhy)
		case raOK && ra != "0":
			p.add(e, No, RestrictAnonymous, raWhy)
		case rrsOK && rrs != "" && !strings.Contains(rrs, ";;;AN)") && !strings.Contains(rrs, ";;;WD)"):
			p.add(e, No, RestrictRemoteSAM, rrsWhy, "the SDDL grants neither ANONYMOUS LOGON nor Everyone")
		case samr == Yes && samOK && raOK:
			p.add(e, Yes, RestrictAnonymousSAM, append(samrWhy, samWhy, raWhy)...)
		default:
			p.add(e, Unknown, RestrictAnonymousSAM, "RestrictAnonymousSAM, RestrictAnonymous or the samr pipe not set")
		}
	}
	srv, srvWhy := pipe("srvsvc")
	switch {
	case srv == No:
		p.add(ExpShares, No, NullSessionPipes, srvWhy...)
	case raOK && ra != "0":
		p.add(ExpShares, No, RestrictAnonymous, raWhy)
	case raOK && srv == Yes:
		p.add(ExpShares, Yes, RestrictAnonymous, append(srvWhy, raWhy)...)
	default:
		p.add(ExpShares, Unknown, RestrictAnonymous, "RestrictAnonymous or the srvsvc pipe not set")
	}
	lsa, lsaWhy := pipe("lsarpc")
	if v, w, ok := get(LSAAnonymousNameLookup); ok {
		switch {
		case v == "0":
			p.add(ExpSIDLookup, No, LSAAnonymousNameLookup, w)
		case lsa == No:
			p.add(ExpSIDLookup, No, NullSessionPipes, lsaWhy...)
		case lsa == Yes:
			p.add(ExpSIDLookup, Yes, LSAAnonymousNameLookup, append([]string{w}, lsaWhy...)...)
		default:
			p.add(ExpSIDLookup, Unknown, LSAAnonymousNameLookup, w, "lsarpc reachability unknown")
		}
	}
	if v, w, ok := get(EnableGuestAccount); ok {
		p.add(ExpGuest, yesNo(v != "0"), EnableGuestAccount, w)
	}
	if v, w, ok := get(SMB1); ok {
		p.add(ExpSMB1, yesNo(v != "0"), SMB1, w)
	}
	if v, w, ok := get(RequireSecuritySignature); ok {
		p.add(ExpSigning, yesNo(v != "0"), RequireSecuritySignature, w)
	}
	if v, w, ok := get(NullSessionShares); ok {
		for _, s := range strings.Split(v, ", ") {
			if s != "" {
				p.add("share:"+s, Yes, NullSessionShares, w, "listed (the share and NTFS ACLs still apply)")
			}
		}
	}
}

func yesNo(b bool) string {
	if b {
		return Yes
	}
	return No
}

func listHas(list, item string) bool {
	for _, x := range strings.Split(list, ",") {
		x = strings.TrimPrefix(strings.TrimSpace(x), "*")
		if strings.EqualFold(x, item) {
			return true
		}
	}
	return false
}

// Drift is one disagreement between prediction and observation.
type Drift struct {
	Exposure        string   `json:"exposure"`
	Expected        string   `json:"expected"`
	Observed        string   `json:"observed"`
	ExpectedBecause []string `json:"expected_because"`
	ObservedBecause []string `json:"observed_because"`
	Setting         string   `json:"setting,omitempty"`
}

// Compare lists where the observation contradicts the prediction; an
// unknown on either side is not a drift. compared counts the exposures
// both sides decided.
func Compare(p *Prediction, observed []Exposure) (drifts []Drift, compared int) {
	obs := map[string]Exposure{}
	for _, o := range observed {
		obs[strings.ToLower(o.Name)] = o
	}
	for _, e := range p.Exposure {
		o, ok := obs[strings.ToLower(e.Name)]
		if !ok || e.Value == Unknown || o.Value == Unknown {
			continue
		}
		compared++
		if o.Value == e.Value {
			continue
		}
		drifts = append(drifts, Drift{Exposure: e.Name, Expected: e.Value, Observed: o.Value,
			ExpectedBecause: e.Because, ObservedBecause: o.Because, Setting: e.Setting})
	}
	slices.SortStableFunc(drifts, func(a, b Drift) int { return strings.Compare(a.Exposure, b.Exposure) })
	return drifts, compared
}
