package hostile

// Surgery on real SMB2 and DCE/RPC messages, by offset ([MS-SMB2] 2.2,
// C706 12.6). The harness keeps its own few offsets rather than use the
// client's decoders: those are what is under test.

const smb2HeaderSize = 64

// SMB2 commands and values the rules use.
const (
	CmdNegotiate     uint16 = 0x0000
	CmdSessionSetup  uint16 = 0x0001
	CmdTreeConnect   uint16 = 0x0003
	CmdCreate        uint16 = 0x0005
	CmdClose         uint16 = 0x0006
	CmdRead          uint16 = 0x0008
	CmdWrite         uint16 = 0x0009
	CmdIoctl         uint16 = 0x000B
	CmdCancel        uint16 = 0x000C
	CmdEcho          uint16 = 0x000D
	CmdQueryDir      uint16 = 0x000E
	FlagServerToRdr  uint32 = 0x1
	FlagAsync        uint32 = 0x2
	StatusPending    uint32 = 0x00000103
	StatusOverflow   uint32 = 0x80000005
	ioctlFixed              = 48 // IOCTL response body before its buffer
	readFixed               = 16 // READ response body before its data
	SMB1ComTransact  byte   = 0x25
	SMB1ComNegotiate byte   = 0x72
)

// KeepAlive is an NBSS SESSION KEEP ALIVE packet.
var KeepAlive = []byte{0x85, 0, 0, 0}

// Command returns an SMB2 message's command, or 0xFFFF for anything else.
func Command(msg []byte) uint16 {
	if !isSMB2(msg) || len(msg) < smb2HeaderSize {
		return 0xFFFF
	}
	return le.Uint16(msg[12:])
}

// Status returns an SMB2 message's status.
func Status(msg []byte) uint32 {
	if len(msg) < 12 {
		return 0
	}
	return le.Uint32(msg[8:])
}

// SetCredits sets the credits an SMB2 reply grants.
func SetCredits(msg []byte, n uint16) {
	if len(msg) >= smb2HeaderSize {
		le.PutUint16(msg[14:], n)
	}
}

// Interim turns a copy of an SMB2 reply's header into an async interim
// response: STATUS_PENDING, an AsyncId, the 9-byte error body.
func Interim(msg []byte) []byte {
	h := append([]byte(nil), msg[:smb2HeaderSize]...)
	le.PutUint32(h[8:], StatusPending)
	le.PutUint32(h[16:], le.Uint32(h[16:])|FlagServerToRdr|FlagAsync)
	le.PutUint64(h[32:], 0x4242) // AsyncId replaces Reserved/TreeId
	return append(h, 9, 0, 0, 0, 0, 0, 0, 0, 0)
}

// IoctlOutput returns the output buffer of an IOCTL reply.
func IoctlOutput(msg []byte) ([]byte, bool) {
	if Command(msg) != CmdIoctl || len(msg) < smb2HeaderSize+ioctlFixed {
		return nil, false
	}
	b := msg[smb2HeaderSize:]
	off, n := int(le.Uint32(b[32:])), int(le.Uint32(b[36:]))
	if off < smb2HeaderSize || off+n > len(msg) {
		return nil, false
	}
	return msg[off : off+n], true
}

// WithIoctlOutput rebuilds an IOCTL reply around out (no input buffer).
func WithIoctlOutput(msg, out []byte) []byte {
	m := append([]byte(nil), msg[:smb2HeaderSize+ioctlFixed]...)
	b := m[smb2HeaderSize:]
	le.PutUint32(b[24:], 0)
	le.PutUint32(b[28:], 0)
	le.PutUint32(b[32:], smb2HeaderSize+ioctlFixed)
	le.PutUint32(b[36:], uint32(len(out)))
	return append(m, out...)
}

// SetIoctlOutputField sets the OutputOffset and OutputCount an IOCTL reply
// claims, leaving the bytes as they are (to lie about them).
func SetIoctlOutputField(msg []byte, off, n uint32) {
	if len(msg) >= smb2HeaderSize+ioctlFixed {
		le.PutUint32(msg[smb2HeaderSize+32:], off)
		le.PutUint32(msg[smb2HeaderSize+36:], n)
	}
}

