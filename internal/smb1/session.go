package smb1

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// ActionGuest is the Action bit a server sets when it mapped the logon to
// the guest account.
const ActionGuest uint16 = 0x0001

// nativeName is what we call ourselves in NativeOS and NativeLanMan.
const nativeName = "nullsweep"

// SessionSetupResponse is a SESSION_SETUP_ANDX response, success or not.
type SessionSetupResponse struct {
	Status        ntstatus.Status
	UID           uint16
	Action        uint16
	SecurityBlob  []byte // extended security only
	NativeOS      string
	NativeLanMan  string
	PrimaryDomain string // non-extended security only
	// Raw is the reply as received (its signature is checked once the
	// session key is known, StartSigning).
	Raw []byte
}

// SessionSetupEmpty sends the non-extended-security logon of [MS-CIFS]
// 2.2.4.53.1 with empty OEM and Unicode passwords: with user and domain
// empty this is the classic null session. It needs a NEGOTIATE without
// extended security. On a failure status the response comes back with an
// error wrapping the status.
func (c *Client) SessionSetupEmpty(ctx context.Context, user, domain string) (*SessionSetupResponse, error) {
	if c.neg == nil {
		return nil, fmt.Errorf("smb1: session setup: not negotiated")
	}
	w := make([]byte, 0, 26)
	w = append(w, andX...)
	w = binary.LittleEndian.AppendUint16(w, uint16(min(c.maxBuffer(), 0xFFFF)))
	w = binary.LittleEndian.AppendUint16(w, 1) // MaxMpxCount: we send one at a time
	w = binary.LittleEndian.AppendUint16(w, 1) // VcNumber
	w = binary.LittleEndian.AppendUint32(w, c.neg.SessionKey)
	w = binary.LittleEndian.AppendUint16(w, 0) // OEMPasswordLen
	w = binary.LittleEndian.AppendUint16(w, 0) // UnicodePasswordLen
	w = binary.LittleEndian.AppendUint32(w, 0)
	w = binary.LittleEndian.AppendUint32(w, clientCaps&c.neg.Capabilities)
	req := &request{cmd: ComSessionSetup, flags2: c.flags2(), words: w}
	base := req.bytesOff()
	var b []byte
	u := c.unicode()
	b = appendString(b, base, user, u)
	b = appendString(b, base, domain, u)
	b = appendString(b, base, nativeName, u)
	b = appendString(b, base, nativeName, u)
	req.bytes = b
	return c.sessionSetup(ctx, req)
}

// SessionSetupBlob sends one extended-security SESSION_SETUP_ANDX leg
// ([MS-SMB] 2.2.4.6.1) carrying a security blob (raw NTLMSSP or SPNEGO).
// uid is 0 on the first leg and the UID of the MORE_PROCESSING_REQUIRED
// reply after. That status comes back as a response with a nil error.
func (c *Client) SessionSetupBlob(ctx context.Context, uid uint16, blob []byte) (*SessionSetupResponse, error) {
	if c.neg == nil {
		return nil, fmt.Errorf("smb1: session setup: not negotiated")
	}
	if len(blob) > 0xFFFF {
		return nil, fmt.Errorf("smb1: session setup: blob of %d bytes", len(blob))
	}
	w := make([]byte, 0, 24)
	w = append(w, andX...)
	w = binary.LittleEndian.AppendUint16(w, uint16(min(c.maxBuffer(), 0xFFFF)))
	w = binary.LittleEndian.AppendUint16(w, 1)
	w = binary.LittleEndian.AppendUint16(w, 1)
	w = binary.LittleEndian.AppendUint32(w, c.neg.SessionKey)
	w = binary.LittleEndian.AppendUint16(w, uint16(len(blob)))
	w = binary.LittleEndian.AppendUint32(w, 0)
	w = binary.LittleEndian.AppendUint32(w, clientCaps&c.neg.Capabilities|CapExtendedSecurity)
	req := &request{cmd: ComSessionSetup, flags2: c.flags2() | Flags2ExtendedSec, uid: uid, words: w}
	b := append([]byte(nil), blob...)
	b = appendString(b, req.bytesOff(), nativeName, c.unicode())
	b = appendString(b, req.bytesOff(), nativeName, c.unicode())
	req.bytes = b
	return c.sessionSetup(ctx, req)
}

func (c *Client) sessionSetup(ctx context.Context, req *request) (*SessionSetupResponse, error) {
	m, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("smb1: session setup: %w", err)
	}
	r, err := ParseSessionSetup(m)
	if err != nil {
		return nil, err
	}
	r.Raw = m.Raw
	if r.Status != ntstatus.Success && r.Status != ntstatus.MoreProcessingRequired {
		return r, statusError("session setup", r.Status)
	}
	return r, nil
}

// ParseSessionSetup decodes a SESSION_SETUP_ANDX response of either form
// (WordCount 3: non-extended, 4: extended security). An error reply with no
// words gives a response holding only the status.
func ParseSessionSetup(m *Message) (*SessionSetupResponse, error) {
	if m.Command != ComSessionSetup {
		return nil, fmt.Errorf("smb1: session setup: reply command 0x%02x", m.Command)
	}
	r := &SessionSetupResponse{Status: m.Status, UID: m.UID}
	switch len(m.Words) {
	case 0:
		if m.Status == ntstatus.Success {
			return nil, fmt.Errorf("smb1: session setup: success with no words")
		}
		return r, nil
	case 6:
		r.Action = m.word(4)
		s := m.strings(0, 3)
		r.NativeOS, r.NativeLanMan, r.PrimaryDomain = s[0], s[1], s[2]
	case 8:
		r.Action = m.word(4)
		n := int(m.word(6))
		if n > len(m.Bytes) {
			return nil, fmt.Errorf("smb1: session setup: security blob: %w", ErrShort)
		}
		r.SecurityBlob = append([]byte(nil), m.Bytes[:n]...)
		s := m.strings(n, 3)
		r.NativeOS, r.NativeLanMan, r.PrimaryDomain = s[0], s[1], s[2]
	default:
		return nil, fmt.Errorf("smb1: session setup: word count %d", len(m.Words)/2)
	}
	return r, nil
}

// Logoff ends the session uid.
func (c *Client) Logoff(ctx context.Context, uid uint16) error {
	m, err := c.roundTrip(ctx, &request{cmd: ComLogoffAndX, flags2: c.flags2(), uid: uid, words: andX})
	if err != nil {
		return fmt.Errorf("smb1: logoff: %w", err)
	}
	if m.Status != ntstatus.Success {
		return statusError("logoff", m.Status)
	}
	return nil
}
