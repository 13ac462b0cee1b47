package ntlmssp

import (
	"bytes"
	"errors"
	"fmt"
)

// SPNEGO ([RFC 4178], [MS-SPNG]) wraps NTLMSSP tokens in SMB session setup.
// Only what a client needs: NegTokenInit with one mechanism, NegTokenResp
// both ways, and the mechanism list of the server's NEGOTIATE hint. The DER
// reader is bounded: every length is checked against the bytes that remain.

// Encoded OIDs (tag and length included).
var (
	oidSPNEGO  = []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}                         // 1.3.6.1.5.5.2
	oidNTLMSSP = []byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a} // 1.3.6.1.4.1.311.2.2.10
)

// NegState values of NegTokenResp.
const (
	AcceptCompleted  = 0
	AcceptIncomplete = 1
	Reject           = 2
	RequestMIC       = 3
)

// ErrDER reports malformed DER in a SPNEGO token.
var ErrDER = errors.New("ntlmssp: malformed SPNEGO token")

func derLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n < 0x100:
		return []byte{0x81, byte(n)}
	case n < 0x10000:
		return []byte{0x82, byte(n >> 8), byte(n)}
	default:
		return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

func tlv(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := append([]byte{tag}, derLen(n)...)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// readTLV splits one DER element off b. Only definite lengths of up to four
// bytes are accepted; a length past the end is an error.
func readTLV(b []byte) (tag byte, body, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, ErrDER
	}
	tag = b[0]
	l := int(b[1])
	b = b[2:]
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 || k > len(b) {
			return 0, nil, nil, ErrDER
		}
		l = 0
		for _, c := range b[:k] {
			l = l<<8 | int(c)
		}
		b = b[k:]
	}
	if l < 0 || l > len(b) {
		return 0, nil, nil, ErrDER
	}
	return tag, b[:l], b[l:], nil
}

// expect reads one element and requires its tag.
func expect(b []byte, tag byte) (body, rest []byte, err error) {
	t, body, rest, err := readTLV(b)
	if err != nil {
		return nil, nil, err
	}
	if t != tag {
		return nil, nil, fmt.Errorf("%w: tag 0x%02x, want 0x%02x", ErrDER, t, tag)
	}
	return body, rest, nil
}

// WrapInit wraps the NTLMSSP NEGOTIATE in a GSS-API InitialContextToken
// holding a NegTokenInit that offers NTLMSSP only.
func WrapInit(token []byte) []byte {
	mechList := tlv(0xa0, tlv(0x30, oidNTLMSSP))
	mechToken := tlv(0xa2, tlv(0x04, token))
	return tlv(0x60, oidSPNEGO, tlv(0xa0, tlv(0x30, mechList, mechToken)))
}

// WrapResp wraps a later NTLMSSP token (AUTHENTICATE) in a NegTokenResp.
func WrapResp(token []byte) []byte {
	return tlv(0xa1, tlv(0x30, tlv(0xa2, tlv(0x04, token))))
}

// NegTokenResp is the server's answer during the exchange.
type NegTokenResp struct {
	State    int // -1 when absent
	Mech     []byte
	Token    []byte
	MechMIC  []byte
	HasState bool
}

// ParseResp decodes a NegTokenResp ([RFC 4178] 4.2.2). Raw NTLMSSP (a
// server answering a raw token in kind) comes back as the Token.
func ParseResp(b []byte) (*NegTokenResp, error) {
	if bytes.HasPrefix(b, signature) {
		return &NegTokenResp{State: -1, Token: b}, nil
	}
	body, _, err := expect(b, 0xa1)
	if err != nil {
		return nil, err
	}
	seq, _, err := expect(body, 0x30)
	if err != nil {
		return nil, err
	}
	r := &NegTokenResp{State: -1}
	for len(seq) > 0 {
		tag, v, rest, err := readTLV(seq)
		if err != nil {
			return nil, err
		}
		seq = rest
		switch tag {
		case 0xa0:
			e, _, err := expect(v, 0x0a)
			if err != nil || len(e) != 1 {
				return nil, ErrDER
			}
			r.State, r.HasState = int(e[0]), true
		case 0xa1:
			o, _, err := expect(v, 0x06)
			if err != nil {
				return nil, err
			}
			r.Mech = o
		case 0xa2:
			t, _, err := expect(v, 0x04)
			if err != nil {
				return nil, err
			}
			r.Token = t
		case 0xa3:
			t, _, err := expect(v, 0x04)
			if err != nil {
				return nil, err
			}
			r.MechMIC = t
		}
	}
	return r, nil
}

// IsNTLMSSP reports whether an encoded OID body is NTLMSSP's.
func IsNTLMSSP(oid []byte) bool { return bytes.Equal(oid, oidNTLMSSP[2:]) }

// ParseInitMechs returns the mechanism OIDs (DER bodies) of a server's
// NegTokenInit/NegTokenInit2 hint, as sent in the SMB NEGOTIATE response.
func ParseInitMechs(b []byte) ([][]byte, error) {
	body, _, err := expect(b, 0x60)
	if err != nil {
		return nil, err
	}
	oid, rest, err := expect(body, 0x06)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(oid, oidSPNEGO[2:]) {
		return nil, fmt.Errorf("%w: not SPNEGO", ErrDER)
	}
	init, _, err := expect(rest, 0xa0)
	if err != nil {
		return nil, err
	}
	seq, _, err := expect(init, 0x30)
	if err != nil {
		return nil, err
	}
	var mechs [][]byte
	for len(seq) > 0 {
		tag, v, rest, err := readTLV(seq)
		if err != nil {
			return nil, err
		}
		seq = rest
		if tag != 0xa0 {
			continue
		}
		list, _, err := expect(v, 0x30)
		if err != nil {
			return nil, err
		}
		for len(list) > 0 && len(mechs) < 16 {
			o, rest, err := expect(list, 0x06)
			if err != nil {
				return nil, err
			}
			mechs = append(mechs, o)
			list = rest
		}
	}
	return mechs, nil
}
