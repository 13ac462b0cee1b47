package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// Real `nullsweep enum --json` runs against the lab, kept as testdata,
// must give the verdicts the lab's configuration calls for (the text
// report of each is pinned in internal/report).
func TestGoldenEnumRuns(t *testing.T) {
	tests := []struct {
		file     string
		settings map[string]settingWant
	}{
		{"enum-open.json", map[string]settingWant{
			SambaRestrictAnonymous: {StateObserved, "0"},
			SambaMapToGuest:        {StateConsistent, "Bad User or Bad Password"},
			SambaGuestOK:           {StateObserved, "yes on public"},
		}},
		{"enum-restricted1.json", map[string]settingWant{
			SambaRestrictAnonymous: {StateObserved, "1"},
			SambaMapToGuest:        {StateConsistent, "Bad User or Bad Password"},
		}},
		{"enum-dc.json", map[string]settingWant{
			SambaRestrictAnonymous: {StateObserved, "0"},
			PreWindows2000:         {StateNotObservable, ""},
			SambaServerMinProtocol: {StateObserved, "SMB2_02"},
			SambaServerSigning:     {StateConsistent, "mandatory, or default (mandatory on an AD DC)"},
		}},
		{"enum-restricted.json", map[string]settingWant{
			SambaRestrictAnonymous: {StateObserved, "2"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var r enum.Result
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			rep := Assess(&r, Options{})
			for name, want := range tt.settings {
				s := setting(rep, name)
				if s.State != want.state || s.Value != want.value {
					t.Errorf("%s = %s %q, want %s %q", name, s.State, s.Value, want.state, want.value)
				}
			}
		})
	}
}

// FuzzAssess feeds odd Results (decoded from JSON, seeded with the real lab
// runs) through Assess: no panic, every setting has a
// known state and evidence.
func FuzzAssess(f *testing.F) {
	files, _ := filepath.Glob("testdata/enum-*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r enum.Result
		if json.Unmarshal(b, &r) != nil {
			return
		}
		rep := Assess(&r, Options{Expect: Predict(&Config{Values: map[string]Configured{}, Kinds: []string{KindSmbConf}})})
		for _, s := range rep.Settings {
			switch s.State {
			case StateObserved, StateConsistent, StateNotObservable:
			default:
				t.Fatalf("setting %s state %q", s.Name, s.State)
			}
			if len(s.Evidence) == 0 {
				t.Fatalf("setting %s without evidence", s.Name)
			}
		}
	})
}
