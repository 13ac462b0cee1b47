package audit

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// TestLSAVerdictFromLookupOpen: on the recorded DC run the LSA open that
// asked for POLICY_LOOKUP_NAMES was denied (the one for domain queries
// was not): SID/name translation over LSA is "no", decided by that call,
// never "unknown — no call decided it".
func TestLSAVerdictFromLookupOpen(t *testing.T) {
	b, err := os.ReadFile("testdata/enum-dc.json")
	if err != nil {
		t.Fatal(err)
	}
	var r enum.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	e := Assess(&r, Options{}).exposure(ExpSIDLookup)
	if e.Value != No || !strings.Contains(strings.Join(e.Because, "\n"), "OpenPolicy2(access 0x00000801): denied") {
		t.Errorf("sid translation = %+v", e)
	}
	// When RID cycling fell back to SAMR and translated SIDs, the verdict
	// says so beside the LSA refusal.
	r.RIDCycling = &enum.RIDCycling{Path: enum.RIDPathSAMR}
	r.RIDs = []enum.RID{{RID: 500, Name: "Administrator"}}
	e = Assess(&r, Options{}).exposure(ExpSIDLookup)
	if e.Value != No || !strings.Contains(strings.Join(e.Because, "\n"), "SAMR LookupIdsInDomain: 1 SIDs translated") {
		t.Errorf("sid translation with SAMR cycling = %+v", e)
	}
}

func (r *Report) exposure(name string) Exposure {
	for _, e := range r.Exposure {
		if e.Name == name {
			return e
		}
	}
	return Exposure{}
}

// TestSilenceIsNotRefusal: only ports that refused the connection say
// "no null session"; a filtered port (or one never probed) leaves it
// unknown.
func TestSilenceIsNotRefusal(t *testing.T) {
	for _, tt := range []struct {
		ports map[string]enum.Outcome
		want  string
	}{
		{map[string]enum.Outcome{"445": enum.Closed, "139": enum.Closed}, No},
		{map[string]enum.Outcome{"445": enum.Closed, "139": enum.Filtered}, Unknown},
		{map[string]enum.Outcome{"445": enum.Filtered, "139": enum.Filtered}, Unknown},
		{map[string]enum.Outcome{"445": enum.Closed}, Unknown},
		{map[string]enum.Outcome{}, Unknown},
	} {
		r := &enum.Result{Schema: enum.Schema, Target: "192.0.2.1", Ports: tt.ports, Layer: enum.LayerReachability, Error: "tcp/445 closed"}
		if e := Assess(r, Options{}).exposure(ExpNullSession); e.Value != tt.want {
			t.Errorf("ports %v: null session %s %v, want %s", tt.ports, e.Value, e.Because, tt.want)
		}
	}
}
