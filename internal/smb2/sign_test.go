package smb2

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"testing"
)

func unhexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCMACRFC4493 checks AES-CMAC against the four examples of RFC 4493
// section 4 (empty, one block, 40 bytes, four blocks).
func TestCMACRFC4493(t *testing.T) {
	key := unhexT(t, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := unhexT(t, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	m, err := newCMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		if got := m.sum(msg[:tc.n]); hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("%d bytes: %x, want %s", tc.n, got, tc.want)
		}
	}
}

// The values below were computed independently (Python's hmac, hashlib
// and the cryptography package's CMAC and AES-GCM) from the formulas of
// [MS-SMB2] 3.1.4.1 and 3.1.4.2, for session key 00..0f, preauth hash
// SHA-512("nullsweep") and a 73-byte response (MessageId 7, flags
// SERVER_TO_REDIR|SIGNED). The live proof is internal/smb's
// TestLiveSignedSession against the lab DC, which requires signing.
const (
	kdfKey30    = "6234814cbb8ea9227440ebfeb5eacbe1"
	kdfKey311   = "be00f6c336400e5caa43e1f8f5c98693"
	signMsg     = "fe534d424000010000000000030001000900000000000000070000000000000000000000000000008877665544332211000000000000000000000000000000000900000068656c6c6f"
	sigHMAC     = "1da0baddec02c50d0eeb6a4ff658d9dd"
	sigCMAC30   = "116f4873c31f0befcd9c37c714bd3c12"
	sigGMAC311  = "25b6c29cf1066cb8481baa1caf06f7c1"
	sessionKey0 = "000102030405060708090a0b0c0d0e0f"
)

func TestSigningKnownAnswers(t *testing.T) {
	key := unhexT(t, sessionKey0)
	pre := Preauth(sha512.Sum512([]byte("nullsweep")))
	for _, tc := range []struct {
		name    string
		dialect uint16
		alg     uint16
		hasAlg  bool
		wantKey string
		wantSig string
	}{
		{"2.0.2 HMAC-SHA256", Dialect202, 0, false, sessionKey0, sigHMAC},
		{"2.1 HMAC-SHA256", Dialect21, 0, false, sessionKey0, sigHMAC},
		{"3.0 AES-CMAC", Dialect30, 0, false, kdfKey30, sigCMAC30},
		{"3.0.2 AES-CMAC", Dialect302, 0, false, kdfKey30, sigCMAC30},
		{"3.1.1 AES-GMAC", Dialect311, SignAESGMAC, true, kdfKey311, sigGMAC311},
		{"3.1.1 no context", Dialect311, 0, false, kdfKey311, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newSigner(tc.dialect, tc.alg, tc.hasAlg, key, &pre)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(s.key) != tc.wantKey {
				t.Errorf("key %x, want %s", s.key, tc.wantKey)
			}
			msg := unhexT(t, signMsg)
			if tc.wantSig == "" {
				if s.alg != SignAESCMAC {
					t.Errorf("3.1.1 without a signing context: algorithm %d, want AES-CMAC", s.alg)
				}
				return
			}
			copy(msg[48:], unhexT(t, tc.wantSig))
			if err := s.verify(msg); err != nil {
				t.Fatalf("verify: %v", err)
			}
			for _, bad := range []func(m []byte){
				func(m []byte) { m[len(m)-1] ^= 1 },           // body changed
				func(m []byte) { m[48] ^= 1 },                 // signature changed
				func(m []byte) { m[16] &^= byte(FlagSigned) }, // not flagged signed
			} {
				m := bytes.Clone(msg)
				bad(m)
				if err := s.verify(m); !errors.Is(err, ErrSignature) {
					t.Errorf("tampered message verified: %v", err)
				}
			}
			// sign produces what verify accepts, and the same signature.
			m := bytes.Clone(msg)
			clear(m[48:64])
			s.sign(m)
			if !bytes.Equal(m, msg) {
				t.Errorf("sign: %x, want %x", m[48:64], msg[48:64])
			}
		})
	}
	if _, err := newSigner(Dialect311, 0, false, key, nil); err == nil {
		t.Error("3.1.1 signing without a preauth hash was accepted")
	}
}

// TestPreauthChain: the hash chains H(previous || message).
func TestPreauthChain(t *testing.T) {
	var p Preauth
	p.Add([]byte("a"))
	p.Add([]byte("b"))
	first := sha512.Sum512(append(make([]byte, 64), 'a'))
	want := sha512.Sum512(append(first[:], 'b'))
	if p != Preauth(want) {
		t.Errorf("%x", p)
	}
}
