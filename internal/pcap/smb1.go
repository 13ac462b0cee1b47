package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/rap"
	"github.com/nullsweep/nullsweep/internal/smb1"
)

// req1 is an SMB1 request waiting for its response.
type req1 struct {
	frame  int
	cmd    byte
	path   string // TREE_CONNECT_ANDX
	name   string // NT_CREATE_ANDX
	fid    uint16
	logon  *pendingLogon
	trans  string // "pipe" (TransactNmPipe) or "rap" (\PIPE\LANMAN)
	rapOp  uint16
	rapReq []byte
	andx   []byte // commands chained after the first (AndX)
	asm    *transAsm
}

type smb1State struct {
	c        *conv
	pending  map[uint32]*req1
	sessions map[uint16]string
	logons   map[uint16]*pendingLogon
	trees    map[uint16]string
	files    map[uint16]*pipeState
}

func newSMB1(c *conv) *smb1State {
	return &smb1State{c: c, pending: map[uint32]*req1{}, sessions: map[uint16]string{},
		logons: map[uint16]*pendingLogon{}, trees: map[uint16]string{}, files: map[uint16]*pipeState{}}
}

func (s *smb1State) close() {
	for _, p := range s.files {
		p.close()
	}
	for _, r := range s.pending {
		if r.asm != nil {
			s.c.d.buf.give(r.asm.held)
			r.asm = nil
		}
	}
}

// SMB1 commands read here besides smb1's ([MS-CIFS] 2.2.2.1).
const (
	comTransaction = 0x25
	comAndXNone    = 0xff
)

func (s *smb1State) message(frame int, b []byte) {
	m, err := smb1.ParseMessage(b)
	if err != nil {
		s.c.d.undecoded(frame, "smb", err.Error())
		return
	}
	resp := m.Flags&0x80 != 0
	f := map[string][]string{
		"smb.cmd": {strconv.Itoa(int(m.Command))},
		"smb.mid": {strconv.Itoa(int(m.MID))},
		"smb.uid": {strconv.Itoa(int(m.UID))},
		"smb.tid": {strconv.Itoa(int(m.TID))},
		"smb.pid": {strconv.Itoa(int(m.PID))},
	}
	if resp && m.Flags2&smb1.Flags2NTStatus != 0 {
		f["smb.nt_status"] = []string{u32(uint32(m.Status))}
	}
	f["smb.cmd"] = append(f["smb.cmd"], andxChain(m)...)
	s.c.d.message(frame, "smb", f)
	key := uint32(m.MID) | uint32(m.PID)<<16
	if !resp {
		if s.c.rep.Dialect == "" && m.Command == smb1.ComNegotiate {
			s.c.rep.Dialect = "SMB1"
		}
		if len(s.pending) >= maxOutstanding {
			s.c.d.undecoded(frame, "smb request", "too many outstanding requests; not followed")
			return
		}
		s.pending[key] = s.request(frame, m)
		return
	}
	r := s.pending[key]
	if r == nil || r.cmd != m.Command {
		return
	}
	// A Transaction sent in pieces gets an interim response first.
	if m.Command == comTransaction && len(m.Words) == 0 && !m.Status.IsError() {
		return
	}
	delete(s.pending, key)
	if m.Command == comTransaction && !s.transResponse(frame, m, r) {
		s.pending[key] = r // more pieces of the response follow
		return
	}
	s.response(frame, m, r)
}

