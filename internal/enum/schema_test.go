package enum

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaFile = "../../docs/nullsweep-1.schema.json"

func loadSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("nullsweep-1.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("nullsweep-1.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", schemaFile, err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, name string, b []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s does not validate against %s:\n%v", name, filepath.Base(schemaFile), err)
	}
}

// jsonKeys walks a type and returns every JSON key it can emit, with the
// path of Go types that leads to it.
func jsonKeys(t reflect.Type, seen map[reflect.Type]bool, out map[string]string, path string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = path + "." + f.Name
		jsonKeys(f.Type, seen, out, path+"."+f.Name)
	}
}

// Every key the Result can emit is in the schema and in docs/json.md: a
// field added without documenting it fails here, not in a user's parser.
func TestSchemaCoversEveryKey(t *testing.T) {
	keys := map[string]string{}
	jsonKeys(reflect.TypeFor[Result](), map[reflect.Type]bool{}, keys, "Result")
	schema, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	for k, where := range keys {
		if !bytes.Contains(schema, []byte(`"`+k+`":`)) {
			t.Errorf("key %q (%s) is not in %s", k, where, schemaFile)
		}
		if !regexp.MustCompile(`[^a-z_]` + regexp.QuoteMeta(k) + `[^a-z_]`).Match(doc) {
			t.Errorf("key %q (%s) is not in docs/json.md", k, where)
		}
	}
}

// The recorded lab runs the audit and report tests read validate too.
func TestSchemaRecordedRuns(t *testing.T) {
	s := loadSchema(t)
	files, _ := filepath.Glob("../audit/testdata/enum-*.json")
	files = append(files, "../report/testdata/open.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		validate(t, s, f, b)
	}
	// An undocumented key, or a result outside its enum, does not validate.
	for _, bad := range []string{
		`{"schema":"nullsweep/1","target":"h","ports":{},"checks":[],"surprise":1}`,
		`{"schema":"nullsweep/1","target":"h","ports":{"445":"maybe"},"checks":[]}`,
		`{"schema":"nullsweep/1","target":"h","ports":{},"checks":[{"name":"x","layer":"call","result":"fine","ms":0}]}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if s.Validate(v) == nil {
			t.Errorf("%s validates", bad)
		}
	}
	// And a host that stopped at the first layer.
	r := Run(context.Background(), "127.0.0.99", Options{Timeout: 2 * time.Second, NoGuest: true})
	b, _ := json.Marshal(r)
	validate(t, s, "closed host", b)
}

// Every lab posture's `enum --json` (the default -A, and -d) validates
// against the schema.
func TestSchemaLive(t *testing.T) {
	if testing.Short() {
		t.Skip("live lab test")
	}
	s := loadSchema(t)
	postures := []string{"open", "restricted", "restricted1", "smb1only", "smb2only", "dc"}
	addrs := labtest.Require(t, postures...)
	var wg sync.WaitGroup
	for _, p := range postures {
		for _, opt := range []struct {
			name string
			o    Options
		}{
			{"A", Options{Timeout: 60 * time.Second}},
			{"d", Options{Timeout: 60 * time.Second, Checks: CheckAll | CheckDetailed}},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := Run(context.Background(), addrs[p], opt.o)
				if r.Error != "" {
					t.Errorf("%s -%s: stopped at %s: %s", p, opt.name, r.Layer, r.Error)
				}
				b, err := json.Marshal(r)
				if err != nil {
					t.Error(err)
					return
				}
				validate(t, s, p+" -"+opt.name, b)
			}()
		}
	}
	wg.Wait()
}
