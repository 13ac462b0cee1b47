package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/sweep"
)

func TestNmapInputList(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-iL", "f", "192.0.2.4"}, []string{"--iL", "f", "192.0.2.4"}},
		{[]string{"-iL=f"}, []string{"--iL=f"}},
		{[]string{"--iL", "f"}, []string{"--iL", "f"}},
		{[]string{"--", "-iL"}, []string{"--", "-iL"}},
		{[]string{"-i", "-iLx"}, []string{"-i", "-iLx"}},
	} {
		if got := nmapInputList(tc.in); !cmp.Equal(got, tc.want) {
			t.Errorf("%q -> %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		i, n uint64
		ok   bool
	}{
		{"1/1", 1, 1, true}, {"3/7", 3, 7, true}, {"0/7", 0, 0, false}, {"8/7", 0, 0, false},
		{"1/0", 0, 0, false}, {"1", 0, 0, false}, {"a/b", 0, 0, false}, {"-1/2", 0, 0, false},
	} {
		i, n, err := parseShard(tc.in)
		if (err == nil) != tc.ok || i != tc.i || n != tc.n {
			t.Errorf("%q: %d/%d %v", tc.in, i, n, err)
		}
	}
}

func TestConnects(t *testing.T) {
	for _, tc := range []struct {
		rate    float64
		timeout time.Duration
		fd      uint64
		c       int
		want    int
	}{
		{2000, time.Second, 1 << 20, 16, 2200},
		{0, time.Second, 1 << 20, 16, 256},
		{1e9, time.Second, 1 << 20, 16, 16384},
		{2000, time.Second, 1024, 16, 1024 - 64 - 256},
		{2000, time.Second, 100, 16, 1},
	} {
		if got := connects(tc.rate, tc.timeout, tc.fd, tc.c); got != tc.want {
			t.Errorf("connects(%v, %v, %d, %d) = %d, want %d", tc.rate, tc.timeout, tc.fd, tc.c, got, tc.want)
		}
	}
}

func TestSweepChecks(t *testing.T) {
	for _, tc := range []struct {
		letters string
		want    enum.Checks
	}{
		{"", sweep.DefaultChecks},
		{"A", sweep.DefaultChecks},
		{"R", sweep.DefaultChecks | enum.CheckRIDs},
		{"AR", sweep.DefaultChecks | enum.CheckRIDs},
		{"US", enum.CheckUsers | enum.CheckShares},
		{"UR", enum.CheckUsers | enum.CheckRIDs},
		{"d", sweep.DefaultChecks | enum.CheckDetailed},
	} {
		f := newSweepFlagsForTest()
		for _, r := range tc.letters {
			*f.letters[r] = true
		}
		if got := f.checks(); got != tc.want {
			t.Errorf("-%s: %b, want %b", tc.letters, got, tc.want)
		}
	}
}

func newSweepFlagsForTest() *sweepFlags {
	f := &sweepFlags{letters: map[rune]*bool{}}
	for _, r := range "UMSPGLNRAd" {
		f.letters[r] = new(bool)
	}
	return f
}

// TestSweepUsageErrors: a bad target list, shard or bound stops the sweep
// with exit 2 and a message naming the problem, before any packet: no
// record is written.
func TestSweepUsageErrors(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(list, []byte("# lab\n127.0.0.2\n127.0.0.3 127.0.0.0/33\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "-iL", list}, "targets.txt line 3, column 11: \"127.0.0.0/33\": prefix length must be 0..32"},
		{[]string{"sweep", "127.0.0.1", "300.1.1.1"}, "argument 2, column 1: \"300.1.1.1\": invalid IP address"},
		{[]string{"sweep", "127.0.0.1", "--exclude", "127.0.0.1-0"}, "--exclude, column 1: \"127.0.0.1-0\": range runs backwards"},
		{[]string{"sweep", "127.0.0.0/8"}, "16,777,216 targets, above --max-targets 65,536; raise it with --max-targets 16777216"},
		{[]string{"sweep", "127.0.0.0/8", "--shard", "8/7"}, "--shard \"8/7\""},
		{[]string{"sweep"}, "no targets"},
		{[]string{"sweep", "127.0.0.1", "--fail-on", "bad"}, "unknown severity"},
		{[]string{"sweep", "127.0.0.1", "-c", "0"}, "--concurrency must be 1..4096"},
		{[]string{"sweep", "127.0.0.1", "--rate", "-1"}, "--rate must be"},
		{[]string{"sweep", "127.0.0.1", "--resume", filepath.Join(dir, "none.jsonl")}, "--resume: open"},
		{[]string{"sweep", "127.0.0.1", "--nope"}, "unknown flag: --nope"},
		{[]string{"sweep", "127.0.0.1", "--json"}, "unknown flag: --json (sweep always writes JSON Lines"},
		{[]string{"sweep", "127.0.0.1", "--port", "80"}, "--port must be 445 or 139"},
	} {
		stdout, stderr, code := nullsweep(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit 2 and %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
}