func (s *smb1State) request(frame int, m *smb1.Message) *req1 {
	le := binary.LittleEndian
	r := &req1{frame: frame, cmd: m.Command}
	w := m.Words
	switch m.Command {
	case smb1.ComNegotiate:
		s.c.rep.Dialect = "SMB1"
	case smb1.ComSessionSetup:
		r.logon = s.sessionSetupRequest(frame, m)
		if len(w) >= 4 && w[0] == smb1.ComTreeConnect {
			r.andx = []byte{smb1.ComTreeConnect}
			r.path = andxTreePath(m, int(le.Uint16(w[2:])))
		}
	case smb1.ComTreeConnect:
		// Words: AndX(4) Flags(2) PasswordLength(2); Bytes: Password, Path.
		if len(w) >= 8 {
			r.path = treePath(m, int(le.Uint16(w[6:])))
		}
	case smb1.ComNTCreateAndX:
		// Words: AndX(4) Reserved(1) NameLength(2) ...; Bytes: Name
		// (Unicode aligned to 2 from the header start).
		if len(w) >= 7 {
			r.name = smb1String(m, 0)
		}
	case smb1.ComWriteAndX:
		// [MS-CIFS] 2.2.4.43.1: FID at word 2, DataLength at 20,
		// DataOffset at 22 (from the header start).
		if len(w) >= 24 {
			r.fid = le.Uint16(w[4:])
			if p := s.files[r.fid]; p != nil {
				off, n := int(le.Uint16(w[22:])), int(le.Uint16(w[20:]))
				if len(w) >= 28 {
					n |= int(le.Uint16(w[18:])) << 16 // DataLengthHigh
				}
				if off >= 0 && n >= 0 && off+n <= len(m.Raw) {
					p.write(frame, m.Raw[off:off+n])
				}
			}
		}
	case smb1.ComReadAndX:
		if len(w) >= 6 {
			r.fid = le.Uint16(w[4:])
		}
	case smb1.ComClose:
		if len(w) >= 2 {
			r.fid = le.Uint16(w[0:])
		}
	case comTransaction:
		s.transRequest(frame, m, r)
	}
	return r
}

// andxCommands take an AndX block: AndXCommand, a reserved byte and
// AndXOffset open their parameter words ([MS-CIFS] 2.2.3.4).
var andxCommands = map[byte]bool{
	0x24: true, 0x2d: true, 0x2e: true, 0x2f: true, 0x73: true, 0x74: true, 0x75: true, 0xa2: true,
}

// andxChain lists the AndXCommand of each block of the chain (0xFF ends
// it), as a dissector shows them. The walk stops at 8 blocks, at an offset
// that does not move forward or leaves the message.
func andxChain(m *smb1.Message) []string {
	var out []string
	cmd, raw := m.Command, m.Raw
	off := 32 // the first block's WordCount
	for range 8 {
		if !andxCommands[cmd] || off >= len(raw) || raw[off] == 0 || off+5 > len(raw) {
			return out
		}
		next := raw[off+1]
		out = append(out, strconv.Itoa(int(next)))
		if next == comAndXNone {
			return out
		}
		no := int(binary.LittleEndian.Uint16(raw[off+3:]))
		if no <= off || no >= len(raw) {
			return out
		}
		cmd, off = next, no
	}
	return out
}

// transRequest reads a TRANSACTION request ([MS-CIFS] 2.2.4.33.1): Words
// TotalParameterCount(0) TotalDataCount(2) MaxParameterCount(4)
// MaxDataCount(6) MaxSetupCount(8) Reserved(9) Flags(10) Timeout(12)
// Reserved2(16) ParameterCount(18) ParameterOffset(20) DataCount(22)
// DataOffset(24) SetupCount(26) Reserved3(27) Setup[](28); Bytes: Name.
func (s *smb1State) transRequest(frame int, m *smb1.Message, r *req1) {
	le := binary.LittleEndian
	w := m.Words
	if len(w) < 28 {
		return
	}
	pc, po := int(le.Uint16(w[18:])), int(le.Uint16(w[20:]))
	dc, do := int(le.Uint16(w[22:])), int(le.Uint16(w[24:]))
	sc := int(w[26])
	if 28+2*sc > len(w) {
		return
	}
	params := slice1(m.Raw, po, pc)
	data := slice1(m.Raw, do, dc)
	if sc >= 2 && le.Uint16(w[28:]) == 0x26 { // TRANS_TRANSACT_NMPIPE
		r.trans = "pipe"
		r.fid = le.Uint16(w[30:])
		if p := s.files[r.fid]; p != nil {
			p.write(frame, data)
		}
		return
	}
	if sc == 0 && len(params) >= 2 {
		r.trans, r.rapOp = "rap", le.Uint16(params)
		r.rapReq = append([]byte(nil), params...)
	}
}

func slice1(raw []byte, off, n int) []byte {
	if n == 0 || off < 32 || off+n > len(raw) {
		return nil
	}
	return raw[off : off+n]
}

