package enum

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/amp"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// lookupSidsReply builds an LsarLookupSids reply ([MS-LSAT] 3.1.4.11): one
// referenced domain named domain with SID dom, and a null name of type
// user for each of n SIDs, all in that domain: the fewest bytes a
// translation can take on the wire.
func lookupSidsReply(n int, domain string, dom ndr.SID) []byte {
	var w ndr.Writer
	w.Pointer(true) // ReferencedDomains
	w.Defer(func(w *ndr.Writer) {
		w.Uint32(1)
		w.Pointer(true)
		w.Defer(func(w *ndr.Writer) {
			w.Uint32(1)
			w.UnicodeString(domain)
			w.Pointer(true)
			w.Defer(func(w *ndr.Writer) { w.SID(dom) })
		})
		w.Uint32(32) // MaxEntries
	})
	w.Flush()
	w.Uint32(uint32(n))
	w.Pointer(true)
	w.Defer(func(w *ndr.Writer) {
		w.Uint32(uint32(n))
		for range n {
			w.Uint16(uint16(lsa.SidTypeUser))
			w.Uint16(0) // Length
			w.Uint16(0) // MaximumLength
			w.Pointer(false)
			w.Uint32(0) // DomainIndex
		}
	})
	w.Flush()
	w.Uint32(uint32(n)) // MappedCount
	w.Uint32(0)         // STATUS_SUCCESS
	return w.Bytes()
}

// TestRIDJSONAmplification: every SID a server translates shares its
// referenced domain's name; the JSON names each domain once and its RIDs
// refer to it, so 65,536 RIDs translated into one 255-character domain of
// characters the encoder escapes to 6 bytes ("<" is \u003c) stay within
// amp.Factor bytes of JSON per byte of the LookupSids replies.
func TestRIDJSONAmplification(t *testing.T) {
	const total, batch = 65536, 1000 // the most RIDs a host keeps; enum's LookupSids batch
	domain := strings.Repeat("<", lsa.MaxDomainNameLen)
	for _, tc := range []struct {
		name string
		dom  ndr.SID
	}{
		{"account domain", ndr.SID{Revision: 1, Authority: 5, SubAuthority: []uint32{21, 4294967295, 4294967295, 4294967295}}},
		{"builtin", ndr.SID{Revision: 1, Authority: 5, SubAuthority: []uint32{32}}},
	} {
		var received int
		var rids []RID
		for lo := 0; lo < total; lo += batch {
			n := min(batch, total-lo)
			sids := make([]ndr.SID, n)
			for i := range sids {
				sids[i] = tc.dom.Append(uint32(lo + i))
			}
			stub := lookupSidsReply(n, domain, tc.dom)
			received += len(stub)
			res, err := lsa.DecodeLookupSids(stub, sids)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			for _, tr := range res.Translations {
				rids = append(rids, translationRID(tr))
			}
		}
		r := &Result{Schema: Schema, Target: "h", Ports: map[string]Outcome{}, RIDs: rids, RIDCycling: &RIDCycling{Path: RIDPathLSA}}
		for _, enc := range []struct {
			name  string
			write func(*bytes.Buffer) error
		}{
			// As internal/report writes enum --json and JSON Lines.
			{"indented (enum --json)", func(b *bytes.Buffer) error {
				enc := json.NewEncoder(b)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}},
			{"one line (JSON Lines)", func(b *bytes.Buffer) error { return json.NewEncoder(b).Encode(r) }},
		} {
			var b bytes.Buffer
			if err := enc.write(&b); err != nil {
				t.Fatal(err)
			}
			ratio := float64(b.Len()) / float64(received)
			t.Logf("%s, %s: %d RIDs, %d bytes of replies, %d bytes of JSON (x%.2f; limit x%d)", tc.name, enc.name, len(rids), received, b.Len(), ratio, amp.Factor)
			if b.Len() > amp.Factor*received {
				t.Errorf("%s, %s: %d bytes of JSON for %d received (x%.1f > x%d)", tc.name, enc.name, b.Len(), received, ratio, amp.Factor)
			}
			if n := strings.Count(b.String(), `\u003c\u003c\u003c`); n != 1*255/3 {
				t.Errorf("%s, %s: domain name written %d/85 times, want once", tc.name, enc.name, n)
			}
			var back Result
			if err := json.Unmarshal(b.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.RIDs, rids) || back.RIDs[0].Domain != domain {
				t.Errorf("%s, %s: RIDs do not survive the round trip", tc.name, enc.name)
			}
		}
	}
}

