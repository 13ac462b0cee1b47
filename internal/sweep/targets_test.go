package sweep

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func parseSet(t testing.TB, lines ...string) *Set {
	t.Helper()
	var p Parser
	if err := p.ParseFile("t", strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	return p.Set()
}

func all(s *Set) []string {
	n, _ := s.Count()
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, s.At(i).String())
	}
	return out
}

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		count uint64
		first string
		last  string
	}{
		{"ipv4", "127.1.2.3", 1, "127.1.2.3", "127.1.2.3"},
		{"ipv6", "::1", 1, "::1", "::1"},
		{"bracketed ipv6", "[2001:db8::5]", 1, "2001:db8::5", "2001:db8::5"},
		{"cidr v4", "127.0.0.0/30", 4, "127.0.0.0", "127.0.0.3"},
		{"cidr not aligned is masked", "127.0.0.5/30", 4, "127.0.0.4", "127.0.0.7"},
		{"cidr /32", "127.0.0.9/32", 1, "127.0.0.9", "127.0.0.9"},
		{"cidr /8 counted, not expanded", "127.0.0.0/8", 1 << 24, "127.0.0.0", "127.255.255.255"},
		{"cidr /0", "0.0.0.0/0", 1 << 32, "0.0.0.0", "255.255.255.255"},
		{"cidr v6 /120", "2001:db8::/120", 256, "2001:db8::", "2001:db8::ff"},
		{"cidr v6 /65", "2001:db8::/65", 1 << 63, "2001:db8::", "2001:db8::7fff:ffff:ffff:ffff"},
		{"last-octet range", "127.1.2.3-40", 38, "127.1.2.3", "127.1.2.40"},
		{"full range", "127.1.2.3-127.1.9.9", 7*256 + 7, "127.1.2.3", "127.1.9.9"},
		{"v6 range", "::1-::1:0", 0x10000, "::1", "::1:0"},
		{"mapped v4 is v4", "::ffff:127.0.0.1", 1, "127.0.0.1", "127.0.0.1"},
		{"name", "Files.Example.ORG.", 1, "files.example.org", "files.example.org"},
		{"names dedupe", "a.test b.test A.test", 2, "a.test", "b.test"},
		{"overlaps merge", "127.0.0.0/24 127.0.0.5 127.0.0.200-127.0.1.3", 260, "127.0.0.0", "127.0.1.3"},
		{"adjacent merge", "127.0.0.0/25, 127.0.0.128/25", 256, "127.0.0.0", "127.0.0.255"},
		{"comments and blanks", "# header\n\n  127.0.0.2 # open\n127.0.0.3\t127.0.0.4\r\n", 3, "127.0.0.2", "127.0.0.4"},
		{"order v4 v6 names", "host.test ::1 127.0.0.1", 3, "127.0.0.1", "host.test"},
		{"empty", "", 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := parseSet(t, tc.in)
			n, ok := s.Count()
			if !ok || n != tc.count {
				t.Fatalf("count = %d (ok %v), want %d", n, ok, tc.count)
			}
			if n == 0 {
				return
			}
			if got := s.At(0).String(); got != tc.first {
				t.Errorf("first = %s, want %s", got, tc.first)
			}
			if got := s.At(n - 1).String(); got != tc.last {
				t.Errorf("last = %s, want %s", got, tc.last)
			}
		})
	}
}

