package pcap

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/epm"
)

// pipeState follows DCE/RPC on one named pipe (or one TCP connection): the
// PDUs each way, the presentation contexts bound, and calls by call id.
type pipeState struct {
	c       *conv
	name    string
	logon   string
	in, out pduBuf // client → server, server → client
	ctx     map[uint16]dcerpc.SyntaxID
	ndr64   map[uint16]bool                 // contexts bound with the NDR64 transfer syntax
	offered map[uint32][]dcerpc.ContextElem // bind call id → contexts offered
	calls   map[uint32]*rpcCall
	closed  bool
}

type pduBuf struct {
	buf  []byte
	held int
	dead bool
}

type rpcCall struct {
	reqFrame int
	ctxID    uint16
	opnum    uint16
	req      []byte
	resp     []byte
	sealed   bool
	tooLarge bool
	held     int // stub bytes taken from the budget
}

// release gives a call's stub bytes back to the budget.
func (p *pipeState) release(call *rpcCall) {
	p.c.d.buf.give(call.held)
	call.held, call.req, call.resp = 0, nil, nil
}

func newPipeState(c *conv, name, logon string) *pipeState {
	return &pipeState{c: c, name: name, logon: logon, ctx: map[uint16]dcerpc.SyntaxID{}, ndr64: map[uint16]bool{},
		offered: map[uint32][]dcerpc.ContextElem{}, calls: map[uint32]*rpcCall{}}
}

func (p *pipeState) close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, b := range []*pduBuf{&p.in, &p.out} {
		p.c.d.buf.give(b.held)
		b.buf, b.held = nil, 0
	}
	for id, call := range p.calls {
		p.release(call)
		p.c.addCall(Call{RequestFrame: call.reqFrame, Pipe: p.name, Interface: p.ifaceName(call.ctxID),
			Opnum: call.opnum, Name: callName(p.iface(call.ctxID), call.opnum), Logon: p.logon, Note: "no response seen"})
		delete(p.calls, id)
	}
}

// write and read take pipe data from SMB: a pipe carries whole PDUs, but a
// PDU may span several writes or reads.
func (p *pipeState) write(frame int, b []byte) { p.feed(frame, true, b) }
func (p *pipeState) read(frame int, b []byte)  { p.feed(frame, false, b) }

func (p *pipeState) feed(frame int, toServer bool, b []byte) {
	pb := &p.out
	if toServer {
		pb = &p.in
	}
	if pb.dead || p.closed {
		return
	}
	for len(b) > 0 {
		if len(pb.buf) == 0 && len(b) >= 16 {
			n := int(binary.LittleEndian.Uint16(b[8:]))
			if b[0] != 5 || n < 16 {
				pb.dead = true
				p.c.d.undecoded(frame, "pipe "+p.name, "data is not DCE/RPC")
				return
			}
			if len(b) >= n { // a whole PDU: no copy
				p.pdu(frame, toServer, b[:n])
				b = b[n:]
				continue
			}
		}
		need := 16
		if len(pb.buf) >= 16 {
			need = int(binary.LittleEndian.Uint16(pb.buf[8:]))
		}
		k := min(len(b), need-len(pb.buf))
		if k <= 0 || !p.c.d.buf.take(k) {
			pb.dead = true
			p.c.d.undecoded(frame, "pipe "+p.name, "buffer budget spent or bad fragment length")
			return
		}
		pb.held += k
		pb.buf = append(pb.buf, b[:k]...)
		b = b[k:]
		if len(pb.buf) == 16 {
			n := int(binary.LittleEndian.Uint16(pb.buf[8:]))
			if pb.buf[0] != 5 || n < 16 {
				pb.dead = true
				p.c.d.undecoded(frame, "pipe "+p.name, "data is not DCE/RPC")
				return
			}
		}
		if len(pb.buf) >= 16 && len(pb.buf) == int(binary.LittleEndian.Uint16(pb.buf[8:])) {
			pdu := pb.buf
			p.c.d.buf.give(pb.held)
			pb.buf, pb.held = nil, 0
			p.pdu(frame, toServer, pdu)
		}
	}
}

