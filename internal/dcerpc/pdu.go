// Package dcerpc is a connection-oriented DCE/RPC 5.0 client (C706 chapter
// 12, [MS-RPCE] 2.2.2): bind and alter context, requests and responses with
// fragmentation both ways, and faults. It runs over any Transport: an SMB
// named pipe (smb.Pipe) or TCP (ncacn_ip_tcp). Only the NDR 2.0 transfer
// syntax and little-endian, ASCII, IEEE data representation are spoken; no
// authentication (null sessions have no key to sign or seal with).
package dcerpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PDU types (C706 12.6.4).
const (
	PTypeRequest          = 0
	PTypeResponse         = 2
	PTypeFault            = 3
	PTypeBind             = 11
	PTypeBindAck          = 12
	PTypeBindNak          = 13
	PTypeAlterContext     = 14
	PTypeAlterContextResp = 15
	PTypeShutdown         = 17
)

// pfc_flags (C706 12.6.3.1).
const (
	FlagFirstFrag     = 0x01
	FlagLastFrag      = 0x02
	FlagPendingCancel = 0x04
	FlagConcMpx       = 0x10
	FlagDidNotExecute = 0x20
	FlagObjectUUID    = 0x80
)

const (
	headerLen   = 16
	requestLen  = headerLen + 8 // alloc_hint, p_cont_id, opnum
	responseLen = headerLen + 8 // alloc_hint, p_cont_id, cancel_count, reserved
	faultLen    = responseLen + 8
)

// drepLE is packed_drep for little-endian integers, ASCII, IEEE floats.
var drepLE = [4]byte{0x10, 0, 0, 0}

// Errors about the PDU stream itself.
var (
	ErrShortPDU    = errors.New("dcerpc: truncated PDU")
	ErrBadPDU      = errors.New("dcerpc: malformed PDU")
	ErrDataRep     = errors.New("dcerpc: unsupported data representation (only little-endian ASCII IEEE)")
	ErrCallID      = errors.New("dcerpc: response for another call id")
	ErrTooLarge    = errors.New("dcerpc: reassembled response exceeds limit")
	ErrUnexpected  = errors.New("dcerpc: unexpected PDU type")
	ErrBindRefused = errors.New("dcerpc: bind refused")
)

// UUID is a DCE UUID in wire order: the first three fields little-endian.
type UUID [16]byte

// ParseUUID parses "12345778-1234-abcd-ef00-0123456789ab".
func ParseUUID(s string) (UUID, error) {
	var u UUID
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return u, fmt.Errorf("dcerpc: parse UUID %q: bad form", s)
	}
	a, err1 := strconv.ParseUint(parts[0], 16, 32)
	b, err2 := strconv.ParseUint(parts[1], 16, 16)
	c, err3 := strconv.ParseUint(parts[2], 16, 16)
	d, err4 := strconv.ParseUint(parts[3]+parts[4], 16, 64)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return u, fmt.Errorf("dcerpc: parse UUID %q: %w", s, err)
	}
	binary.LittleEndian.PutUint32(u[0:], uint32(a))
	binary.LittleEndian.PutUint16(u[4:], uint16(b))
	binary.LittleEndian.PutUint16(u[6:], uint16(c))
	binary.BigEndian.PutUint64(u[8:], d)
	return u, nil
}

// MustParseUUID is ParseUUID for constants.
func MustParseUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

// String formats the UUID in the usual textual form.
func (u UUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		binary.LittleEndian.Uint32(u[0:]), binary.LittleEndian.Uint16(u[4:]),
		binary.LittleEndian.Uint16(u[6:]), binary.BigEndian.Uint16(u[8:]), u[10:])
}

// SyntaxID names an interface (or transfer syntax) and its version.
type SyntaxID struct {
	UUID  UUID
	Major uint16
	Minor uint16
}

func (s SyntaxID) String() string {
	return fmt.Sprintf("%s v%d.%d", s.UUID, s.Major, s.Minor)
}

func appendSyntax(b []byte, s SyntaxID) []byte {
	b = append(b, s.UUID[:]...)
	b = binary.LittleEndian.AppendUint16(b, s.Major)
	return binary.LittleEndian.AppendUint16(b, s.Minor)
}

func readSyntax(b []byte) SyntaxID {
	var s SyntaxID
	copy(s.UUID[:], b[:16])
	s.Major = binary.LittleEndian.Uint16(b[16:])
	s.Minor = binary.LittleEndian.Uint16(b[18:])
	return s
}

// Header is the common 16-byte header of every connection-oriented PDU.
type Header struct {
	Version      uint8
	VersionMinor uint8
	Type         uint8
	Flags        uint8
	DataRep      [4]byte
	FragLength   uint16
	AuthLength   uint16
	CallID       uint32
}

func appendHeader(b []byte, h Header) []byte {
	b = append(b, 5, 0, h.Type, h.Flags)
	b = append(b, drepLE[:]...)
	b = binary.LittleEndian.AppendUint16(b, h.FragLength)
	b = binary.LittleEndian.AppendUint16(b, h.AuthLength)
	return binary.LittleEndian.AppendUint32(b, h.CallID)
}

