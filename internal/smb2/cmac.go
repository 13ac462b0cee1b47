package smb2

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// cmac is AES-CMAC ([RFC 4493]) over a 128-bit key: the signature of SMB
// 3.0 and later ([MS-SMB2] 3.1.4.1).
type cmac struct {
	b      cipher.Block
	k1, k2 [16]byte
}

func newCMAC(key []byte) (*cmac, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("smb2: cmac: %w", err)
	}
	m := &cmac{b: b}
	// RFC 4493 2.3: L = AES(K, 0); K1 = L<<1 (xor Rb), K2 = K1<<1 (xor Rb).
	var l [16]byte
	b.Encrypt(l[:], l[:])
	m.k1 = dbl(l)
	m.k2 = dbl(m.k1)
	return m, nil
}

// dbl is the doubling in GF(2^128) of RFC 4493 2.3 (Rb = 0x87).
func dbl(in [16]byte) [16]byte {
	var out [16]byte
	carry := in[0] >> 7
	for i := 0; i < 15; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[15] = in[15] << 1
	if carry != 0 {
		out[15] ^= 0x87
	}
	return out
}

// sum returns AES-CMAC(key, msg) (RFC 4493 2.4).
func (m *cmac) sum(msg []byte) [16]byte {
	var x [16]byte
	n := len(msg)
	for n > 16 {
		for i := range 16 {
			x[i] ^= msg[i]
		}
		m.b.Encrypt(x[:], x[:])
		msg, n = msg[16:], n-16
	}
	// The last block: complete (xor K1) or padded with 10* (xor K2).
	var last [16]byte
	k := &m.k1
	if n < 16 {
		copy(last[:], msg)
		last[n] = 0x80
		k = &m.k2
	} else {
		copy(last[:], msg)
	}
	for i := range 16 {
		x[i] ^= last[i] ^ k[i]
	}
	m.b.Encrypt(x[:], x[:])
	return x
}
