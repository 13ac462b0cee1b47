package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/nullsweep/nullsweep/internal/enum"
)

// indentOracle is what JSON replaced: encoding/json's indenting Encoder.
func indentOracle(t testing.TB, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestJSONMatchesEncoder: every recorded result in the repository, read
// back and written again, comes out byte for byte as the Encoder writes it.
func TestJSONMatchesEncoder(t *testing.T) {
	files, _ := filepath.Glob("../../internal/*/testdata/*.json")
	more, _ := filepath.Glob("../../internal/*/testdata/*/*.json")
	files = append(files, more...)
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r enum.Result
		if json.Unmarshal(raw, &r) != nil || r.Schema == "" {
			continue // not an enum result
		}
		n++
		var got bytes.Buffer
		if err := JSON(&got, &r); err != nil {
			t.Fatal(err)
		}
		if want := indentOracle(t, &r); !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: JSON differs from the Encoder's output", f)
		}
	}
	if n < 3 {
		t.Fatalf("only %d recorded results found under internal/*/testdata", n)
	}
}

func TestIndentJSONCases(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `{"a":[]}`, `{"a":{},"b":[1,2,{}]}`, `"x"`, `1`, `null`,
		`{"k\"ey":"va\\\"l,ue:{}[]","e":"\\"}`, `[[],[[]],{"":""}]`,
		`{"html":"\u003cb\u003e"}`, `[1.5e-7,true,false,null]`,
	} {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(in), "", "  "); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := indentJSON(nil, []byte(in)); string(got) != want.String() {
			t.Errorf("indentJSON(%s) =\n%s\nwant\n%s", in, got, want.String())
		}
	}
}

// FuzzIndentJSON: for any valid JSON, once compacted as json.Marshal
// writes it, indentJSON agrees with json.Indent.
func FuzzIndentJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"c\"d"}],"e":{}}`, `[]`, `"\\\\"`, `[{"":[]}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, in); err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := indentJSON(nil, compact.Bytes()); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("indentJSON(%q) = %q, want %q", compact.Bytes(), got, want.Bytes())
		}
	})
}