// echo records the header fields of PDUs a server echoed back (an IOCTL
// response's input buffer) without taking them as traffic.
func (p *pipeState) echo(frame int, b []byte) {
	for len(b) >= 16 {
		h, err := dcerpc.ParseHeader(b)
		if err != nil || int(h.FragLength) > len(b) {
			return
		}
		f := map[string][]string{
			"dcerpc.pkt_type":   {strconv.Itoa(int(h.Type))},
			"dcerpc.cn_call_id": {u32(h.CallID)},
		}
		if h.Type == dcerpc.PTypeRequest && h.FragLength >= 24 {
			f["dcerpc.cn_ctx_id"] = []string{strconv.Itoa(int(binary.LittleEndian.Uint16(b[20:])))}
			f["dcerpc.opnum"] = []string{strconv.Itoa(int(binary.LittleEndian.Uint16(b[22:])))}
		}
		p.c.d.message(frame, "dcerpc", f)
		b = b[h.FragLength:]
	}
}

// pdu decodes one whole PDU (C706 12.6).
func (p *pipeState) pdu(frame int, toServer bool, b []byte) {
	h, err := dcerpc.ParseHeader(b)
	if err != nil {
		p.c.d.undecoded(frame, "dcerpc", err.Error())
		return
	}
	if int(h.FragLength) > len(b) {
		p.c.d.undecoded(frame, "dcerpc", "fragment shorter than its frag_length")
		return
	}
	b = b[:h.FragLength]
	f := map[string][]string{
		"dcerpc.pkt_type":   {strconv.Itoa(int(h.Type))},
		"dcerpc.cn_call_id": {u32(h.CallID)},
	}
	defer func() { p.c.d.message(frame, "dcerpc", f) }()
	le := binary.LittleEndian
	p.auth(frame, h, b)
	switch h.Type {
	case dcerpc.PTypeBind, dcerpc.PTypeAlterContext:
		ctxs, err := parseBind(b)
		if err != nil {
			p.c.d.undecoded(frame, "dcerpc bind", err.Error())
			return
		}
		if len(p.offered) < maxOutstanding {
			p.offered[h.CallID] = ctxs
		}
		for _, c := range ctxs {
			f["dcerpc.cn_ctx_id"] = append(f["dcerpc.cn_ctx_id"], strconv.Itoa(int(c.ID)))
		}
		if h.AuthLength != 0 && p.name == "tcp" && p.logon == LogonAnonymous {
			p.logon = LogonUnknown // authenticated; the AUTHENTICATE says who
		}
	case dcerpc.PTypeBindAck, dcerpc.PTypeAlterContextResp:
		ack, err := dcerpc.ParseBindAck(b)
		if err != nil {
			p.c.d.undecoded(frame, "dcerpc bind_ack", err.Error())
			return
		}
		offered := p.offered[h.CallID]
		delete(p.offered, h.CallID)
		for i, r := range ack.Results {
			if i < len(offered) && r.Result == dcerpc.ResultAcceptance && len(p.ctx) < maxOutstanding {
				p.ctx[offered[i].ID] = offered[i].Abstract
				p.ndr64[offered[i].ID] = r.Transfer.UUID == ndr64UUID
			}
		}
	case dcerpc.PTypeBindNak:
	case dcerpc.PTypeRequest:
		if len(b) < 24 {
			p.c.d.undecoded(frame, "dcerpc request", "truncated")
			return
		}
		ctxID, opnum := le.Uint16(b[20:]), le.Uint16(b[22:])
		f["dcerpc.cn_ctx_id"] = []string{strconv.Itoa(int(ctxID))}
		f["dcerpc.opnum"] = []string{strconv.Itoa(int(opnum))}
		body := 24
		if h.Flags&dcerpc.FlagObjectUUID != 0 {
			body += 16
		}
		stub, sealed, err := stubOf(b, h, body)
		if err != nil {
			p.c.d.undecoded(frame, "dcerpc request", err.Error())
			return
		}
		call := p.calls[h.CallID]
		if call != nil && h.Flags&dcerpc.FlagFirstFrag != 0 {
			p.release(call) // a new call reusing the id
		}
		if call == nil || h.Flags&dcerpc.FlagFirstFrag != 0 {
			if len(p.calls) >= maxOutstanding {
				p.c.d.undecoded(frame, "dcerpc request", "too many outstanding calls; not followed")
				return
			}
			call = &rpcCall{reqFrame: frame, ctxID: ctxID, opnum: opnum}
			p.calls[h.CallID] = call
		}
		call.reqFrame = frame
		call.sealed = call.sealed || sealed
		p.appendStub(&call.req, call, stub)
		if layer := tsharkLayer[p.iface(ctxID)]; layer != "" && h.Flags&dcerpc.FlagLastFrag != 0 && !call.sealed {
			p.c.d.message(frame, layer, map[string][]string{layer + ".opnum": {strconv.Itoa(int(opnum))}})
		}
	case dcerpc.PTypeResponse, dcerpc.PTypeFault:
		fr, err := dcerpc.ParseFragment(b)
		if err != nil {
			p.c.d.undecoded(frame, "dcerpc response", err.Error())
			return
		}
		f["dcerpc.cn_ctx_id"] = []string{strconv.Itoa(int(fr.ContextID))}
		call := p.calls[h.CallID]
		if call == nil {
			return
		}
		f["dcerpc.opnum"] = []string{strconv.Itoa(int(call.opnum))}
		if h.Type == dcerpc.PTypeFault {
			delete(p.calls, h.CallID)
			p.release(call)
			p.c.addCall(Call{RequestFrame: call.reqFrame, Frame: frame, Pipe: p.name, Interface: p.ifaceName(call.ctxID),
				Opnum: call.opnum, Name: callName(p.iface(call.ctxID), call.opnum), Logon: p.logon,
				Status: "fault " + dcerpc.FaultName(fr.Status), Decoded: true})
			return
		}
		_, sealed, _ := stubOf(b, h, 24)
		call.sealed = call.sealed || sealed
		p.appendStub(&call.resp, call, fr.Stub)
		if h.Flags&dcerpc.FlagLastFrag != 0 {
			delete(p.calls, h.CallID)
			p.finishCall(frame, call)
		}
	}
}