// ReadReply builds a successful READ reply to req carrying data.
func ReadReply(req *Request, status uint32, data []byte) []byte {
	h := replyHeader(req.Raw, status)
	body := make([]byte, readFixed)
	le.PutUint16(body[0:], 17)
	body[2] = smb2HeaderSize + readFixed
	le.PutUint32(body[4:], uint32(len(data)))
	return append(append(h, body...), data...)
}

// IoctlReply builds an IOCTL reply to req ([MS-SMB2] 2.2.32) carrying out
// as its output, for a request the recording never saw.
func IoctlReply(req *Request, status uint32, out []byte) []byte {
	h := replyHeader(req.Raw, status)
	body := make([]byte, ioctlFixed)
	le.PutUint16(body[0:], 49)
	if b := req.Raw[smb2HeaderSize:]; len(b) >= 24 {
		copy(body[4:24], b[4:24]) // CtlCode, FileId
	}
	le.PutUint32(body[32:], smb2HeaderSize+ioctlFixed)
	le.PutUint32(body[36:], uint32(len(out)))
	return append(append(h, body...), out...)
}

// replyHeader is the header of a reply to an SMB2 request: the request's
// header with the server-to-redirector flag, a status and one credit.
func replyHeader(req []byte, status uint32) []byte {
	h := append([]byte(nil), req[:smb2HeaderSize]...)
	le.PutUint32(h[8:], status)
	le.PutUint16(h[14:], 1)
	le.PutUint32(h[16:], le.Uint32(h[16:])|FlagServerToRdr)
	le.PutUint32(h[20:], 0)
	return h
}

// DCE/RPC PDU types.
const (
	RPCRequest  = 0
	RPCResponse = 2
	RPCFault    = 3
	RPCBind     = 11
	RPCBindAck  = 12
	RPCFirst    = 0x01
	RPCLast     = 0x02
	rpcHdr      = 16
	rpcRespHdr  = 24
)

// ParseRPC reads a DCE/RPC header; nil when b is not one.
func ParseRPC(b []byte) *RPC {
	if len(b) < rpcHdr || b[0] != 5 || b[1] != 0 {
		return nil
	}
	r := &RPC{Type: b[2], Flags: b[3], CallID: le.Uint32(b[12:])}
	if r.Type == RPCRequest && len(b) >= rpcRespHdr {
		r.Opnum = le.Uint16(b[22:])
	}
	return r
}

// RPCResponsePDU builds a RESPONSE fragment.
func RPCResponsePDU(callID uint32, flags uint8, allocHint uint32, stub []byte) []byte {
	b := make([]byte, rpcRespHdr, rpcRespHdr+len(stub))
	b[0], b[1], b[2], b[3] = 5, 0, RPCResponse, flags
	b[4] = 0x10 // little-endian, ASCII, IEEE
	le.PutUint16(b[8:], uint16(rpcRespHdr+len(stub)))
	le.PutUint32(b[12:], callID)
	le.PutUint32(b[16:], allocHint)
	return append(b, stub...)
}

// RPCStub returns the stub of a RESPONSE PDU.
func RPCStub(pdu []byte) ([]byte, bool) {
	if len(pdu) < rpcRespHdr || pdu[2] != RPCResponse {
		return nil, false
	}
	n := int(le.Uint16(pdu[8:]))
	if n < rpcRespHdr || n > len(pdu) {
		return nil, false
	}
	return pdu[rpcRespHdr:n], true
}

// SetRPCCallID changes a PDU's call id.
func SetRPCCallID(pdu []byte, id uint32) {
	if len(pdu) >= rpcHdr {
		le.PutUint32(pdu[12:], id)
	}
}

// ReadLength returns the Length an SMB2 READ request asks for (0 if msg
// is not one).
func ReadLength(msg []byte) int {
	if Command(msg) != CmdRead || len(msg) < smb2HeaderSize+8 {
		return 0
	}
	return int(le.Uint32(msg[smb2HeaderSize+4:]))
}
