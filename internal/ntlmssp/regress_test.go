package ntlmssp

import (
	"bytes"
	"testing"
)

// FuzzParseAuthenticate: the decoder tests use to read what we send must
// survive anything, and every field it returns lies inside the message.
func FuzzParseAuthenticate(f *testing.F) {
	for _, name := range []string{"challenge_open.hex", "challenge_dc.hex"} {
		ch, err := ParseChallenge(readHex(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(Anonymous(ch))
		a, err := NTLMv2(ch, "nullsweep-0123456789ab", "", "", Options{Rand: bytes.NewReader(make([]byte, 8))})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAuthenticate(b)
		if err != nil {
			return
		}
		// Fields may overlap (two offsets naming the same bytes), so
		// each lies inside the message on its own; their sum need not.
		// The corpus entry 37506b2961dca3c0 is such a message.
		if len(a.LMResponse) > len(b) || len(a.NTResponse) > len(b) || len(a.User) > 3*len(b) {
			t.Fatalf("a field larger than the %d-byte message", len(b))
		}
	})
}
