package audit

import (
	"testing"
)

func expValues(p *Prediction) map[string]string {
	m := map[string]string{}
	for _, e := range p.Exposure {
		m[e.Name] = e.Value
	}
	return m
}

// Each lab posture's smb.conf must predict what docs/samba.md records a
// null session seeing there.
func TestPredictLabPostures(t *testing.T) {
	tests := []struct {
		file string
		role string
		want map[string]string
	}{
		{"lab-open.smb.conf", "standalone", map[string]string{
			ExpNullSession: Yes, ExpIPC: Yes, ExpUsers: Yes, ExpShares: Yes, ExpPolicy: Yes,
			ExpSIDLookup: Yes, ExpGuest: Yes, ExpSMB1: Yes, ExpSigning: No,
			"share:public": Yes, "share:data": No, "share:backup$": No,
		}},
		{"lab-restricted1.smb.conf", "standalone", map[string]string{
			ExpIPC: Yes, ExpUsers: No, ExpShares: No, ExpPolicy: No, ExpSIDLookup: Yes, ExpGuest: Yes,
		}},
		{"lab-restricted.smb.conf", "standalone", map[string]string{
			ExpNullSession: Yes, ExpIPC: No, ExpUsers: No, ExpSIDLookup: No, "share:public": Yes,
		}},
		{"lab-smb2only.smb.conf", "standalone", map[string]string{ExpSMB1: No, ExpUsers: Yes}},
		{"lab-smb1only.smb.conf", "standalone", map[string]string{ExpSMB1: Yes}},
		{"lab-dc.smb.conf", "dc", map[string]string{
			ExpIPC: Yes, ExpUsers: Yes, ExpSIDLookup: Yes, ExpGuest: No, ExpSigning: Yes, ExpSMB1: No,
			"share:sysvol": No, "share:netlogon": No,
		}},
		{"secedit-member-hardened.inf", "member", map[string]string{
			ExpUsers: No, ExpShares: No, ExpSIDLookup: No, ExpGuest: No, ExpSigning: Yes, ExpNullSession: Unknown,
		}},
		{"legacy-dc.inf", "dc", map[string]string{
			// Everyone is in Pre-Windows 2000 and includes anonymous.
			ExpUsers: Yes, ExpSIDLookup: Yes, ExpGuest: Yes, ExpSMB1: Yes, "share:COMCFG": Yes, "share:DFS$": Yes,
		}},
		{"member-open.reg", "member", map[string]string{
			ExpUsers: Yes, ExpPolicy: Yes, ExpShares: No, ExpSMB1: Yes, ExpSigning: No,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := Predict(readTestConfig(t, tt.file))
			if p.Role != tt.role {
				t.Errorf("role %s, want %s", p.Role, tt.role)
			}
			got := expValues(p)
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			for _, e := range p.Exposure {
				if len(e.Because) == 0 {
					t.Errorf("%s has no reason", e.Name)
				}
			}
			for _, s := range p.Settings {
				if s.State != StateConfigured || len(s.Evidence) == 0 {
					t.Errorf("setting %+v", s)
				}
			}
		})
	}
}

func TestCompare(t *testing.T) {
	p := Predict(readTestConfig(t, "lab-open.smb.conf"))
	observed := []Exposure{
		{Name: ExpUsers, Value: No, Because: []string{"samr.EnumerateUsersInDomain: denied STATUS_ACCESS_DENIED"}},
		{Name: ExpIPC, Value: Yes},
		{Name: ExpSIDLookup, Value: Unknown},
		{Name: "share:public", Value: Yes},
	}
	drifts, compared := Compare(p, observed)
	if compared != 3 {
		t.Errorf("compared %d, want 3", compared)
	}
	if len(drifts) != 1 || drifts[0].Exposure != ExpUsers || drifts[0].Expected != Yes || drifts[0].Observed != No || drifts[0].Setting != SambaRestrictAnonymous {
		t.Fatalf("drifts %+v", drifts)
	}
	if len(drifts[0].ExpectedBecause) == 0 || len(drifts[0].ObservedBecause) == 0 {
		t.Errorf("drift without reasons: %+v", drifts[0])
	}
}