// ParseHeader decodes and checks the common header. It rejects other
// protocol versions and data representations.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < headerLen {
		return Header{}, ErrShortPDU
	}
	h := Header{
		Version:      b[0],
		VersionMinor: b[1],
		Type:         b[2],
		Flags:        b[3],
		FragLength:   binary.LittleEndian.Uint16(b[8:]),
		AuthLength:   binary.LittleEndian.Uint16(b[10:]),
		CallID:       binary.LittleEndian.Uint32(b[12:]),
	}
	copy(h.DataRep[:], b[4:8])
	if h.Version != 5 || h.VersionMinor > 1 {
		return h, fmt.Errorf("%w: version %d.%d", ErrBadPDU, h.Version, h.VersionMinor)
	}
	// Integer little-endian (high nibble 1), ASCII (low nibble 0), IEEE floats.
	if h.DataRep[0] != 0x10 || h.DataRep[1] != 0 {
		return h, fmt.Errorf("%w: drep % x", ErrDataRep, h.DataRep[:2])
	}
	if int(h.FragLength) < headerLen {
		return h, fmt.Errorf("%w: frag_length %d", ErrBadPDU, h.FragLength)
	}
	return h, nil
}

// ContextElem is one presentation context offered in BIND / ALTER_CONTEXT.
type ContextElem struct {
	ID       uint16
	Abstract SyntaxID
	Transfer []SyntaxID
}

// BindPDU is BIND or ALTER_CONTEXT (C706 12.6.4.3, 12.6.4.1).
type BindPDU struct {
	Type        uint8 // PTypeBind or PTypeAlterContext
	CallID      uint32
	MaxXmitFrag uint16
	MaxRecvFrag uint16
	AssocGroup  uint32
	Contexts    []ContextElem
}

