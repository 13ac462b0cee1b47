package ntlmssp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/md4"
)

// authHeaderLen is the fixed part of an AUTHENTICATE_MESSAGE with VERSION
// but without MIC: we never send a MIC (it needs a session key), and both
// Samba and Windows accept its absence when MsvAvFlags does not promise one.
const authHeaderLen = 72

// Authenticate holds the fields of an AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3).
type Authenticate struct {
	Flags       uint32
	LMResponse  []byte
	NTResponse  []byte
	Domain      string
	User        string
	Workstation string
}

// Marshal encodes the message. Strings are UTF-16LE (we always negotiate
// Unicode; a server that refuses it gets OEM bytes of the same ASCII text).
func (a *Authenticate) Marshal() []byte {
	enc := func(s string) []byte {
		if a.Flags&NegotiateUnicode != 0 {
			return utf16Bytes(s)
		}
		return []byte(s)
	}
	payloads := [][]byte{a.LMResponse, a.NTResponse, enc(a.Domain), enc(a.User), enc(a.Workstation), nil}
	b := make([]byte, authHeaderLen, authHeaderLen+len(a.LMResponse)+len(a.NTResponse)+64)
	copy(b, signature)
	binary.LittleEndian.PutUint32(b[8:], typeAuthenticate)
	binary.LittleEndian.PutUint32(b[60:], a.Flags)
	copy(b[64:], clientVersion[:])
	for i, p := range payloads {
		// [MS-NLMP] 2.2.1.3: Unicode strings start on an even offset.
		if i >= 2 && a.Flags&NegotiateUnicode != 0 && len(b)%2 == 1 {
			b = append(b, 0)
		}
		h := b[12+8*i:]
		binary.LittleEndian.PutUint16(h, uint16(len(p)))
		binary.LittleEndian.PutUint16(h[2:], uint16(len(p)))
		binary.LittleEndian.PutUint32(h[4:], uint32(len(b)))
		b = append(b, p...)
	}
	return b
}

// ParseAuthenticate decodes an AUTHENTICATE_MESSAGE; tests use it to check
// what we send.
func ParseAuthenticate(b []byte) (*Authenticate, error) {
	if len(b) < 64 {
		return nil, ErrShort
	}
	if string(b[:8]) != string(signature) {
		return nil, ErrSignature
	}
	if t := binary.LittleEndian.Uint32(b[8:]); t != typeAuthenticate {
		return nil, fmt.Errorf("%w: %d", ErrType, t)
	}
	a := &Authenticate{Flags: binary.LittleEndian.Uint32(b[60:])}
	var f [5][]byte
	for i := range f {
		v, err := field(b, 12+8*i)
		if err != nil {
			return nil, fmt.Errorf("ntlmssp: authenticate field %d: %w", i, err)
		}
		f[i] = v
	}
	dec := func(v []byte) string {
		if a.Flags&NegotiateUnicode != 0 {
			return utf16String(v)
		}
		return string(v)
	}
	a.LMResponse, a.NTResponse = f[0], f[1]
	a.Domain, a.User, a.Workstation = dec(f[2]), dec(f[3]), dec(f[4])
	return a, nil
}

// responseFlags are the flags for AUTHENTICATE: what both sides support.
func responseFlags(ch *Challenge) uint32 {
	f := clientFlags & ch.Flags
	if ch.Flags&NegotiateUnicode != 0 {
		f &^= NegotiateOEM
	}
	return f
}

// Anonymous returns the AUTHENTICATE_MESSAGE of a null session: no user, no
// domain, no workstation, an empty NT response, NTLMSSP_NEGOTIATE_ANONYMOUS,
// and an LM response of one zero byte. [MS-NLMP] 3.3.1/3.3.2 say
// LmChallengeResponse = Z(1) for anonymous, and that is what Windows sends;
// Samba accepts both Z(1) and empty as anonymous, so we follow Windows.
func Anonymous(ch *Challenge) []byte {
	a := &Authenticate{
		Flags:      responseFlags(ch) | NegotiateAnonymous,
		LMResponse: []byte{0},
	}
	return a.Marshal()
}

// Options make NTLMv2 deterministic in tests.
type Options struct {
	Rand io.Reader        // client challenge; crypto/rand when nil
	Now  func() time.Time // used when the server sent no timestamp; time.Now when nil
}

// NTLMv2 returns an AUTHENTICATE_MESSAGE with an NTLMv2 response for user,
// domain and password ([MS-NLMP] 3.3.2). No session key is derived: the
// caller must not sign.
func NTLMv2(ch *Challenge, user, domain, password string, opt Options) ([]byte, error) {
	r := opt.Rand
	if r == nil {
		r = rand.Reader
	}
	var cc [8]byte
	if _, err := io.ReadFull(r, cc[:]); err != nil {
		return nil, fmt.Errorf("ntlmssp: client challenge: %w", err)
	}
	ts := ch.RawTimestamp
	if !ch.HasTimestamp {
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		ts = ToFileTime(now())
	}
	key := ntowfv2(user, domain, password)

	temp := make([]byte, 0, 28+len(ch.TargetInfo)+4)
	temp = append(temp, 1, 1, 0, 0, 0, 0, 0, 0)
	temp = binary.LittleEndian.AppendUint64(temp, ts)
	temp = append(temp, cc[:]...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, ch.TargetInfo...)
	temp = append(temp, 0, 0, 0, 0)

	proof := hmacMD5(key, ch.ServerChallenge[:], temp)
	nt := append(proof, temp...)

	// With a server timestamp, [MS-NLMP] 3.1.5.1.2 wants Z(24) for LM.
	lm := make([]byte, 24)
	if !ch.HasTimestamp {
		copy(lm, hmacMD5(key, ch.ServerChallenge[:], cc[:]))
		copy(lm[16:], cc[:])
	}
	a := &Authenticate{
		Flags:      responseFlags(ch),
		LMResponse: lm,
		NTResponse: nt,
		Domain:     domain,
		User:       user,
	}
	return a.Marshal(), nil
}

// ntowfv2 is NTOWFv2: HMAC_MD5(MD4(UTF16(password)), UTF16(UPPER(user)+domain)).
func ntowfv2(user, domain, password string) []byte {
	h := md4.New()
	h.Write(utf16Bytes(password))
	return hmacMD5(h.Sum(nil), utf16Bytes(strings.ToUpper(user)+domain))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// RandomUser returns a fresh user name that no server has: the guest probe
// logs on with it and an empty password, so a server that maps unknown
// users to guest ("map to guest = Bad User") shows itself.
func RandomUser(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [6]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("ntlmssp: random user: %w", err)
	}
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	s := []byte("ns")
	for _, v := range b {
		s = append(s, letters[int(v)%len(letters)])
	}
	return string(s), nil
}
