package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	s, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(s)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// Captures from the lab (Samba 4.17): refresh with
// go test ./internal/smb2 -run Live -update.
func TestParseChallengeCaptures(t *testing.T) {
	tests := []struct {
		file                              string
		nbComputer, nbDomain, dnsComputer string
		dnsDomain, target, version        string
		domainTarget                      bool
	}{
		{"challenge_open.hex", "OPENSRV", "OPENSRV", "vm", "", "OPENSRV", "6.1.0", false},
		{"challenge_dc.hex", "DC1", "LAB", "dc1.lab.test", "lab.test", "LAB", "6.1.0", true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ch, err := ParseChallenge(readHex(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{ch.NetBIOSComputer, ch.NetBIOSDomain, ch.DNSComputer, ch.DNSDomain, ch.TargetName, ch.Version()}
			want := []string{tc.nbComputer, tc.nbDomain, tc.dnsComputer, tc.dnsDomain, tc.target, tc.version}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d = %q, want %q", i, got[i], want[i])
				}
			}
			if ch.Flags&TargetTypeDomain != 0 != tc.domainTarget {
				t.Errorf("flags %#x", ch.Flags)
			}
			if !ch.HasTimestamp || ch.Timestamp.Year() < 2020 {
				t.Errorf("timestamp %v", ch.Timestamp)
			}
			if ch.ServerChallenge == [8]byte{} || len(ch.Pairs) < 4 {
				t.Errorf("challenge % x, %d pairs", ch.ServerChallenge, len(ch.Pairs))
			}
		})
	}
}

func TestNegotiateMessage(t *testing.T) {
	b := Negotiate()
	if len(b) != 40 || !bytes.HasPrefix(b, signature) || binary.LittleEndian.Uint32(b[8:]) != 1 {
		t.Fatalf("% x", b)
	}
	f := binary.LittleEndian.Uint32(b[12:])
	if f&(NegotiateSign|NegotiateSeal|NegotiateKeyExch|NegotiateAnonymous) != 0 || f&NegotiateUnicode == 0 {
		t.Errorf("flags %#x", f)
	}
}

// TestAnonymousCarriesNothing is the null session's promise: no user, no
// domain, no workstation, no NT response, LM = Z(1), the ANONYMOUS flag,
// and no key exchange.
func TestAnonymousCarriesNothing(t *testing.T) {
	for _, file := range []string{"challenge_open.hex", "challenge_dc.hex"} {
		ch, err := ParseChallenge(readHex(t, file))
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseAuthenticate(Anonymous(ch))
		if err != nil {
			t.Fatal(err)
		}
		if a.User != "" || a.Domain != "" || a.Workstation != "" {
			t.Errorf("%s: user %q domain %q workstation %q", file, a.User, a.Domain, a.Workstation)
		}
		if len(a.NTResponse) != 0 || !bytes.Equal(a.LMResponse, []byte{0}) {
			t.Errorf("%s: NT % x LM % x", file, a.NTResponse, a.LMResponse)
		}
		if a.Flags&NegotiateAnonymous == 0 || a.Flags&(NegotiateKeyExch|NegotiateSign|NegotiateSeal) != 0 {
			t.Errorf("%s: flags %#x", file, a.Flags)
		}
	}
}