// sessionSetupRequest reads SESSION_SETUP_ANDX: WordCount 12 is extended
// security ([MS-SMB] 2.2.4.6.1), 13 the NT LM 0.12 form with passwords
// ([MS-CIFS] 2.2.4.53.1), 10 the older LANMAN form.
func (s *smb1State) sessionSetupRequest(frame int, m *smb1.Message) *pendingLogon {
	le := binary.LittleEndian
	w := m.Words
	l := s.logons[m.UID]
	if l == nil || m.UID == 0 {
		l = &pendingLogon{frame: frame}
	}
	switch len(w) {
	case 24:
		n := int(le.Uint16(w[14:]))
		if n == 0 && m.UID == 0 {
			// No token at all: no identity offered, and servers that
			// accept it give an anonymous session.
			l.kind, l.mechanism = LogonNull, "empty security blob"
		} else if n <= len(m.Bytes) {
			s.c.securityBlob(frame, m.Bytes[:n], l)
		}
	case 26:
		oem, uni := int(le.Uint16(w[14:])), int(le.Uint16(w[16:]))
		if oem+uni > len(m.Bytes) {
			return l
		}
		names := stringsAt(m, oem+uni, 2)
		l.mechanism = "plain"
		l.user, l.domain = names[0], names[1]
		// The classic null session: no name, no passwords (or one NUL).
		if l.user == "" && oem <= 1 && uni <= 1 {
			l.kind = LogonNull
		} else {
			l.kind = LogonUser
		}
	case 20:
		pw := int(le.Uint16(w[14:]))
		if pw > len(m.Bytes) {
			return l
		}
		names := stringsAt(m, pw, 2)
		l.mechanism = "plain"
		l.user, l.domain = names[0], names[1]
		if l.user == "" && pw <= 1 {
			l.kind = LogonNull
		} else {
			l.kind = LogonUser
		}
	}
	return l
}

// stringsAt reads n consecutive strings of m's Bytes from rel.
func stringsAt(m *smb1.Message, rel, n int) []string {
	out := make([]string, n)
	off := m.BytesOff + rel
	end := m.BytesOff + len(m.Bytes)
	for i := range out {
		if off >= end {
			break
		}
		out[i], off = readString1(m.Raw[:end], off, m.Unicode())
	}
	return out
}

// readString1 reads a NUL-terminated OEM or UTF-16LE (2-aligned from the
// header start) string.
func readString1(b []byte, off int, unicode bool) (string, int) {
	if !unicode {
		i := off
		for i < len(b) && b[i] != 0 {
			i++
		}
		s := smb1.OEMString(b[off:i])
		return s, min(i+1, len(b))
	}
	if off%2 == 1 {
		off++
	}
	i := off
	for i+1 < len(b) && (b[i] != 0 || b[i+1] != 0) {
		i += 2
	}
	s := smb1.UTF16String(b[off:min(i, len(b))])
	return s, min(i+2, len(b))
}

func smb1String(m *smb1.Message, rel int) string {
	return stringsAt(m, rel, 1)[0]
}

// treePath reads TREE_CONNECT_ANDX's path after the password.
func treePath(m *smb1.Message, pwLen int) string {
	if pwLen > len(m.Bytes) {
		return ""
	}
	return smb1String(m, pwLen)
}

// andxTreePath reads a TREE_CONNECT_ANDX chained at off (from the header
// start) after a SESSION_SETUP_ANDX.
func andxTreePath(m *smb1.Message, off int) string {
	raw := m.Raw
	if off < 32 || off >= len(raw) {
		return ""
	}
	wc := int(raw[off])
	if wc < 4 || off+1+2*wc+2 > len(raw) {
		return ""
	}
	w := raw[off+1 : off+1+2*wc]
	bc := int(binary.LittleEndian.Uint16(raw[off+1+2*wc:]))
	bo := off + 1 + 2*wc + 2
	if bo+bc > len(raw) {
		return ""
	}
	pw := int(binary.LittleEndian.Uint16(w[6:]))
	if pw > bc {
		return ""
	}
	s, _ := readString1(raw[:bo+bc], bo+pw, m.Unicode())
	return s
}

