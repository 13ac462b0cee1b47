package sweep

import (
	"errors"
	"strings"
	"testing"
)

func mustPlan(t testing.TB, targets, excludes string, seed, shard, shards uint64) *Plan {
	t.Helper()
	p, err := NewPlan(parseSet(t, targets), parseSet(t, excludes), seed, shard, shards, 1<<32)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFeistelIsPermutation(t *testing.T) {
	for _, n := range []uint64{0, 1, 2, 3, 4, 5, 7, 16, 17, 255, 256, 1000, 4097, 65536} {
		for _, seed := range []uint64{0, 1, 0xdeadbeef} {
			f := newFeistel(n, seed)
			seen := make([]bool, n)
			for i := range n {
				x := f.at(i)
				if x >= n || seen[x] {
					t.Fatalf("n=%d seed=%d: at(%d)=%d repeats or out of range", n, seed, i, x)
				}
				seen[x] = true
			}
		}
	}
}

func TestPermutationSeeded(t *testing.T) {
	order := func(seed uint64) string {
		p := mustPlan(t, "127.0.0.0/20", "", seed, 1, 1)
		var b strings.Builder
		for j := range uint64(64) {
			_, tg := p.At(j)
			b.WriteString(tg.String() + " ")
		}
		return b.String()
	}
	if order(7) != order(7) {
		t.Error("same seed, different order")
	}
	if order(7) == order(8) {
		t.Error("different seeds, same order")
	}
	// Consecutive targets spread over subnets: the first 256 of a /16 touch
	// many /24s, where the canonical order would touch one.
	p := mustPlan(t, "127.0.0.0/16", "", 0, 1, 1)
	nets := map[string]bool{}
	for j := range uint64(256) {
		_, tg := p.At(j)
		a := tg.Addr.As4()
		nets[string(a[:3])] = true
	}
	if len(nets) < 120 {
		t.Errorf("first 256 targets of a /16 fall in %d /24s, want >= 120", len(nets))
	}
}

// TestShardsCoverExactly: for any n, the shards of one plan are disjoint
// and together hold every target once, and share the plan id.
func TestShardsCoverExactly(t *testing.T) {
	for _, targets := range []string{"", "127.0.0.1", "127.0.0.0/29 ::1 a.test", "127.0.0.0/22"} {
		whole := mustPlan(t, targets, "", 3, 1, 1)
		for n := uint64(1); n <= 9; n++ {
			seen := map[string]uint64{}
			id := ""
			var total uint64
			for i := uint64(1); i <= n; i++ {
				p := mustPlan(t, targets, "", 3, i, n)
				if id == "" {
					id = p.ID
				} else if p.ID != id {
					t.Fatalf("%q n=%d: shard %d plan id %s, shard 1 %s", targets, n, i, p.ID, id)
				}
				total += p.Len()
				for j := range p.Len() {
					idx, tg := p.At(j)
					if jj, ok := p.Local(idx); !ok || jj != j {
						t.Fatalf("Local(%d) = %d %v, want %d", idx, jj, ok, j)
					}
					seen[tg.String()]++
				}
			}
			if total != whole.N || uint64(len(seen)) != whole.N {
				t.Fatalf("%q n=%d: %d records, %d distinct, want %d", targets, n, total, len(seen), whole.N)
			}
			for k, c := range seen {
				if c != 1 {
					t.Fatalf("%q n=%d: %s taken %d times", targets, n, k, c)
				}
			}
		}
	}
}

func TestPlanID(t *testing.T) {
	a := mustPlan(t, "127.0.0.0/30", "", 0, 1, 1)
	for _, tc := range []struct {
		name    string
		p       *Plan
		sameAsA bool
	}{
		{"same set spelled differently", mustPlan(t, "127.0.0.0-3", "", 0, 1, 1), true},
		{"same set after excludes", mustPlan(t, "127.0.0.0/29", "127.0.0.4/30", 0, 1, 1), true},
		{"another shard of the same plan", mustPlan(t, "127.0.0.0/30", "", 0, 1, 1), true},
		{"other seed", mustPlan(t, "127.0.0.0/30", "", 1, 1, 1), false},
		{"other shard count", mustPlan(t, "127.0.0.0/30", "", 0, 1, 2), false},
		{"other targets", mustPlan(t, "127.0.0.0/31", "", 0, 1, 1), false},
	} {
		if (tc.p.ID == a.ID) != tc.sameAsA {
			t.Errorf("%s: id %s vs %s", tc.name, tc.p.ID, a.ID)
		}
	}
	if len(a.ID) != 16 {
		t.Errorf("id %q", a.ID)
	}
}

func TestPlanRefusals(t *testing.T) {
	for _, tc := range []struct {
		targets       string
		max           uint64
		shard, shards uint64
		want          string
	}{
		{"127.0.0.0/8", DefaultMaxTargets, 1, 1, "sweep: 127.0.0.0-127.255.255.255: 16,777,216 targets, above --max-targets 65,536; raise it with --max-targets 16777216"},
		{"127.0.0.0/15", DefaultMaxTargets, 1, 1, "131,072 targets"},
		{"2001:db8::/64", DefaultMaxTargets, 1, 1, "2^64 or more targets"},
		{"127.0.0.0/16", DefaultMaxTargets, 1, 1, ""},
		{"127.0.0.0/8", DefaultMaxTargets, 1, 256, ""},
		{"127.0.0.0/8", DefaultMaxTargets, 1, 255, "127.0.0.0-127.255.255.255, shard 1/255: 65,794 targets"},
		{"127.0.0.1", 10, 0, 3, "shard 0/3"},
		{"127.0.0.1", 10, 4, 3, "shard 4/3"},
		{"127.0.0.1", 10, 1, 0, "shard 1/0"},
	} {
		_, err := NewPlan(parseSet(t, tc.targets), parseSet(t), 0, tc.shard, tc.shards, tc.max)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.targets, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err %v, want %q", tc.targets, err, tc.want)
		}
		var tm *TooManyError
		if strings.Contains(tc.want, "targets") && !errors.As(err, &tm) {
			t.Errorf("%s: not a TooManyError", tc.targets)
		}
	}
}
