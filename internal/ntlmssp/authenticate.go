package ntlmssp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rc4"
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
	// EncryptedRandomSessionKey is set under NTLMSSP_NEGOTIATE_KEY_EXCH.
	EncryptedRandomSessionKey []byte
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
	payloads := [][]byte{a.LMResponse, a.NTResponse, enc(a.Domain), enc(a.User), enc(a.Workstation), a.EncryptedRandomSessionKey}
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
	var f [6][]byte
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
	a.LMResponse, a.NTResponse, a.EncryptedRandomSessionKey = f[0], f[1], f[5]
	a.Domain, a.User, a.Workstation = dec(f[2]), dec(f[3]), dec(f[4])
	return a, nil
}

// responseFlags are the flags for AUTHENTICATE: what both sides support.
func responseFlags(ch *Challenge) uint32 { return responseFlagsOf(clientFlags, ch) }

func responseFlagsOf(offered uint32, ch *Challenge) uint32 {
	f := offered & ch.Flags
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
	// Rand gives the client challenge (8 bytes), then the exported session
	// key (16 bytes) under KEY_EXCH; crypto/rand when nil.
	Rand io.Reader
	Now  func() time.Time // used when the server sent no timestamp; time.Now when nil
}

// NTLMv2 returns an AUTHENTICATE_MESSAGE with an NTLMv2 response for user,
// domain and password ([MS-NLMP] 3.3.2), for the guest probe: its session
// key is dropped (nothing is signed on a guest session).
func NTLMv2(ch *Challenge, user, domain, password string, opt Options) ([]byte, error) {
	a, err := NTLMv2Hash(ch, user, domain, NTHash(password), opt)
	if err != nil {
		return nil, err
	}
	return a.Message, nil
}

// Auth is an AUTHENTICATE_MESSAGE and the session key it establishes.
type Auth struct {
	Message []byte
	// SessionKey is ExportedSessionKey ([MS-NLMP] 3.1.5.1.2): the random
	// key sent encrypted under KEY_EXCH, else the KeyExchangeKey, which
	// for NTLMv2 is the SessionBaseKey ([MS-NLMP] 3.4.5.1 KXKEY).
	SessionKey []byte
}

// NTHash is NTOWFv1 ([MS-NLMP] 3.3.1): MD4(UTF-16LE(password)), what a
// user may give instead of the password.
func NTHash(password string) []byte {
	h := md4.New()
	h.Write(utf16Bytes(password))
	return h.Sum(nil)
}

// NTLMv2Hash returns the AUTHENTICATE_MESSAGE of an NTLMv2 logon from the
// account's NT hash ([MS-NLMP] 3.3.2) with its session key. The flags are
// what Negotiate offered that the CHALLENGE accepted; the caller offered
// SIGN and KEY_EXCH with NegotiateAuth.
func NTLMv2Hash(ch *Challenge, user, domain string, ntHash []byte, opt Options) (*Auth, error) {
	if len(ntHash) != 16 {
		return nil, fmt.Errorf("ntlmssp: an NT hash is 16 bytes, not %d", len(ntHash))
	}
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
	key := ntowfv2Hash(user, domain, ntHash)

	temp := make([]byte, 0, 28+len(ch.TargetInfo)+4)
	temp = append(temp, 1, 1, 0, 0, 0, 0, 0, 0)
	temp = binary.LittleEndian.AppendUint64(temp, ts)
	temp = append(temp, cc[:]...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, ch.TargetInfo...)
	temp = append(temp, 0, 0, 0, 0)

	proof := hmacMD5(key, ch.ServerChallenge[:], temp)
	nt := append(proof, temp...)
	// SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr) (3.3.2), and
	// for NTLMv2 KXKEY returns it unchanged (3.4.5.1).
	kx := hmacMD5(key, proof)

	// With a server timestamp, [MS-NLMP] 3.1.5.1.2 wants Z(24) for LM.
	lm := make([]byte, 24)
	if !ch.HasTimestamp {
		copy(lm, hmacMD5(key, ch.ServerChallenge[:], cc[:]))
		copy(lm[16:], cc[:])
	}
	a := &Authenticate{
		Flags:      responseFlagsOf(authFlags, ch),
		LMResponse: lm,
		NTResponse: nt,
		Domain:     domain,
		User:       user,
	}
	exported := kx
	if a.Flags&NegotiateKeyExch != 0 {
		// 3.1.5.1.2: ExportedSessionKey = NONCE(16), sent as
		// RC4K(KeyExchangeKey, ExportedSessionKey).
		exported = make([]byte, 16)
		if _, err := io.ReadFull(r, exported); err != nil {
			return nil, fmt.Errorf("ntlmssp: session key: %w", err)
		}
		c, err := rc4.NewCipher(kx)
		if err != nil {
			return nil, fmt.Errorf("ntlmssp: rc4: %w", err)
		}
		a.EncryptedRandomSessionKey = make([]byte, 16)
		c.XORKeyStream(a.EncryptedRandomSessionKey, exported)
	}
	return &Auth{Message: a.Marshal(), SessionKey: exported}, nil
}

// ntowfv2 is NTOWFv2: HMAC_MD5(MD4(UTF16(password)), UTF16(UPPER(user)+domain)).
func ntowfv2(user, domain, password string) []byte {
	return ntowfv2Hash(user, domain, NTHash(password))
}

func ntowfv2Hash(user, domain string, ntHash []byte) []byte {
	return hmacMD5(ntHash, utf16Bytes(strings.ToUpper(user)+domain))
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