func (s *smb1State) response(frame int, m *smb1.Message, r *req1) {
	c := s.c
	st := m.Status
	switch m.Command {
	case smb1.ComNegotiate:
		c.rep.Dialect = "SMB1"
		// A server without extended security names its domain and
		// itself here ([MS-CIFS] 2.2.4.52.2); the challenge is not kept.
		if n, err := smb1.ParseNegotiate(m); err == nil && !n.ExtendedSecurity && (n.DomainName != "" || n.ServerName != "") {
			si := c.serverInfo()
			si.NetBIOSDomain, si.NetBIOSComputer = n.DomainName, n.ServerName
		}
	case smb1.ComSessionSetup:
		ss, err := smb1.ParseSessionSetup(m)
		if err != nil {
			c.d.undecoded(frame, "smb session setup response", err.Error())
			return
		}
		if len(ss.SecurityBlob) > 0 {
			c.challengeInfo(c.securityBlob(frame, ss.SecurityBlob, nil))
		}
		if ss.NativeOS != "" || ss.NativeLanMan != "" {
			si := c.serverInfo()
			si.NativeOS, si.NativeLanMan = ss.NativeOS, ss.NativeLanMan
		}
		if st == ntstatus.MoreProcessingRequired {
			if len(s.logons) < maxOutstanding {
				s.logons[m.UID] = r.logon
			}
			return
		}
		delete(s.logons, m.UID)
		// Action bit 0 (SMB_SETUP_GUEST, [MS-CIFS] 2.2.4.53.2).
		kind := c.logonDone(frame, fmt.Sprintf("0x%04x", m.UID), r.logon, st.String(), ss.Action&1 != 0)
		if !st.IsError() && len(s.sessions) < maxOutstanding {
			s.sessions[m.UID] = kind
		}
		if len(r.andx) > 0 && r.path != "" {
			s.andxTree(frame, m, r)
		}
	case smb1.ComTreeConnect:
		c.rep.Trees = bounded(c.d, c.rep.Trees, Tree{Frame: frame, Path: r.path, Status: st.String()})
		if !st.IsError() && len(s.trees) < maxOutstanding {
			s.trees[m.TID] = r.path
		}
	case smb1.ComNTCreateAndX:
		if !isIPC(s.trees[m.TID]) {
			return
		}
		logon := s.sessionKind(m.UID)
		c.rep.Pipes = bounded(c.d, c.rep.Pipes, Pipe{Frame: frame, Name: pipeName(r.name), Status: st.String(), Logon: logon})
		if st.IsError() {
			return
		}
		cr, err := smb1.ParseCreate(m)
		if err != nil {
			c.d.undecoded(frame, "smb nt create response", err.Error())
			return
		}
		if len(s.files) < maxOutstanding {
			s.files[cr.FID] = newPipeState(c, pipeName(r.name), logon)
		}
	case smb1.ComReadAndX:
		p := s.files[r.fid]
		if p == nil || (st.IsError() && st != ntstatus.BufferOverflow) {
			return
		}
		data, err := smb1.ParseRead(m, 1<<20)
		if err != nil && !errors.Is(err, smb1.ErrMoreData) {
			c.d.undecoded(frame, "smb read response", err.Error())
			return
		}
		p.read(frame, data)
	case smb1.ComClose:
		if p := s.files[r.fid]; p != nil && !st.IsError() {
			p.close()
			delete(s.files, r.fid)
		}
	}
}

// andxTree records a TREE_CONNECT_ANDX answered in the same response as
// the session setup it was chained to.
func (s *smb1State) andxTree(frame int, m *smb1.Message, r *req1) {
	st := m.Status
	tid := m.TID
	s.c.rep.Trees = bounded(s.c.d, s.c.rep.Trees, Tree{Frame: frame, Path: r.path, Status: st.String()})
	if !st.IsError() && tid != 0 && len(s.trees) < maxOutstanding {
		s.trees[tid] = r.path
	}
}

