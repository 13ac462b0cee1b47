package epm

import (
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.hex")
	for _, p := range paths {
		f.Add(loadHex(f, filepath.Base(p)))
	}
}

// FuzzDecodeLookup: never panics; what it accepts lies inside the input.
func FuzzDecodeLookup(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeLookup(b, 1<<16)
		if err != nil {
			return
		}
		if len(r.Entries)*entryMin > len(b) {
			t.Fatalf("%d entries from %d bytes", len(r.Entries), len(b))
		}
		for _, e := range r.Entries {
			if len(e.RawTower) > MaxTowerLen || len(e.Annotation) > 4*maxAnnotation {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

func FuzzDecodeMap(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		towers, _, err := DecodeMap(b, 1<<16)
		if err == nil && len(towers)*8 > len(b) {
			t.Fatalf("%d towers from %d bytes", len(towers), len(b))
		}
	})
}

// FuzzParseTower seeds with the towers of the DC's recorded list.
func FuzzParseTower(f *testing.F) {
	r, err := DecodeLookup(loadHex(f, "lookup_dc.hex"), 64)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range r.Entries {
		f.Add(e.RawTower)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tw, err := ParseTower(b)
		if err != nil {
			return
		}
		if len(tw.Floors) > MaxFloors || len(tw.Floors) < 3 || len(tw.Floors)*5 > len(b) {
			t.Fatalf("%d floors from %d bytes", len(tw.Floors), len(b))
		}
		_ = tw.Binding()
	})
}