// Marshal encodes the PDU.
func (p BindPDU) Marshal() []byte {
	b := appendHeader(nil, Header{Type: p.Type, Flags: FlagFirstFrag | FlagLastFrag, CallID: p.CallID})
	b = binary.LittleEndian.AppendUint16(b, p.MaxXmitFrag)
	b = binary.LittleEndian.AppendUint16(b, p.MaxRecvFrag)
	b = binary.LittleEndian.AppendUint32(b, p.AssocGroup)
	b = append(b, uint8(len(p.Contexts)), 0, 0, 0)
	for _, c := range p.Contexts {
		b = binary.LittleEndian.AppendUint16(b, c.ID)
		b = append(b, uint8(len(c.Transfer)), 0)
		b = appendSyntax(b, c.Abstract)
		for _, t := range c.Transfer {
			b = appendSyntax(b, t)
		}
	}
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// Bind/alter context results (C706 12.6.3.1 p_cont_def_result_t).
const (
	ResultAcceptance         = 0
	ResultUserRejection      = 1
	ResultProviderRejection  = 2
	ResultNegotiateAck       = 3 // bind time feature negotiation ([MS-RPCE] 3.3.1.5.3)
	ReasonNotSpecified       = 0
	ReasonAbstractNotSupp    = 1
	ReasonTransferNotSupp    = 2
	ReasonLocalLimitExceeded = 3
)

// ContextResult is one entry of a BIND_ACK's result list.
type ContextResult struct {
	Result   uint16
	Reason   uint16
	Transfer SyntaxID
}

// BindAckPDU is BIND_ACK or ALTER_CONTEXT_RESP (C706 12.6.4.4, 12.6.4.2).
type BindAckPDU struct {
	Header      Header
	MaxXmitFrag uint16
	MaxRecvFrag uint16
	AssocGroup  uint32
	SecAddr     string // the server's port (e.g. "\PIPE\lsass"); ALTER_CONTEXT_RESP has an empty one
	Results     []ContextResult
}

// ParseBindAck decodes a BIND_ACK or ALTER_CONTEXT_RESP fragment.
func ParseBindAck(pdu []byte) (*BindAckPDU, error) {
	h, err := ParseHeader(pdu)
	if err != nil {
		return nil, err
	}
	if h.Type != PTypeBindAck && h.Type != PTypeAlterContextResp {
		return nil, fmt.Errorf("%w: %d, want bind_ack", ErrUnexpected, h.Type)
	}
	if int(h.FragLength) > len(pdu) {
		return nil, ErrShortPDU
	}
	b := pdu[:h.FragLength]
	if len(b) < headerLen+10 {
		return nil, ErrShortPDU
	}
	p := &BindAckPDU{
		Header:      h,
		MaxXmitFrag: binary.LittleEndian.Uint16(b[16:]),
		MaxRecvFrag: binary.LittleEndian.Uint16(b[18:]),
		AssocGroup:  binary.LittleEndian.Uint32(b[20:]),
	}
	off := 24
	n := int(binary.LittleEndian.Uint16(b[off:]))
	off += 2
	if n > len(b)-off {
		return nil, fmt.Errorf("%w: sec_addr length %d", ErrBadPDU, n)
	}
	p.SecAddr = strings.TrimRight(string(b[off:off+n]), "\x00")
	off += n
	off = (off + 3) &^ 3 // align 4 from the PDU start
	if off+4 > len(b) {
		return nil, ErrShortPDU
	}
	cnt := int(b[off])
	off += 4
	if cnt > (len(b)-off)/24 {
		return nil, fmt.Errorf("%w: %d results in %d bytes", ErrBadPDU, cnt, len(b)-off)
	}
	p.Results = make([]ContextResult, cnt)
	for i := range p.Results {
		p.Results[i] = ContextResult{
			Result:   binary.LittleEndian.Uint16(b[off:]),
			Reason:   binary.LittleEndian.Uint16(b[off+2:]),
			Transfer: readSyntax(b[off+4:]),
		}
		off += 24
	}
	return p, nil
}

// Bind NAK reasons (C706 12.6.3.1 p_reject_reason_t).
var nakReasons = []string{
	"reason_not_specified", "temporary_congestion", "local_limit_exceeded",
	"called_paddr_unknown", "protocol_version_not_supported", "default_context_not_supported",
	"user_data_not_readable", "no_psap_available", "authentication_type_not_recognized",
	"invalid_checksum",
}

// BindNakError is a BIND_NAK.
type BindNakError struct{ Reason uint16 }

func (e *BindNakError) Error() string {
	name := "reason " + strconv.Itoa(int(e.Reason))
	if int(e.Reason) < len(nakReasons) {
		name = nakReasons[e.Reason]
	}
	return "dcerpc: bind_nak: " + name
}

func (e *BindNakError) Unwrap() error { return ErrBindRefused }

// ContextRejectedError is a BIND_ACK whose presentation context was refused.
type ContextRejectedError struct {
	Abstract SyntaxID
	Result   uint16
	Reason   uint16
}

func (e *ContextRejectedError) Error() string {
	res := map[uint16]string{ResultUserRejection: "user_rejection", ResultProviderRejection: "provider_rejection"}[e.Result]
	if res == "" {
		res = "result " + strconv.Itoa(int(e.Result))
	}
	reason := map[uint16]string{
		ReasonNotSpecified: "reason_not_specified", ReasonAbstractNotSupp: "abstract_syntax_not_supported",
		ReasonTransferNotSupp: "proposed_transfer_syntaxes_not_supported", ReasonLocalLimitExceeded: "local_limit_exceeded",
	}[e.Reason]
	if reason == "" {
		reason = "reason " + strconv.Itoa(int(e.Reason))
	}
	return fmt.Sprintf("dcerpc: bind %s: %s (%s)", e.Abstract, res, reason)
}

func (e *ContextRejectedError) Unwrap() error { return ErrBindRefused }

// RequestPDU encodes one REQUEST fragment.
func RequestPDU(callID uint32, flags uint8, ctxID, opnum uint16, allocHint uint32, stub []byte) []byte {
	b := make([]byte, 0, requestLen+len(stub))
	b = appendHeader(b, Header{Type: PTypeRequest, Flags: flags, CallID: callID})
	b = binary.LittleEndian.AppendUint32(b, allocHint)
	b = binary.LittleEndian.AppendUint16(b, ctxID)
	b = binary.LittleEndian.AppendUint16(b, opnum)
	b = append(b, stub...)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// Fragment is a decoded RESPONSE or FAULT fragment.
type Fragment struct {
	Header    Header
	AllocHint uint32
	ContextID uint16
	Status    uint32 // FAULT only
	Stub      []byte // aliases the input
}

// ParseFragment decodes a RESPONSE or FAULT fragment (C706 12.6.4.10,
// 12.6.4.7). The input must hold at least FragLength bytes.
func ParseFragment(pdu []byte) (*Fragment, error) {
	h, err := ParseHeader(pdu)
	if err != nil {
		return nil, err
	}
	if int(h.FragLength) > len(pdu) {
		return nil, ErrShortPDU
	}
	b := pdu[:h.FragLength]
	f := &Fragment{Header: h}
	switch h.Type {
	case PTypeResponse, PTypeFault:
	default:
		return nil, fmt.Errorf("%w: %d, want response", ErrUnexpected, h.Type)
	}
	if len(b) < responseLen {
		return nil, ErrShortPDU
	}
	f.AllocHint = binary.LittleEndian.Uint32(b[16:])
	f.ContextID = binary.LittleEndian.Uint16(b[20:])
	body := responseLen
	if h.Type == PTypeFault {
		if len(b) < faultLen {
			return nil, ErrShortPDU
		}
		f.Status = binary.LittleEndian.Uint32(b[24:])
		body = faultLen
	}
	end := len(b)
	if h.AuthLength != 0 {
		// An 8-byte sec_trailer and the verifier end the fragment; we never
		// bind with authentication, so this is only stripped, not checked.
		end -= 8 + int(h.AuthLength)
		if end < body {
			return nil, fmt.Errorf("%w: auth_length %d", ErrBadPDU, h.AuthLength)
		}
		end -= int(b[end+2]) // auth_pad_length
		if end < body {
			return nil, fmt.Errorf("%w: auth_pad_length", ErrBadPDU)
		}
	}
	f.Stub = b[body:end]
	return f, nil
}
