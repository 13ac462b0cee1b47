package pcap

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// tsharkLayers are the dissections compared: a frame where tshark shows
// one of them and nullsweep decoded nothing of it is listed in
// testdata/tshark-undecoded.golden.
var tsharkLayers = []string{"smb", "smb2", "ntlmssp", "dcerpc", "samr", "lsarpc", "srvsvc", "wkssvc", "epm", "rpc_netlogon", "ldap", "nbns"}

// needTshark returns tshark's path; without it the test skips, except
// under CI=true, where the oracle missing is a failure.
func needTshark(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tshark not installed (scripts/setup.sh installs it): %v", err)
		}
		t.Skip("tshark not installed")
	}
	return p
}

// tsharkFrames runs tshark -T json on a capture and returns, per frame,
// every field's values (in dissection order) and the layers present.
func tsharkFrames(t *testing.T, tshark, file string) map[int]*tsFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tshark, "-r", file, "-T", "json", "--no-duplicate-keys",
		"-J", "frame smb smb2 ntlmssp dcerpc samr lsarpc srvsvc wkssvc epm rpc_netlogon ldap nbns")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string]json.RawMessage `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		t.Fatalf("tshark %s: json: %v", file, err)
	}
	frames := map[int]*tsFrame{}
	for _, p := range pkts {
		fr := &tsFrame{fields: map[string][]string{}, layers: map[string]bool{}}
		var frame struct {
			Number string `json:"frame.number"`
		}
		if err := json.Unmarshal(p.Source.Layers["frame"], &frame); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(frame.Number)
		for name, raw := range p.Source.Layers {
			if name == "frame" {
				continue
			}
			fr.layers[name] = true
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			walkFields(v, fr.fields)
		}
		// NTLMSSP lives inside SMB and DCE/RPC: a field says it is there.
		if len(fr.fields["ntlmssp.messagetype"]) > 0 {
			fr.layers["ntlmssp"] = true
		}
		// A SID is dissected into parts; rebuild S-1-auth-subauths.
		auth, sub := fr.fields["nt.sid.auth"], fr.fields["nt.sid.subauth"]
		for i := range min(len(auth), len(sub)) {
			sid := "S-1-" + auth[i]
			if sub[i] != "" { // a domain such as S-1-1 has no sub-authority
				sid += "-" + sub[i]
			}
			fr.fields["nt.sid"] = append(fr.fields["nt.sid"], sid)
		}
		frames[n] = fr
	}
	return frames
}

type tsFrame struct {
	fields map[string][]string
	layers map[string]bool
}

// walkFields collects leaf values by field name. tshark gives a list for
// a field repeated at one level (--no-duplicate-keys) and nests subtrees
// under "name_tree" keys or labels.
func walkFields(v any, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch y := e.(type) {
			case string:
				out[k] = append(out[k], y)
			case []any:
				for _, z := range y {
					if s, ok := z.(string); ok {
						out[k] = append(out[k], s)
					} else {
						walkFields(z, out)
					}
				}
			default:
				walkFields(y, out)
			}
		}
	case []any:
		for _, e := range x {
			walkFields(e, out)
		}
	}
}

var hexRE = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)

// norm makes tshark's and nullsweep's renderings comparable: numbers in
// hex or decimal become decimal.
func norm(s string) string {
	if hexRE.MatchString(s) {
		if v, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return strconv.FormatUint(v, 10)
		}
	}
	return s
}

func normAll(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = norm(s)
	}
	sort.Strings(out)
	return out
}

// TestMatchesTshark walks every capture in testdata/captures (Windows)
// and testdata/lab/open.pcapng (Samba answering nullsweep). For each
// frame, every field nullsweep decoded (SMB1 and SMB2 header fields,
// NTLMSSP flags, names and version, DCE/RPC type, call id, context and
// opnum, and the statuses, names, RIDs and SIDs of SAMR, LSA and SRVSVC
// replies) must hold the same values, as a multiset, as tshark's
// dissection of that frame. Frames where tshark shows one of the compared
// layers and nullsweep decoded nothing of it are listed, with nullsweep's
// reason, in testdata/tshark-undecoded.golden.
func TestMatchesTshark(t *testing.T) {
	tshark := needTshark(t)
	files, err := filepath.Glob("testdata/captures/*.pcap*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	// And nullsweep's own run against the lab's Samba.
	files = append(files, "testdata/lab/open.pcapng")
	var undecoded, onlyOurs []string
	compared := 0
	for _, file := range files {
		ts := tsharkFrames(t, tshark, file)
		rep, err := ReadFiles(context.Background(), []string{file}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Files[0].Error != "" {
			t.Errorf("%s: %s", file, rep.Files[0].Error)
		}
		ours := map[int]map[string][]string{}
		layers := map[int]map[string]bool{}
		for _, m := range rep.Messages {
			if ours[m.Frame] == nil {
				ours[m.Frame] = map[string][]string{}
				layers[m.Frame] = map[string]bool{}
			}
			layers[m.Frame][m.Layer] = true
			for k, v := range m.Fields {
				ours[m.Frame][k] = append(ours[m.Frame][k], v...)
			}
		}
		reasons := map[int][]string{}
		for _, u := range rep.NotDecoded {
			reasons[u.Frame] = append(reasons[u.Frame], u.What+": "+u.Reason)
		}
		base := filepath.Base(file)
		for frame, fields := range ours {
			tf := ts[frame]
			if tf == nil {
				t.Errorf("%s frame %d: nullsweep decoded %v, tshark has no such frame", base, frame, fields)
				continue
			}
			for k, v := range fields {
				got, want := normAll(v), normAll(tf.fields[k])
				if len(want) == 0 {
					// tshark did not dissect it (a segment it took for a
					// retransmission, a response to a request it missed).
					onlyOurs = append(onlyOurs, fmt.Sprintf("%s frame %d %s: only nullsweep decoded it: %q", base, frame, k, got))
					continue
				}
				compared += len(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s frame %d: %s = %q, tshark %q", base, frame, k, got, want)
				}
			}
		}
		var frames []int
		for n := range ts {
			frames = append(frames, n)
		}
		sort.Ints(frames)
		for _, n := range frames {
			for _, l := range tsharkLayers {
				if !ts[n].layers[l] || layers[n][l] {
					continue
				}
				why := "not decoded"
				if r := reasons[n]; len(r) > 0 {
					why = strings.Join(r, "; ")
				}
				undecoded = append(undecoded, fmt.Sprintf("%s frame %d %s: %s", base, n, l, why))
			}
		}
	}
	if compared < 1000 {
		t.Errorf("only %d field values compared", compared)
	}
	t.Logf("%d field values equal tshark's; %d frame layers not decoded", compared, len(undecoded))
	sort.Strings(onlyOurs)
	golden(t, "testdata/tshark-undecoded.golden", strings.Join(undecoded, "\n")+"\n\n"+strings.Join(onlyOurs, "\n")+"\n")
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update after checking):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists lines only in want (-) or only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
