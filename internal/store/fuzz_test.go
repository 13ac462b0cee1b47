package store

import "testing"

// Shard names and target names come from files a sweep wrote (possibly
// torn or edited): parsing them never panics and keeps its invariants.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"1/1", "2/4", "0/0", "9/3", "/", "18446744073709551616/1", "1/-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, n, err := parseShard(s)
		if err == nil && (i < 1 || n < 1 || i > n) {
			t.Fatalf("%q: accepted %d/%d", s, i, n)
		}
	})
}

func FuzzCompareTargets(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "192.0.2.10", "::1", "fe80::1%eth0", "host.example", "99999999999999999999.1"} {
		f.Add(s, "127.0.0.2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		x, y := compareTargets(a, b), compareTargets(b, a)
		if x != -y && !(x == 0 && y == 0) {
			t.Fatalf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, x, b, a, y)
		}
		if compareTargets(a, a) != 0 {
			t.Fatalf("compare(%q, %q) != 0", a, a)
		}
	})
}
