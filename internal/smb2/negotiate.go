package smb2

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Dialect revisions.
const (
	Dialect202 uint16 = 0x0202
	Dialect21  uint16 = 0x0210
	Dialect30  uint16 = 0x0300
	Dialect302 uint16 = 0x0302
	Dialect311 uint16 = 0x0311
)

// AllDialects are offered when the caller names none.
var AllDialects = []uint16{Dialect202, Dialect21, Dialect30, Dialect302, Dialect311}

// SecurityMode bits.
const (
	SigningEnabled  uint16 = 0x0001
	SigningRequired uint16 = 0x0002
)

// Global capabilities.
const (
	CapDFS               uint32 = 0x00000001
	CapLeasing           uint32 = 0x00000002
	CapLargeMTU          uint32 = 0x00000004
	CapMultiChannel      uint32 = 0x00000008
	CapPersistentHandles uint32 = 0x00000010
	CapDirectoryLeasing  uint32 = 0x00000020
	CapEncryption        uint32 = 0x00000040
)

// Negotiate context types ([MS-SMB2] 2.2.3.1).
const (
	CtxPreauthIntegrity uint16 = 0x0001
	CtxEncryption       uint16 = 0x0002
	CtxCompression      uint16 = 0x0003
	CtxNetname          uint16 = 0x0005
	CtxTransport        uint16 = 0x0006
	CtxRDMATransform    uint16 = 0x0007
	CtxSigning          uint16 = 0x0008
)

// Algorithm identifiers offered in the 3.1.1 contexts.
const (
	HashSHA512    uint16 = 0x0001
	CipherAES128C uint16 = 0x0001 // AES-128-CCM
	CipherAES128G uint16 = 0x0002 // AES-128-GCM
	CipherAES256C uint16 = 0x0003
	CipherAES256G uint16 = 0x0004
	SignHMACSHA   uint16 = 0x0000
	SignAESCMAC   uint16 = 0x0001
	SignAESGMAC   uint16 = 0x0002
)

// NegotiateRequest is [MS-SMB2] 2.2.3. With 3.1.1 among the dialects it
// carries preauth-integrity, encryption and signing contexts: servers
// reject a 3.1.1 negotiate without a preauth context.
type NegotiateRequest struct {
	Dialects     []uint16
	SecurityMode uint16
	Capabilities uint32
	ClientGUID   [16]byte
	Salt         [32]byte
}

// Encode returns the request body (without header).
func (r *NegotiateRequest) Encode() []byte {
	le := binary.LittleEndian
	has311 := false
	for _, d := range r.Dialects {
		if d == Dialect311 {
			has311 = true
		}
	}
	b := make([]byte, 0, 256)
	b = le.AppendUint16(b, 36)
	b = le.AppendUint16(b, uint16(len(r.Dialects)))
	b = le.AppendUint16(b, r.SecurityMode)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, r.Capabilities)
	b = append(b, r.ClientGUID[:]...)
	ctxOffPos := len(b)
	b = le.AppendUint64(b, 0) // NegotiateContextOffset/Count/Reserved2 or ClientStartTime
	for _, d := range r.Dialects {
		b = le.AppendUint16(b, d)
	}
	if !has311 {
		return b
	}
	var ctxs [][]byte
	pre := le.AppendUint16(nil, 1)
	pre = le.AppendUint16(pre, uint16(len(r.Salt)))
	pre = le.AppendUint16(pre, HashSHA512)
	pre = append(pre, r.Salt[:]...)
	ctxs = append(ctxs, negCtx(CtxPreauthIntegrity, pre))
	enc := le.AppendUint16(nil, 4)
	for _, c := range []uint16{CipherAES128G, CipherAES128C, CipherAES256G, CipherAES256C} {
		enc = le.AppendUint16(enc, c)
	}
	ctxs = append(ctxs, negCtx(CtxEncryption, enc))
	sig := le.AppendUint16(nil, 3)
	for _, s := range []uint16{SignAESGMAC, SignAESCMAC, SignHMACSHA} {
		sig = le.AppendUint16(sig, s)
	}
	ctxs = append(ctxs, negCtx(CtxSigning, sig))

	b = pad8(b)
	le.PutUint32(b[ctxOffPos:], uint32(HeaderSize+len(b)))
	le.PutUint16(b[ctxOffPos+4:], uint16(len(ctxs)))
	for i, c := range ctxs {
		if i > 0 {
			b = pad8(b)
		}
		b = append(b, c...)
	}
	return b
}

