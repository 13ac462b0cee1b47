package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// docKey is how the docs spell a key: per-name keys by their pattern.
func docKey(k string) string {
	for _, p := range []string{keyShare, keyPipe, keyUser} {
		if strings.HasPrefix(k, p) {
			return p + "NAME"
		}
	}
	return k
}

// Every finding ID and exposure key that Assess and Items emit, on the
// recorded lab runs and the constructed hosts, is a declared constant and
// is documented in docs/json.md and docs/audit.md: a store or a diff that
// keys on them can rely on the list.
func TestIDsAndKeysDocumented(t *testing.T) {
	var results []*enum.Result
	files, _ := filepath.Glob("testdata/enum-*.json")
	if len(files) == 0 {
		t.Fatal("no recorded enum runs under testdata/")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r enum.Result
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		results = append(results, &r)
	}
	results = append(results, labOpen(), labRestricted(), labRestricted1(), labDC(), win2019Member(), win2003DC(), closedHost())

	ids := map[FindingID]bool{}
	keys := map[string]bool{}
	findingKeys := map[string]bool{}
	for _, r := range results {
		rep := Assess(r, Options{})
		for _, f := range rep.Findings {
			ids[f.ID] = true
			if f.Key != "" {
				findingKeys[docKey(f.Key)] = true
			}
		}
		for _, it := range Items(r, rep) {
			keys[docKey(it.Key)] = true
			switch it.State {
			case Yes, No, Unknown:
			default:
				t.Errorf("item %s state %q", it.Key, it.State)
			}
		}
	}
	// What no recorded host shows still has to be declared and documented.
	for _, id := range FindingIDs {
		ids[id] = true
	}
	for _, k := range ExposureKeys {
		keys[k] = true
	}
	keys[keyShare+"NAME"], keys[keyPipe+"NAME"] = true, true

	declared := map[FindingID]bool{}
	for _, id := range FindingIDs {
		declared[id] = true
	}
	docs := map[string]string{}
	for _, f := range []string{"../../docs/json.md", "../../docs/audit.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = string(b)
	}
	for id := range ids {
		if !declared[id] {
			t.Errorf("finding id %q emitted but not in FindingIDs", id)
		}
		for name, d := range docs {
			if !strings.Contains(d, "`"+string(id)+"`") {
				t.Errorf("finding id %q missing from docs/%s", id, name)
			}
		}
	}
	for k := range keys {
		if !strings.Contains(docs["json.md"], "`"+k+"`") {
			t.Errorf("exposure key %q missing from docs/json.md", k)
		}
	}
	for k := range findingKeys {
		for name, d := range docs {
			if !strings.Contains(d, "`"+k+"`") {
				t.Errorf("finding key %q missing from docs/%s", k, name)
			}
		}
	}
}

// Items on recorded lab runs: the states a diff between runs compares.
func TestItems(t *testing.T) {
	for _, tt := range []struct {
		file string
		want map[string]string // key → state; "" = absent
	}{
		{"enum-open.json", map[string]string{
			ExpReachable: Yes, ExpNullSession: Yes, ExpGuest: Yes, ExpIPC: Yes, PipeKey("winreg"): Yes, PipeKey("netlogon"): No,
			ShareKey("public"): Yes, ShareKey("data"): No, ExpUsers: Yes, ExpGroups: Yes, ExpPolicy: Yes, ExpShares: Yes,
			ExpSMB1: Yes, ExpSigning: No, ExpRIDCycling: "",
		}},
		{"enum-restricted.json", map[string]string{
			ExpNullSession: Yes, ExpIPC: No, PipeKey("samr"): No, ExpUsers: No, ExpShares: No, ExpGroups: No, ShareKey("public"): "",
		}},
		{"enum-restricted1.json", map[string]string{
			ExpIPC: Yes, ExpUsers: No, ExpGroups: No, ExpShares: No, ExpSIDLookup: Yes, ExpRIDCycling: Yes,
		}},
		{"enum-dc.json", map[string]string{
			ExpGuest: No, ExpSMB1: No, ExpSigning: Yes, PipeKey("netlogon"): Yes, ShareKey("sysvol"): No,
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var r enum.Result
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			got := map[string]Item{}
			items := Items(&r, nil)
			for i, it := range items {
				got[it.Key] = it
				if i > 0 && items[i-1].Key >= it.Key {
					t.Errorf("items not sorted by key at %s", it.Key)
				}
				if it.Evidence == "" {
					t.Errorf("item %s has no evidence", it.Key)
				}
			}
			for k, want := range tt.want {
				if g := got[k]; g.State != want {
					t.Errorf("%s = %q (%s), want %q", k, g.State, g.Evidence, want)
				}
			}
		})
	}
}

// Every kind of finding has a title of its own for views over many hosts.
func TestKindTitles(t *testing.T) {
	seen := map[string]FindingID{}
	for _, id := range FindingIDs {
		k := KindTitle(id)
		if k == "" || k == string(id) {
			t.Errorf("finding id %q has no kind title", id)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("finding ids %q and %q share the kind title %q", other, id, k)
		}
		seen[k] = id
	}
	if got := KindTitle("from-a-newer-version"); got != "from-a-newer-version" {
		t.Errorf("KindTitle of an unknown id = %q, want the id", got)
	}
	if len(kindTitles) != len(FindingIDs) {
		t.Errorf("%d kind titles for %d finding ids", len(kindTitles), len(FindingIDs))
	}
}
