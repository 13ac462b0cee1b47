package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/enum"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The text report of a recorded lab result (testdata/*.json, made with
// `nullsweep enum --json` against the lab and stripped of machine-specific
// names and timings) must stay as reviewed in testdata/*.txt.
func TestTextGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var r enum.Result
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Text(&out, &r); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".json") + ".txt"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("text report differs from %s (run with -update after review):\n%s", golden, out.String())
			}
		})
	}
}

// JSON round trip: what Text renders comes back unchanged through JSON.
func TestJSONRoundTrip(t *testing.T) {
	b, err := os.ReadFile("testdata/open.json")
	if err != nil {
		t.Fatal(err)
	}
	var r enum.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := JSON(&out, &r); err != nil {
		t.Fatal(err)
	}
	var r2 enum.Result
	if err := json.Unmarshal(out.Bytes(), &r2); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(r)
	c, _ := json.Marshal(r2)
	if !bytes.Equal(a, c) {
		t.Error("JSON round trip changed the result")
	}
	if r.Schema != enum.Schema {
		t.Errorf("schema %q", r.Schema)
	}
}