// TestRIDJSONDomains: rids[].domain indexes rid_cycling.domains, one entry
// per name and domain SID, and decoding restores the names (and still
// reads a name written in place, as records made before the index did).
func TestRIDJSONDomains(t *testing.T) {
	in := Result{Schema: Schema, Target: "h", RIDs: []RID{
		{RID: 500, SID: "S-1-5-21-1-2-3-500", Name: "Administrator", Domain: "SRV", Type: "user"},
		{RID: 544, SID: "S-1-5-32-544", Name: "Administrators", Domain: "BUILTIN", Type: "alias"},
		{RID: 501, SID: "S-1-5-21-1-2-3-501", Name: "Guest", Domain: "SRV", Type: "user"},
		{RID: 1000, SID: "S-1-5-21-9-9-9-1000", Name: "x", Domain: "SRV", Type: "user"},
	}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		RIDs []struct {
			Domain int `json:"domain"`
		} `json:"rids"`
		RIDCycling struct {
			Domains []RIDDomain `json:"domains"`
		} `json:"rid_cycling"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	wantDoms := []RIDDomain{{"SRV", "S-1-5-21-1-2-3"}, {"BUILTIN", "S-1-5-32"}, {"SRV", "S-1-5-21-9-9-9"}}
	if !reflect.DeepEqual(raw.RIDCycling.Domains, wantDoms) {
		t.Errorf("domains %+v, want %+v", raw.RIDCycling.Domains, wantDoms)
	}
	var idx []int
	for _, x := range raw.RIDs {
		idx = append(idx, x.Domain)
	}
	if !reflect.DeepEqual(idx, []int{0, 1, 0, 2}) {
		t.Errorf("indices %v, want [0 1 0 2]", idx)
	}
	var out Result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.RIDs, in.RIDs) {
		t.Errorf("round trip: %+v, want %+v", out.RIDs, in.RIDs)
	}
	if out.RIDCycling == nil || out.RIDCycling.domains != nil {
		t.Errorf("rid_cycling after decoding: %+v", out.RIDCycling)
	}
	for _, tc := range []struct {
		name, doc, want, wantErr string
	}{
		{"name in place", `{"rids":[{"rid":1,"sid":"S-1-1-0-1","name":"a","domain":"OLD","type":"user"}]}`, "OLD", ""},
		{"index", `{"rids":[{"rid":1,"sid":"S-1-1-0-1","name":"a","domain":0,"type":"user"}],"rid_cycling":{"path":"lsa","domains":[{"name":"D","sid":"S-1-1-0"}]}}`, "D", ""},
		{"index past the list", `{"rids":[{"rid":1,"sid":"S-1-1-0-1","name":"a","domain":1,"type":"user"}],"rid_cycling":{"path":"lsa","domains":[{"name":"D","sid":"S-1-1-0"}]}}`, "", "domain 1 of 1"},
		{"no list", `{"rids":[{"rid":1,"sid":"S-1-1-0-1","name":"a","domain":0,"type":"user"}]}`, "", "domain 0 of 0"},
		{"negative index", `{"rids":[{"rid":1,"sid":"S-1-1-0-1","name":"a","domain":-1,"type":"user"}]}`, "", "domain index -1"},
	} {
		var r Result
		err := json.Unmarshal([]byte(tc.doc), &r)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case len(r.RIDs) != 1 || r.RIDs[0].Domain != tc.want:
			t.Errorf("%s: %+v, want domain %q", tc.name, r.RIDs, tc.want)
		}
	}
}
