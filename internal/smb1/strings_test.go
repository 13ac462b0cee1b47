package smb1

import "testing"

func TestStrings(t *testing.T) {
	tests := []struct {
		s       string
		base    int
		unicode bool
		want    []byte
	}{
		{"Café", 0, false, []byte{'C', 'a', 'f', 0x82, 0}}, // CP850 0x82 = é
		{"Aé", 0, true, []byte{'A', 0, 0xe9, 0, 0, 0}},
		{"A", 1, true, []byte{0, 'A', 0, 0, 0}}, // odd base: one pad byte
	}
	for _, tt := range tests {
		got := appendString(nil, tt.base, tt.s, tt.unicode)
		if string(got) != string(tt.want) {
			t.Errorf("appendString(%q, %d, %v) = %x, want %x", tt.s, tt.base, tt.unicode, got, tt.want)
		}
		msg := append(make([]byte, tt.base), got...)
		s, next := readString(msg, tt.base, tt.unicode)
		if s != tt.s || next != len(msg) {
			t.Errorf("readString of %x = %q, %d", msg, s, next)
		}
	}
	// No terminator: the string runs to the end; an odd tail byte is dropped.
	if s, n := readString([]byte{'a', 0, 'b'}, 0, true); s != "a" || n != 2 {
		t.Errorf("unterminated unicode: %q %d", s, n)
	}
	if s, n := readString([]byte("abc"), 0, false); s != "abc" || n != 3 {
		t.Errorf("unterminated OEM: %q %d", s, n)
	}
}