// pad8 aligns a body so that header+body is a multiple of 8.
func pad8(b []byte) []byte {
	for (HeaderSize+len(b))%8 != 0 {
		b = append(b, 0)
	}
	return b
}

func negCtx(typ uint16, data []byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, typ)
	b = le.AppendUint16(b, uint16(len(data)))
	b = le.AppendUint32(b, 0)
	return append(b, data...)
}

// NegotiateContext is one raw context from the response.
type NegotiateContext struct {
	Type uint16
	Data []byte
}

// NegotiateResponse is [MS-SMB2] 2.2.4.
type NegotiateResponse struct {
	SecurityMode    uint16
	Dialect         uint16
	ServerGUID      [16]byte
	Capabilities    uint32
	MaxTransactSize uint32
	MaxReadSize     uint32
	MaxWriteSize    uint32
	SystemTime      time.Time
	ServerStartTime time.Time
	SecurityBuffer  []byte
	Contexts        []NegotiateContext

	// From the 3.1.1 contexts, zero when absent.
	PreauthHash uint16
	Cipher      uint16
	SigningAlg  uint16
	HasSigning  bool
}

// ParseNegotiateResponse decodes a NEGOTIATE response message.
func ParseNegotiateResponse(msg []byte) (*NegotiateResponse, error) {
	b, err := body(msg, 65)
	if err != nil {
		return nil, fmt.Errorf("smb2: negotiate response: %w", err)
	}
	le := binary.LittleEndian
	r := &NegotiateResponse{
		SecurityMode:    le.Uint16(b[2:]),
		Dialect:         le.Uint16(b[4:]),
		Capabilities:    le.Uint32(b[24:]),
		MaxTransactSize: le.Uint32(b[28:]),
		MaxReadSize:     le.Uint32(b[32:]),
		MaxWriteSize:    le.Uint32(b[36:]),
		SystemTime:      fileTime(le.Uint64(b[40:])),
		ServerStartTime: fileTime(le.Uint64(b[48:])),
	}
	copy(r.ServerGUID[:], b[8:24])
	sec, err := slice(msg, uint32(le.Uint16(b[56:])), uint32(le.Uint16(b[58:])))
	if err != nil {
		return nil, fmt.Errorf("smb2: negotiate security buffer: %w", err)
	}
	r.SecurityBuffer = sec
	if r.Dialect != Dialect311 {
		return r, nil
	}
	count := int(le.Uint16(b[6:]))
	off32 := le.Uint32(b[60:])
	if count == 0 {
		return r, nil
	}
	// Compared as uint64 first: int(off32) is negative on 32-bit builds.
	if uint64(off32) < HeaderSize || uint64(off32) > uint64(len(msg)) || count > (len(msg)-int(off32))/8 {
		return nil, fmt.Errorf("smb2: negotiate contexts: %w: %d at %d", ErrBounds, count, off32)
	}
	off := int(off32)
	for i := 0; i < count; i++ {
		if i > 0 {
			off = (off + 7) &^ 7
		}
		if off+8 > len(msg) {
			return nil, fmt.Errorf("smb2: negotiate context %d: %w", i, ErrShort)
		}
		typ := le.Uint16(msg[off:])
		n := int(le.Uint16(msg[off+2:]))
		if n > len(msg)-off-8 {
			return nil, fmt.Errorf("smb2: negotiate context %d: %w", i, ErrBounds)
		}
		data := msg[off+8 : off+8+n]
		r.Contexts = append(r.Contexts, NegotiateContext{Type: typ, Data: data})
		// Each of these holds a count and then the one chosen value.
		if len(data) >= 4 && le.Uint16(data) >= 1 {
			v := le.Uint16(data[2:])
			switch typ {
			case CtxPreauthIntegrity:
				if len(data) >= 6 {
					r.PreauthHash = le.Uint16(data[4:])
				}
			case CtxEncryption:
				r.Cipher = v
			case CtxSigning:
				r.SigningAlg, r.HasSigning = v, true
			}
		}
		off += 8 + n
	}
	return r, nil
}

func fileTime(ft uint64) time.Time {
	const epochDiff = 116444736000000000
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}