// auth reads the NTLMSSP token of a BIND, ALTER_CONTEXT, AUTH3 or their
// acks ([MS-RPCE] 2.2.2.11: the auth_length bytes ending the PDU). Over
// TCP an AUTHENTICATE is the connection's logon; there is no status for
// it on the wire (AUTH3 has no reply), so it is "unconfirmed".
func (p *pipeState) auth(frame int, h dcerpc.Header, b []byte) {
	switch h.Type {
	case dcerpc.PTypeBind, dcerpc.PTypeAlterContext, dcerpc.PTypeBindAck, dcerpc.PTypeAlterContextResp, ptypeAuth3:
	default:
		return
	}
	if h.AuthLength == 0 || int(h.AuthLength)+8 > len(b)-16 {
		return
	}
	tok := b[len(b)-int(h.AuthLength):]
	l := &pendingLogon{frame: frame}
	ch := p.c.securityBlob(frame, tok, l)
	p.c.challengeInfo(ch)
	if p.name == "tcp" && l.kind != "" {
		p.logon = p.c.logonDone(frame, "rpc", l, "unconfirmed", false)
	}
}

// ptypeAuth3 is the AUTH3 PDU ([MS-RPCE] 2.2.2.10).
const ptypeAuth3 = 16

// appendStub adds a fragment's stub within MaxCallBytes and the shared
// budget (a capture may leave thousands of calls unfinished).
func (p *pipeState) appendStub(dst *[]byte, call *rpcCall, stub []byte) {
	if call.tooLarge {
		return
	}
	if len(*dst)+len(stub) > p.c.d.lim.MaxCallBytes || !p.c.d.buf.take(len(stub)) {
		call.tooLarge = true
		p.release(call)
		return
	}
	call.held += len(stub)
	*dst = append(*dst, stub...)
}

// stubOf cuts the stub out of a request or response fragment: after the
// body header, before the auth trailer ([MS-RPCE] 2.2.2.11). sealed is
// set when the trailer's auth level is packet privacy (6): the stub is
// then encrypted.
func stubOf(b []byte, h dcerpc.Header, body int) ([]byte, bool, error) {
	end := len(b)
	sealed := false
	if h.AuthLength != 0 {
		end -= 8 + int(h.AuthLength)
		if end < body {
			return nil, false, fmt.Errorf("auth_length %d", h.AuthLength)
		}
		sealed = b[end+1] == 6
		end -= int(b[end+2])
	}
	if end < body {
		return nil, false, fmt.Errorf("stub outside the fragment")
	}
	return b[body:end], sealed, nil
}