func TestParseSaturates(t *testing.T) {
	for _, in := range []string{"2001:db8::/64", "::/0", "::/1", "::-ffff::"} {
		s := parseSet(t, in)
		if _, ok := s.Count(); ok {
			t.Errorf("%s: count fits in 64 bits, want saturated", in)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in        string
		line, col int
		token     string
		reason    string
	}{
		{"300.1.1.1", 1, 1, "300.1.1.1", "invalid IP address"},
		{"127.0.0.1\n  127.0.0.0/33", 2, 3, "127.0.0.0/33", "prefix length must be 0..32"},
		{"::1/129", 1, 1, "::1/129", "prefix length must be 0..128"},
		{"127.0.0.0/8x", 1, 1, "127.0.0.0/8x", "prefix length"},
		{"127.0.0.0/+8", 1, 1, "127.0.0.0/+8", "prefix length"},
		{"a.test, 127.1.2.40-3", 1, 9, "127.1.2.40-3", "range runs backwards"},
		{"127.1.2.3-256", 1, 1, "127.1.2.3-256", "range end must be 0..255"},
		{"127.1.2.3-::1", 1, 1, "127.1.2.3-::1", "range mixes IPv4 and IPv6"},
		{"127.1.2.3-x", 1, 1, "127.1.2.3-x", "range end must be"},
		{"127.0.0.2:445", 1, 1, "127.0.0.2:445", "no :port"},
		{"[::1]:445", 1, 1, "[::1]:445", "no :port"},
		{"[127.0.0.1]", 1, 1, "[127.0.0.1]", "not an IPv6 address"},
		{"fe80::1%eth0", 1, 1, "fe80::1%eth0", "zone"},
		{"1.2.3", 1, 1, "1.2.3", "invalid IP address"},
		{"127.1.2.300-5", 1, 1, "127.1.2.300-5", "not an address, CIDR block or range"},
		{"host/24", 1, 1, "host/24", "CIDR block with an invalid address"},
		{"-bad.test", 1, 1, "-bad.test", "starts or ends with '-'"},
		{"a..test", 1, 1, "a..test", "labels must be 1..63"},
		{"caf\u00e9.test", 1, 1, "caf\u00e9.test", "not allowed in a host name"},
		{strings.Repeat("a", 64) + ".test", 1, 1, strings.Repeat("a", 64) + ".test", "labels must be 1..63"},
		{"ok.test\n\n# c\nx!y", 4, 1, "x!y", "not allowed"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var p Parser
			err := p.ParseFile("list.txt", strings.NewReader(tc.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if se.Line != tc.line || se.Column != tc.col || se.Token != tc.token || !strings.Contains(se.Reason, tc.reason) {
				t.Errorf("got line %d col %d token %q reason %q; want %d %d %q %q", se.Line, se.Column, se.Token, se.Reason, tc.line, tc.col, tc.token, tc.reason)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("list.txt line %d, column %d", tc.line, tc.col)) {
				t.Errorf("message %q does not name the line and column", err)
			}
		})
	}
}

func TestParseArgsErrorNamesArgument(t *testing.T) {
	var p Parser
	err := p.ParseArgs("argument", []string{"127.0.0.1", "127.0.0.2,127.0.0.300"})
	if err == nil || err.Error() != `sweep: argument 2, column 11: "127.0.0.300": invalid IP address` {
		t.Fatalf("err = %v", err)
	}
}

func TestParseLongLine(t *testing.T) {
	var p Parser
	err := p.ParseFile("big", strings.NewReader("127.0.0.1\n"+strings.Repeat("a", MaxLineLen+1)))
	if err == nil || !strings.Contains(err.Error(), "big line 2") {
		t.Fatalf("err = %v", err)
	}
}

func TestWithout(t *testing.T) {
	for _, tc := range []struct {
		targets, excludes string
		want              string
	}{
		{"127.0.0.0/29", "127.0.0.0 127.0.0.3-5", "127.0.0.1 127.0.0.2 127.0.0.6 127.0.0.7"},
		{"127.0.0.0/30", "127.0.0.0/8", ""},
		{"127.0.0.0/30", "192.0.2.0/24 ::/0", "127.0.0.0 127.0.0.1 127.0.0.2 127.0.0.3"},
		{"127.0.0.0/30 ::1-::3", "127.0.0.1 ::2", "127.0.0.0 127.0.0.2 127.0.0.3 ::1 ::3"},
		{"127.0.0.0/30", "127.0.0.3", "127.0.0.0 127.0.0.1 127.0.0.2"},
		{"a.test b.test 127.0.0.1", "B.TEST", "127.0.0.1 a.test"},
		{"255.255.255.254/31", "255.255.255.255", "255.255.255.254"},
		{"0.0.0.0/31", "0.0.0.0", "0.0.0.1"},
	} {
		got := strings.Join(all(parseSet(t, tc.targets).Without(parseSet(t, tc.excludes))), " ")
		if got != tc.want {
			t.Errorf("%s minus %s = %q, want %q", tc.targets, tc.excludes, got, tc.want)
		}
	}
}

// TestAtDoesNotAllocate: a /8 is indexed, never expanded.
func TestAtDoesNotAllocate(t *testing.T) {
	s := parseSet(t, "127.0.0.0/8 2001:db8::/100 198.18.0.1-198.18.3.7")
	n, _ := s.Count()
	if allocs := testing.AllocsPerRun(100, func() { _ = s.At(n / 2) }); allocs != 0 {
		t.Errorf("At allocates %v times", allocs)
	}
	if got := s.At(1<<24 + 5).String(); got != "198.18.0.6" {
		t.Errorf("At(2^24+5) = %s", got)
	}
	if got := s.At(1<<24 + 775).String(); got != "2001:db8::" {
		t.Errorf("first v6 = %s", got)
	}
}

// FuzzParseTargets: the parser never panics, and what it accepts counts
// and indexes consistently: At over a small set yields distinct targets
// that parse back into the same set.
func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"127.1.2.3", "127.1.2.3-40", "127.1.2.3-127.1.9.9", "::1-::ff", "[::1]", "127.0.0.0/8",
		"2001:db8::/64", "a.test # c", "192.0.2.4,198.51.100.8 host", "127.0.0.0/33", "::ffff:192.0.2.4/120", "-", "#", "a-b.c_d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var p Parser
		if err := p.ParseFile("f", strings.NewReader(in)); err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) && !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		s := p.Set()
		n, ok := s.Count()
		if !ok || n > 4096 {
			if n > 0 {
				_ = s.At(n - 1)
				_ = s.At(n / 2)
			}
			return
		}
		seen := map[string]bool{}
		var q Parser
		for i := range n {
			tg := s.At(i)
			k := tg.String()
			if seen[k] {
				t.Fatalf("target %s twice", k)
			}
			seen[k] = true
			if tg.Name == "" && !tg.Addr.IsValid() || tg.Addr.IsValid() && tg.Addr != netip.MustParseAddr(k) {
				t.Fatalf("target %d: %v", i, tg)
			}
			if err := q.ParseArgs("back", []string{k}); err != nil {
				t.Fatalf("target %s does not parse back: %v", k, err)
			}
		}
		if m, _ := q.Set().Count(); m != n {
			t.Fatalf("reparsed count %d, want %d", m, n)
		}
	})
}

// A list that cannot be read (here a directory) names it once.
func TestParseFileReadError(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p Parser
	err = p.ParseFile(dir, f)
	if err == nil || strings.Count(err.Error(), dir) != 1 || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("ParseFile(a directory) = %v, want it named once and why", err)
	}
}