// transResponse reads a TRANSACTION response in one piece ([MS-CIFS]
// 2.2.4.33.2): Words TotalParameterCount(0) TotalDataCount(2)
// Reserved(4) ParameterCount(6) ParameterOffset(8)
// ParameterDisplacement(10) DataCount(12) DataOffset(14)
// DataDisplacement(16) SetupCount(18).
func (s *smb1State) transResponse(frame int, m *smb1.Message, r *req1) (done bool) {
	c := s.c
	defer func() {
		if done && r.asm != nil {
			c.d.buf.give(r.asm.held)
			r.asm = nil
		}
	}()
	le := binary.LittleEndian
	w := m.Words
	if m.Status.IsError() && m.Status != ntstatus.BufferOverflow {
		if r.trans == "rap" {
			c.addCall(Call{RequestFrame: r.frame, Frame: frame, Pipe: "lanman", Interface: "RAP", Opnum: r.rapOp,
				Name: rapName(r.rapOp), Status: m.Status.String(), Logon: s.sessionKind(m.UID), Decoded: true})
		}
		return true
	}
	if len(w) < 20 {
		c.d.undecoded(frame, "smb transaction response", fmt.Sprintf("word count %d", len(w)/2))
		return true
	}
	totP, totD := int(le.Uint16(w[0:])), int(le.Uint16(w[2:]))
	pc, po, pd := int(le.Uint16(w[6:])), int(le.Uint16(w[8:])), int(le.Uint16(w[10:]))
	dc, do, dd := int(le.Uint16(w[12:])), int(le.Uint16(w[14:])), int(le.Uint16(w[16:]))
	// A response larger than the client's buffer comes in pieces, each
	// with its displacement ([MS-CIFS] 3.3.4.1.2). The totals are 16-bit:
	// at most 64 KiB each is held.
	a := r.asm
	if a == nil {
		if !c.d.buf.take(totP + totD) {
			c.d.undecoded(frame, "smb transaction response", "the capture's buffer budget is spent")
			return true
		}
		a = &transAsm{params: make([]byte, totP), data: make([]byte, totD), held: totP + totD}
		r.asm = a
	}
	a.params, a.data = a.params[:min(totP, len(a.params))], a.data[:min(totD, len(a.data))]
	if pc > 0 && (po < 32 || po+pc > len(m.Raw) || pd+pc > len(a.params)) ||
		dc > 0 && (do < 32 || do+dc > len(m.Raw) || dd+dc > len(a.data)) {
		c.d.undecoded(frame, "smb transaction response", "a piece outside the message or the announced totals")
		return true
	}
	copy(a.params[pd:], m.Raw[po:po+pc])
	copy(a.data[dd:], m.Raw[do:do+dc])
	a.gotP += pc
	a.gotD += dc
	if a.gotP < len(a.params) || a.gotD < len(a.data) {
		return false
	}
	switch r.trans {
	case "pipe":
		if p := s.files[r.fid]; p != nil {
			p.read(frame, a.data)
		}
	case "rap":
		s.rapResponse(frame, m, r, a.params, a.data)
	}
	return true
}

// transAsm gathers a TRANSACTION response's parameters and data.
type transAsm struct {
	params, data []byte
	gotP, gotD   int
	held         int // bytes taken from the budget
}

func rapName(op uint16) string {
	switch op {
	case 0:
		return "NetShareEnum"
	case 13:
		return "NetServerGetInfo"
	case 104:
		return "NetServerEnum2"
	}
	return fmt.Sprintf("RAP %d", op)
}

// rapResponse decodes a \PIPE\LANMAN reply with package rap, by the
// request's function number.
func (s *smb1State) rapResponse(frame int, m *smb1.Message, r *req1, params, data []byte) {
	c := s.c
	call := Call{RequestFrame: r.frame, Frame: frame, Pipe: "lanman", Interface: "RAP", Opnum: r.rapOp,
		Name: rapName(r.rapOp), Logon: s.sessionKind(m.UID)}
	if len(params) >= 2 {
		// The RAP status word: 0 is NERR_Success, others are NERR_* or
		// Win32 codes ([MS-RAP] 2.5.11).
		call.Status = "NERR_Success"
		if st := le16(params); st != 0 {
			call.Status = fmt.Sprintf("RAP status %d", st)
		}
	}
	switch r.rapOp {
	case 0:
		shares, err := rap.ParseShareEnum(params, data)
		if err != nil {
			call.Note = err.Error()
			break
		}
		call.Decoded = true
		for _, sh := range shares {
			c.addShare(Share{Name: sh.Name, Type: uint32(sh.Type), Remark: sh.Remark})
		}
	case 13:
		si, err := rap.ParseServerGetInfo(params, data)
		if err != nil {
			call.Note = err.Error()
			break
		}
		call.Decoded = true
		c.rep.Disclosed.Server = &RPCServer{Name: si.Name, Version: fmt.Sprintf("%d.%d", si.VersionMajor, si.VersionMinor), Comment: si.Comment}
	case 104:
		servers, err := rap.ParseServerEnum2(params, data)
		if err != nil {
			call.Note = err.Error()
			break
		}
		call.Decoded = true
		for _, sv := range servers {
			c.rep.Disclosed.Endpoints = appendBounded(c.rep.Disclosed.Endpoints, "browse list: "+sv.Name)
		}
	default:
		call.Note = "no decoder for this RAP function"
	}
	if !call.Decoded {
		c.d.undecoded(frame, "rap "+call.Name, call.Note)
	}
	c.addCall(call)
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func (s *smb1State) sessionKind(uid uint16) string {
	if k, ok := s.sessions[uid]; ok {
		return k
	}
	return LogonUnknown
}