// parseBind reads the presentation context list of a BIND or
// ALTER_CONTEXT (C706 12.6.4.3).
func parseBind(b []byte) ([]dcerpc.ContextElem, error) {
	if len(b) < 28 {
		return nil, fmt.Errorf("truncated")
	}
	n := int(b[24])
	off := 28
	out := make([]dcerpc.ContextElem, 0, min(n, 16))
	for range n {
		if off+24 > len(b) {
			return nil, fmt.Errorf("context list truncated")
		}
		ce := dcerpc.ContextElem{ID: binary.LittleEndian.Uint16(b[off:])}
		nt := int(b[off+2])
		ce.Abstract = syntax(b[off+4:])
		off += 24
		if off+20*nt > len(b) {
			return nil, fmt.Errorf("transfer syntaxes truncated")
		}
		off += 20 * nt
		out = append(out, ce)
	}
	return out, nil
}

func syntax(b []byte) dcerpc.SyntaxID {
	var s dcerpc.SyntaxID
	copy(s.UUID[:], b[:16])
	s.Major = binary.LittleEndian.Uint16(b[16:])
	s.Minor = binary.LittleEndian.Uint16(b[18:])
	return s
}

func (p *pipeState) iface(ctxID uint16) dcerpc.UUID {
	return p.ctx[ctxID].UUID
}

// ndr64UUID is the NDR64 transfer syntax ([MS-RPCE] 2.2.5.1).
var ndr64UUID = dcerpc.MustParseUUID("71710533-beba-4937-8319-b5dbef9ccc36")

// tsharkLayer names the interfaces whose calls are decoded as tshark
// names their layers (and field prefixes).
var tsharkLayer = map[dcerpc.UUID]string{
	dcerpc.LSARPC.UUID: "lsarpc",
	dcerpc.SAMR.UUID:   "samr",
	dcerpc.SRVSVC.UUID: "srvsvc",
	dcerpc.WKSSVC.UUID: "wkssvc",
	dcerpc.EPM.UUID:    "epm",
}

// interfaces names the interfaces nullsweep speaks.
var interfaces = map[dcerpc.UUID]string{
	dcerpc.LSARPC.UUID:   "lsarpc",
	dcerpc.SAMR.UUID:     "samr",
	dcerpc.SRVSVC.UUID:   "srvsvc",
	dcerpc.WKSSVC.UUID:   "wkssvc",
	dcerpc.NETLOGON.UUID: "netlogon",
	dcerpc.EPM.UUID:      "epm",
}

func (p *pipeState) ifaceName(ctxID uint16) string {
	s, ok := p.ctx[ctxID]
	if !ok {
		return "unbound context " + strconv.Itoa(int(ctxID))
	}
	if n, ok := interfaces[s.UUID]; ok {
		return n
	}
	if i, ok := epm.InterfaceName(s.UUID); ok {
		return i.Name
	}
	return s.UUID.String()
}

func (p *pipeState) finishCall(frame int, call *rpcCall) {
	id := p.iface(call.ctxID)
	cl := Call{RequestFrame: call.reqFrame, Frame: frame, Pipe: p.name, Interface: p.ifaceName(call.ctxID),
		Opnum: call.opnum, Name: callName(id, call.opnum), Logon: p.logon}
	switch {
	case p.ndr64[call.ctxID]:
		cl.Note = "NDR64 transfer syntax: the decoders read NDR 2.0"
	case call.sealed:
		cl.Note = "sealed (packet privacy): encrypted"
	case call.tooLarge:
		cl.Note = fmt.Sprintf("stub over the %d-byte cap or the buffer budget", p.c.d.lim.MaxCallBytes)
	default:
		p.c.decodeCall(frame, id, call, &cl)
	}
	p.release(call)
	if !cl.Decoded {
		p.c.d.undecoded(frame, cl.Interface+" "+cl.Name, cl.Note)
	}
	p.c.addCall(cl)
}

// addCall appends a call within MaxRecords per conversation.
func (c *conv) addCall(cl Call) {
	if len(c.rep.Calls) < c.d.lim.MaxRecords {
		c.rep.Calls = append(c.rep.Calls, cl)
	}
}
