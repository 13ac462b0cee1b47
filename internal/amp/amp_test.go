package amp

import (
	"strings"
	"testing"
)

func TestSize(t *testing.T) {
	type entry struct {
		Name   string
		Domain string
		N      uint64
	}
	dom := strings.Repeat("D", 1000)
	shared := make([]entry, 100)
	copied := make([]entry, 100)
	for i := range shared {
		shared[i] = entry{Name: "n", Domain: dom}
		copied[i] = entry{Name: "n", Domain: strings.Clone(dom)}
	}
	for _, tc := range []struct {
		name     string
		v        any
		min, max int
	}{
		{"nil", nil, 0, 0},
		{"string", "abcd", 16 + 4, 16 + 4},
		{"slice cap", make([]byte, 1, 100), 24 + 100, 24 + 100},
		// A string shared by every entry is held once, as on the heap.
		{"shared domain", shared, 24 + 100*40 + 1000, 24 + 100*40 + 1000 + 100},
		{"copied domain", copied, 24 + 100*40 + 100*1000, 24 + 100*40 + 100*1000 + 100},
		{"pointer", &entry{Name: "abc"}, 8 + 40 + 3, 8 + 40 + 3},
	} {
		if got := Size(tc.v); got < tc.min || got > tc.max {
			t.Errorf("%s: Size %d, want %d..%d", tc.name, got, tc.min, tc.max)
		}
	}
}

func TestMeasure(t *testing.T) {
	ret, alloc := Measure(func() any { return make([]byte, 1<<20) })
	if ret < 1<<20 || alloc < 1<<20 || alloc > 1<<20+64<<10 {
		t.Fatalf("a 1 MiB slice: retained %d, allocated %d", ret, alloc)
	}
}