// TestNTLMv2Vector checks the response against [MS-NLMP] 4.2.4.
func TestNTLMv2Vector(t *testing.T) {
	info := unhex("02000c0044006f006d00610069006e0001000c005300650072007600650072000000 0000")
	ch := &Challenge{
		Flags:      NegotiateUnicode | NegotiateNTLM | NegotiateTargetInfo | NegotiateExtendedSessionSecurity,
		TargetInfo: info,
	}
	copy(ch.ServerChallenge[:], unhex("0123456789abcdef"))
	if k := ntowfv2("User", "Domain", "Password"); !bytes.Equal(k, unhex("0c868a403bfd7a93a3001ef22ef02e3f")) {
		t.Fatalf("NTOWFv2 % x", k)
	}
	msg, err := NTLMv2(ch, "User", "Domain", "Password", Options{
		Rand: bytes.NewReader(bytes.Repeat([]byte{0xaa}, 8)),
		Now:  func() time.Time { return time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthenticate(msg)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"); !bytes.Equal(a.LMResponse, want) {
		t.Errorf("LMv2 % x", a.LMResponse)
	}
	if want := unhex("68cd0ab851e51c96aabc927bebef6a1c"); !bytes.Equal(a.NTResponse[:16], want) {
		t.Errorf("NTProofStr % x", a.NTResponse[:16])
	}
	if a.User != "User" || a.Domain != "Domain" || a.Flags&NegotiateAnonymous != 0 {
		t.Errorf("%+v", a)
	}
}

func TestFileTimeZero(t *testing.T) {
	// FileTime(0) is before 1970 and maps to the zero Time; ToFileTime of
	// 1601-01-01 must give 0.
	d := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	if v := ToFileTime(d); v != 0 {
		t.Fatalf("got %d", v)
	}
}

func TestHostileChallenge(t *testing.T) {
	base := readHex(t, "challenge_dc.hex")
	for _, off := range []int{12, 14, 16, 40, 42, 44} {
		b := append([]byte(nil), base...)
		binary.LittleEndian.PutUint16(b[off:], 0xFFFF)
		if off == 16 || off == 44 {
			binary.LittleEndian.PutUint32(b[off:], 0xFFFFFFFF)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ParseChallenge(b)
		runtime.ReadMemStats(&after)
		if off != 14 && off != 42 && !errors.Is(err, ErrShort) { // 14/42 are MaxLen, unused
			t.Errorf("off %d: %v", off, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("off %d: allocated %d", off, got)
		}
	}
	// An AV pair claiming more bytes than remain.
	b := append([]byte(nil), base...)
	info := int(binary.LittleEndian.Uint32(b[44:]))
	binary.LittleEndian.PutUint16(b[info+2:], 0xFFFF)
	if _, err := ParseChallenge(b); !errors.Is(err, ErrShort) {
		t.Errorf("long AV pair: %v", err)
	}
	for n := range len(base) {
		_, _ = ParseChallenge(base[:n])
	}
}

func TestRandomUser(t *testing.T) {
	a, err := RandomUser(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomUser(nil)
	if a == b || len(a) != 8 || !strings.HasPrefix(a, "ns") {
		t.Errorf("%q %q", a, b)
	}
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(readHex(f, "challenge_open.hex"))
	f.Add(readHex(f, "challenge_dc.hex"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := ParseChallenge(b)
		if err == nil {
			// Whatever parsed must be answerable without panicking.
			_ = Anonymous(ch)
			_, _ = NTLMv2(ch, "u", "", "", Options{Rand: bytes.NewReader(make([]byte, 8))})
		}
	})
}

// TestNTLMv2SessionKeyVector checks the session keys against [MS-NLMP]
// 4.2.4: SessionBaseKey (= KeyExchangeKey for NTLMv2, 4.2.4.1.2) and the
// EncryptedRandomSessionKey of RandomSessionKey 0x55 x16 (4.2.4.2.3).
func TestNTLMv2SessionKeyVector(t *testing.T) {
	info := unhex("02000c0044006f006d00610069006e0001000c005300650072007600650072000000 0000")
	rnd := append(bytes.Repeat([]byte{0xaa}, 8), bytes.Repeat([]byte{0x55}, 16)...)
	for _, tc := range []struct {
		name       string
		flags      uint32
		wantKey    string
		wantEncKey string
	}{
		{"key exchange", NegotiateUnicode | NegotiateNTLM | NegotiateTargetInfo | NegotiateExtendedSessionSecurity | NegotiateSign | NegotiateKeyExch,
			"55555555555555555555555555555555", "c5dad2544fc9799094ce1ce90bc9d03e"},
		{"no key exchange", NegotiateUnicode | NegotiateNTLM | NegotiateTargetInfo | NegotiateExtendedSessionSecurity | NegotiateSign,
			"8de40ccadbc14a82f15cb0ad0de95ca3", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := &Challenge{Flags: tc.flags, TargetInfo: info}
			copy(ch.ServerChallenge[:], unhex("0123456789abcdef"))
			got, err := NTLMv2Hash(ch, "User", "Domain", NTHash("Password"), Options{
				Rand: bytes.NewReader(rnd),
				Now:  func() time.Time { return time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.SessionKey, unhex(tc.wantKey)) {
				t.Errorf("session key % x, want %s", got.SessionKey, tc.wantKey)
			}
			a, err := ParseAuthenticate(got.Message)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.EncryptedRandomSessionKey, unhex(tc.wantEncKey)) {
				t.Errorf("encrypted session key % x, want %s", a.EncryptedRandomSessionKey, tc.wantEncKey)
			}
			if want := unhex("68cd0ab851e51c96aabc927bebef6a1c"); !bytes.Equal(a.NTResponse[:16], want) {
				t.Errorf("NTProofStr % x", a.NTResponse[:16])
			}
		})
	}
	if h := NTHash("Password"); !bytes.Equal(h, unhex("a4f49c406510bdcab6824ee7c30fd852")) {
		t.Errorf("NTOWFv1 % x", h) // [MS-NLMP] 4.2.2.1.2
	}
	if _, err := NTLMv2Hash(&Challenge{}, "u", "", make([]byte, 15), Options{}); err == nil {
		t.Error("a 15-byte hash was accepted")
	}
}
