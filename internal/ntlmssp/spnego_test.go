package ntlmssp

import (
	"bytes"
	"errors"
	"testing"
)

func TestSPNEGOCaptures(t *testing.T) {
	mechs, err := ParseInitMechs(readHex(t, "spnego_init.hex"))
	if err != nil {
		t.Fatal(err)
	}
	ntlm := false
	for _, m := range mechs {
		ntlm = ntlm || IsNTLMSSP(m)
	}
	if !ntlm {
		t.Errorf("NTLMSSP missing from %d mechs", len(mechs))
	}
	r, err := ParseResp(readHex(t, "spnego_resp.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasState || r.State != AcceptIncomplete || !IsNTLMSSP(r.Mech) {
		t.Errorf("%+v", r)
	}
	if _, err := ParseChallenge(r.Token); err != nil {
		t.Error(err)
	}
}

func TestSPNEGOWrap(t *testing.T) {
	tok := Negotiate()
	init := WrapInit(tok)
	mechs, err := ParseInitMechs(init)
	if err != nil || len(mechs) != 1 || !IsNTLMSSP(mechs[0]) {
		t.Fatalf("%v %v", mechs, err)
	}
	if !bytes.Contains(init, tok) {
		t.Error("token not inside")
	}
	// Long tokens need multi-byte DER lengths.
	big := bytes.Repeat([]byte{1}, 70000)
	r, err := ParseResp(WrapResp(big))
	if err != nil || !bytes.Equal(r.Token, big) || r.HasState {
		t.Fatalf("%v", err)
	}
}

func TestSPNEGOHostile(t *testing.T) {
	for _, b := range [][]byte{
		{0xa1, 0x84, 0xff, 0xff, 0xff, 0xff},             // 4 GiB length
		{0xa1, 0x85, 1, 1, 1, 1, 1},                      // 5-byte length
		{0xa1, 0x80},                                     // indefinite
		{0xa1, 0x03, 0x30, 0x05, 0xa2},                   // inner overruns outer
		{0xa1, 0x06, 0x30, 0x04, 0xa0, 0x02, 0x0a, 0x02}, // enum overruns
	} {
		if _, err := ParseResp(b); !errors.Is(err, ErrDER) {
			t.Errorf("% x: %v", b, err)
		}
	}
	base := readHex(t, "spnego_resp.hex")
	for n := range len(base) {
		_, _ = ParseResp(base[:n])
	}
}

func FuzzParseResp(f *testing.F) {
	f.Add(readHex(f, "spnego_resp.hex"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseResp(b) })
}

func FuzzParseInitMechs(f *testing.F) {
	f.Add(readHex(f, "spnego_init.hex"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseInitMechs(b) })
}
