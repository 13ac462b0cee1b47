package smb1

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrSignature: a reply of a signed connection whose signature is absent
// or wrong.
var ErrSignature = errors.New("smb1: bad or missing signature")

// sigOff is the SecuritySignature field of the header ([MS-CIFS] 2.2.3.1).
const sigOff = 14

// signer is SMB1 message signing ([MS-CIFS] 3.1.4.1, [MS-SMB] 3.1.4.1):
// the first 8 bytes of MD5(key || message), the message carrying the
// sequence number in its signature field. With extended security (NTLMSSP)
// the key is the session key alone. A request takes sequence number n, its
// reply n+1.
type signer struct {
	key []byte
	seq uint32
}

// mac returns the signature of msg with seq in its signature field; msg is
// left as it was.
func (s *signer) mac(msg []byte, seq uint32) [8]byte {
	var saved [8]byte
	copy(saved[:], msg[sigOff:sigOff+8])
	defer copy(msg[sigOff:sigOff+8], saved[:])
	binary.LittleEndian.PutUint32(msg[sigOff:], seq)
	binary.LittleEndian.PutUint32(msg[sigOff+4:], 0)
	h := md5.New()
	h.Write(s.key)
	h.Write(msg)
	var out [8]byte
	copy(out[:], h.Sum(nil))
	return out
}

// sign sets SMB_FLAGS2_SMB_SECURITY_SIGNATURE and the signature of a
// request with sequence number seq.
func (s *signer) sign(msg []byte, seq uint32) {
	binary.LittleEndian.PutUint16(msg[10:], binary.LittleEndian.Uint16(msg[10:])|Flags2SecuritySig)
	sig := s.mac(msg, seq)
	copy(msg[sigOff:], sig[:])
}

// verify checks a reply's signature for sequence number seq.
func (s *signer) verify(msg []byte, seq uint32) error {
	if len(msg) < headerLen {
		return ErrShort
	}
	want := s.mac(msg, seq)
	if subtle.ConstantTimeCompare(want[:], msg[sigOff:sigOff+8]) != 1 {
		return fmt.Errorf("%w: command 0x%02x, sequence %d", ErrSignature, msg[4], seq)
	}
	return nil
}

// StartSigning signs every later request with the session key and
// verifies every reply. The final SESSION_SETUP exchange took sequence
// numbers 0 and 1 ([MS-CIFS] 3.2.4.1.1 / 3.3.5.3: signing starts with the
// request that completes authentication), so the next request is 2.
func (c *Client) StartSigning(sessionKey []byte, lastReply []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &signer{key: append([]byte(nil), sessionKey...), seq: 2}
	if lastReply != nil {
		if err := s.verify(lastReply, 1); err != nil {
			return fmt.Errorf("smb1: session setup reply: %w", err)
		}
	}
	c.sign = s
	return nil
}

// Signing reports whether the connection signs (StartSigning was called).
func (c *Client) Signing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sign != nil
}
