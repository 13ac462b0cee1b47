// Package amp measures memory amplification: how many bytes a decoder keeps
// and allocates per byte a server sent. Tests and fuzz targets use it to
// hold every decoder to Factor (docs/bounds.md).
package amp

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"unsafe"
)

// Factor is the most memory a decode may retain, and the most it may
// allocate in all, per byte received.
const Factor = 16

// slack absorbs fixed costs (a result struct, an error value, runtime
// noise) that do not grow with the input; fuzzSlack is the same for Size,
// which has no runtime noise.
const (
	slack     = 16 << 10
	fuzzSlack = 512
)

// Measure runs f twice (the first run warms lazily built tables) and
// reports, for the second, the bytes still live while f's result is held
// (heap growth, or the result's Size if larger), and the heap bytes f
// allocated in all.
func Measure(f func() any) (retained, allocated uint64) {
	runtime.KeepAlive(f())
	var before, after runtime.MemStats
	// Three times: the first GC moves sync.Pool contents to their victim
	// caches, the second frees them, the third what was allocated black
	// meanwhile, so little vanishes mid-measure.
	runtime.GC()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := f()
	runtime.ReadMemStats(&after)
	allocated = after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	if after.HeapAlloc > before.HeapAlloc {
		retained = after.HeapAlloc - before.HeapAlloc
	}
	// The heap's figure moves with whatever else the process frees; the
	// result's own size is exact. The larger of the two is reported.
	retained = max(retained, uint64(Size(v)))
	return retained, allocated
}

// Check measures f, which decodes received bytes, logs the ratios and fails
// t when either exceeds Factor.
func Check(t testing.TB, name string, received int, f func() any) {
	t.Helper()
	ret, alloc := Measure(f)
	limit := uint64(Factor*received + slack)
	t.Logf("%s: %d bytes received, %d retained (x%.2f), %d allocated (x%.2f); limit x%d",
		name, received, ret, float64(ret)/float64(received), alloc, float64(alloc)/float64(received), Factor)
	if ret > limit {
		t.Errorf("%s: retained %d bytes for %d received (x%.1f > x%d)", name, ret, received, float64(ret)/float64(received), Factor)
	}
	if alloc > limit {
		t.Errorf("%s: allocated %d bytes for %d received (x%.1f > x%d)", name, alloc, received, float64(alloc)/float64(received), Factor)
	}
}

// Size is the memory v holds: v itself and everything reachable from it,
// with each backing array, string body and pointee counted once however
// many references share it (as the heap does). Fuzz targets use it where
// MemStats would be too slow.
func Size(v any) int {
	s := sizer{seen: map[[2]uintptr]bool{}}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return 0
	}
	return int(rv.Type().Size()) + s.walk(rv)
}

// CheckSize fails t when result holds more than Factor bytes per input byte.
func CheckSize(t testing.TB, input []byte, result any) {
	t.Helper()
	if n := Size(result); n > Factor*len(input)+fuzzSlack {
		t.Fatalf("decode of %d bytes holds %d bytes (x%.1f > x%d)", len(input), n, float64(n)/float64(max(len(input), 1)), Factor)
	}
}

type sizer struct{ seen map[[2]uintptr]bool }

// first reports whether the memory at p of n bytes is met for the first time.
func (s *sizer) first(p uintptr, n uintptr) bool {
	k := [2]uintptr{p, n}
	if p == 0 || s.seen[k] {
		return false
	}
	s.seen[k] = true
	return true
}

// walk returns the bytes held outside v's own inline storage.
func (s *sizer) walk(v reflect.Value) int {
	switch v.Kind() {
	case reflect.String:
		str := v.String()
		if len(str) == 0 || !s.first(uintptr(unsafe.Pointer(unsafe.StringData(str))), uintptr(len(str))) {
			return 0
		}
		return len(str)
	case reflect.Slice:
		if v.IsNil() || v.Cap() == 0 {
			return 0
		}
		el := v.Type().Elem().Size()
		if !s.first(v.Pointer(), uintptr(v.Cap())*el) {
			return 0
		}
		n := v.Cap() * int(el)
		for i := 0; i < v.Len(); i++ {
			n += s.walk(v.Index(i))
		}
		return n
	case reflect.Pointer:
		if v.IsNil() || !s.first(v.Pointer(), v.Type().Elem().Size()) {
			return 0
		}
		return int(v.Type().Elem().Size()) + s.walk(v.Elem())
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		return int(e.Type().Size()) + s.walk(e)
	case reflect.Struct:
		n := 0
		for i := 0; i < v.NumField(); i++ {
			n += s.walk(v.Field(i))
		}
		return n
	case reflect.Array:
		n := 0
		for i := 0; i < v.Len(); i++ {
			n += s.walk(v.Index(i))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return 0
		}
		n := 0
		it := v.MapRange()
		for it.Next() {
			n += int(it.Key().Type().Size()+it.Value().Type().Size()) + s.walk(it.Key()) + s.walk(it.Value())
		}
		return n
	}
	return 0
}

// Ratio formats n/d for logs.
func Ratio(n, d int) string { return fmt.Sprintf("x%.2f", float64(n)/float64(max(d, 1))) }
