package smb2

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrSignature: a response of a signed session whose signature is absent
// or wrong. The connection is failed: nothing it carries can be trusted.
var ErrSignature = errors.New("smb2: bad or missing signature")

// Preauth is the SMB 3.1.1 preauthentication integrity hash ([MS-SMB2]
// 3.2.5.2, 3.2.5.3.1): SHA-512 chained over the NEGOTIATE request and
// response, then over each SESSION_SETUP request and each response but
// the final one.
type Preauth [64]byte

// Add chains msg (a whole SMB2 message, header first) into the hash.
func (p *Preauth) Add(msg []byte) {
	h := sha512.New()
	h.Write(p[:])
	h.Write(msg)
	h.Sum(p[:0])
}

// kdf is the SP800-108 key derivation in counter mode with HMAC-SHA256,
// r = 32 and L = 128, that [MS-SMB2] 3.1.4.2 names: one block,
// HMAC(Ki, [i=1]_4 || Label || 0x00 || Context || [L=128]_4), truncated
// to 16 bytes. Label and context are passed as MS-SMB2 writes them
// (labels with their terminating NUL).
func kdf(ki, label, context []byte) []byte {
	m := hmac.New(sha256.New, ki)
	m.Write([]byte{0, 0, 0, 1})
	m.Write(label)
	m.Write([]byte{0})
	m.Write(context)
	m.Write([]byte{0, 0, 0, 128})
	return m.Sum(nil)[:16]
}

// signer signs and verifies one session's messages ([MS-SMB2] 3.1.4.1).
type signer struct {
	alg  uint16 // SignHMACSHA, SignAESCMAC or SignAESGMAC
	key  []byte
	cmac *cmac
	gcm  cipher.AEAD
}

// signingKey derives Session.SigningKey ([MS-SMB2] 3.2.5.3.1) and picks
// the algorithm: HMAC-SHA256 with the session key itself for 2.0.2 and
// 2.1; AES-CMAC with KDF(key, "SMB2AESCMAC", "SmbSign") for 3.0 and
// 3.0.2; for 3.1.1 KDF(key, "SMBSigningKey", preauth hash) with the
// negotiated algorithm (AES-CMAC when the server sent no signing context).
func newSigner(dialect, alg uint16, hasAlg bool, sessionKey []byte, preauth *Preauth) (*signer, error) {
	// 3.2.5.3.1: the first 16 bytes of the key, zero-padded when shorter.
	key := make([]byte, 16)
	copy(key, sessionKey)
	s := &signer{}
	switch {
	case dialect == Dialect202 || dialect == Dialect21:
		s.alg, s.key = SignHMACSHA, key
		return s, nil
	case dialect == Dialect30 || dialect == Dialect302:
		s.alg, s.key = SignAESCMAC, kdf(key, []byte("SMB2AESCMAC\x00"), []byte("SmbSign\x00"))
	case dialect == Dialect311:
		if preauth == nil {
			return nil, errors.New("smb2: signing 3.1.1 needs the preauthentication hash")
		}
		s.alg, s.key = SignAESCMAC, kdf(key, []byte("SMBSigningKey\x00"), preauth[:])
		if hasAlg {
			s.alg = alg
		}
	default:
		return nil, fmt.Errorf("smb2: no signing for dialect 0x%04x", dialect)
	}
	switch s.alg {
	case SignAESCMAC:
		m, err := newCMAC(s.key)
		if err != nil {
			return nil, err
		}
		s.cmac = m
	case SignAESGMAC:
		b, err := aes.NewCipher(s.key)
		if err != nil {
			return nil, fmt.Errorf("smb2: gmac: %w", err)
		}
		if s.gcm, err = cipher.NewGCM(b); err != nil {
			return nil, fmt.Errorf("smb2: gmac: %w", err)
		}
	case SignHMACSHA:
		// 3.1.1 may negotiate HMAC-SHA256 too, with the derived key.
	default:
		return nil, fmt.Errorf("smb2: signing algorithm %d not supported", s.alg)
	}
	return s, nil
}

// mac computes the signature of msg (whole message, header first) as if
// its signature field were zero; msg is not changed.
func (s *signer) mac(msg []byte) [16]byte {
	var saved [16]byte
	copy(saved[:], msg[48:64])
	clear(msg[48:64])
	defer copy(msg[48:64], saved[:])
	var out [16]byte
	switch s.alg {
	case SignAESCMAC:
		out = s.cmac.sum(msg)
	case SignAESGMAC:
		// 3.1.4.1: the nonce is MessageId, then a 32-bit word whose bit 0
		// says "response" and bit 1 "CANCEL request"; the whole message is
		// the additional data of an empty plaintext.
		var nonce [12]byte
		copy(nonce[:8], msg[24:32])
		var role uint32
		if binary.LittleEndian.Uint32(msg[16:])&FlagServerToRedir != 0 {
			role |= 1
		}
		if binary.LittleEndian.Uint16(msg[12:]) == CmdCancel {
			role |= 2
		}
		binary.LittleEndian.PutUint32(nonce[8:], role)
		copy(out[:], s.gcm.Seal(nil, nonce[:], nil, msg))
	default:
		m := hmac.New(sha256.New, s.key)
		m.Write(msg)
		copy(out[:], m.Sum(nil))
	}
	return out
}

// sign sets SMB2_FLAGS_SIGNED and the signature of a request.
func (s *signer) sign(msg []byte) {
	if len(msg) < HeaderSize {
		return
	}
	binary.LittleEndian.PutUint32(msg[16:], binary.LittleEndian.Uint32(msg[16:])|FlagSigned)
	sig := s.mac(msg)
	copy(msg[48:64], sig[:])
}

// verify checks a response's signature ([MS-SMB2] 3.2.5.1.3): it must be
// flagged signed and carry the right signature.
func (s *signer) verify(msg []byte) error {
	if len(msg) < HeaderSize {
		return ErrShort
	}
	if binary.LittleEndian.Uint32(msg[16:])&FlagSigned == 0 {
		return fmt.Errorf("%w: message id %d is not signed", ErrSignature, binary.LittleEndian.Uint64(msg[24:]))
	}
	want := s.mac(msg)
	if subtle.ConstantTimeCompare(want[:], msg[48:64]) != 1 {
		return fmt.Errorf("%w: message id %d", ErrSignature, binary.LittleEndian.Uint64(msg[24:]))
	}
	return nil
}
