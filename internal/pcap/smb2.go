package pcap

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb2"
)

// maxOutstanding bounds requests waiting for their responses, per
// connection (SMB2 message ids, SMB1 MID/PID pairs), and the sessions,
// trees and open pipes tracked; a client cannot have more credits
// outstanding than a server grants, and 8192 is well above what Windows
// grants.
const maxOutstanding = 8192

// req2 is an SMB2 request waiting for its response.
type req2 struct {
	frame   int
	cmd     uint16
	path    string // TREE_CONNECT
	name    string // CREATE
	fileID  smb2.FileID
	logon   *pendingLogon
	ctlCode uint32
}

type smb2State struct {
	c        *conv
	pending  map[uint64]*req2
	sessions map[uint64]string // SessionId → logon kind
	logons   map[uint64]*pendingLogon
	trees    map[uint32]string
	files    map[smb2.FileID]*pipeState
}

func newSMB2(c *conv) *smb2State {
	return &smb2State{c: c, pending: map[uint64]*req2{}, sessions: map[uint64]string{},
		logons: map[uint64]*pendingLogon{}, trees: map[uint32]string{}, files: map[smb2.FileID]*pipeState{}}
}

func (s *smb2State) close() {
	for _, p := range s.files {
		p.close()
	}
}

// frame splits compounded messages ([MS-SMB2] 3.2.4.1.4: NextCommand is
// the offset of the next header, 8-aligned) and decodes each.
func (s *smb2State) frame(frame int, p []byte) {
	for len(p) > 0 {
		h, err := smb2.ParseHeader(p)
		if err != nil {
			s.c.d.undecoded(frame, "smb2", err.Error())
			return
		}
		msg := p
		next := int(h.NextCommand)
		if next != 0 {
			if next < smb2.HeaderSize || next > len(p) {
				s.c.d.undecoded(frame, "smb2", fmt.Sprintf("NextCommand %d in %d bytes", next, len(p)))
				return
			}
			msg = p[:next]
		}
		s.message(frame, h, msg)
		if next == 0 {
			return
		}
		p = p[next:]
	}
}

func (s *smb2State) message(frame int, h smb2.Header, msg []byte) {
	resp := h.Flags&smb2.FlagServerToRedir != 0
	f := map[string][]string{
		"smb2.cmd":    {strconv.Itoa(int(h.Command))},
		"smb2.msg_id": {u64(h.MessageID)},
		"smb2.sesid":  {u64(h.SessionID)},
	}
	if h.Flags&smb2.FlagAsyncCommand == 0 {
		f["smb2.tid"] = []string{u32(h.TreeID)}
	}
	if resp {
		f["smb2.nt_status"] = []string{u32(h.Status)}
	}
	s.c.d.message(frame, "smb2", f)
	if !resp {
		s.request(frame, h, msg)
		return
	}
	st := ntstatus.Status(h.Status)
	if st == ntstatus.Pending && h.Flags&smb2.FlagAsyncCommand != 0 {
		return // interim; the final response follows
	}
	r := s.pending[h.MessageID]
	if r == nil || r.cmd != h.Command {
		if h.Command == smb2.CmdNegotiate {
			s.negotiate(frame, msg)
		}
		return
	}
	delete(s.pending, h.MessageID)
	s.response(frame, h, st, r, msg)
}

// body returns the request body after the header, or nil.
func body2(msg []byte, min int) []byte {
	if len(msg) < smb2.HeaderSize+min {
		return nil
	}
	return msg[smb2.HeaderSize:]
}

// field2 slices an offset/length pair (offsets count from the header).
func field2(msg []byte, off, n uint32) []byte {
	if n == 0 || uint64(off)+uint64(n) > uint64(len(msg)) || off < smb2.HeaderSize {
		return nil
	}
	return msg[off : off+n]
}

func (s *smb2State) request(frame int, h smb2.Header, msg []byte) {
	if len(s.pending) >= maxOutstanding {
		s.c.d.undecoded(frame, "smb2 request", "too many outstanding requests; not followed")
		return
	}
	le := binary.LittleEndian
	r := &req2{frame: frame, cmd: h.Command}
	switch h.Command {
	case smb2.CmdSessionSetup:
		b := body2(msg, 24)
		if b == nil {
			return
		}
		l := s.logons[h.SessionID]
		if l == nil || h.SessionID == 0 {
			l = &pendingLogon{frame: frame}
		}
		blob := field2(msg, uint32(le.Uint16(b[12:])), uint32(le.Uint16(b[14:])))
		if len(blob) == 0 && h.SessionID == 0 {
			l.kind, l.mechanism = LogonNull, "empty security blob"
		}
		s.c.securityBlob(frame, blob, l)
		r.logon = l
	case smb2.CmdTreeConnect:
		b := body2(msg, 8)
		if b == nil {
			return
		}
		r.path = utf16le(field2(msg, uint32(le.Uint16(b[4:])), uint32(le.Uint16(b[6:]))))
	case smb2.CmdCreate:
		b := body2(msg, 56)
		if b == nil {
			return
		}
		r.name = utf16le(field2(msg, uint32(le.Uint16(b[44:])), uint32(le.Uint16(b[46:]))))
	case smb2.CmdWrite:
		b := body2(msg, 48)
		if b == nil {
			return
		}
		copy(r.fileID[:], b[16:32])
		if p := s.files[r.fileID]; p != nil {
			p.write(frame, field2(msg, uint32(le.Uint16(b[2:])), le.Uint32(b[4:])))
		}
	case smb2.CmdRead:
		b := body2(msg, 48)
		if b == nil {
			return
		}
		copy(r.fileID[:], b[16:32])
	case smb2.CmdIoctl:
		b := body2(msg, 56)
		if b == nil {
			return
		}
		r.ctlCode = le.Uint32(b[4:])
		copy(r.fileID[:], b[8:24])
		if p := s.files[r.fileID]; p != nil && r.ctlCode == fsctlPipeTransceive {
			p.write(frame, field2(msg, le.Uint32(b[24:]), le.Uint32(b[28:])))
		}
	case smb2.CmdClose:
		b := body2(msg, 24)
		if b == nil {
			return
		}
		copy(r.fileID[:], b[8:24])
	}
	s.pending[h.MessageID] = r
}

// fsctlPipeTransceive is FSCTL_PIPE_TRANSCEIVE ([MS-FSCC] 2.3).
const fsctlPipeTransceive = 0x0011c017

func (s *smb2State) negotiate(frame int, msg []byte) {
	n, err := smb2.ParseNegotiateResponse(msg)
	if err != nil {
		s.c.d.undecoded(frame, "smb2 negotiate response", err.Error())
		return
	}
	s.c.rep.Dialect = dialectName(n.Dialect)
}

func (s *smb2State) response(frame int, h smb2.Header, st ntstatus.Status, r *req2, msg []byte) {
	c := s.c
	switch h.Command {
	case smb2.CmdNegotiate:
		s.negotiate(frame, msg)
	case smb2.CmdSessionSetup:
		var flags uint16
		if !st.IsError() || st == ntstatus.MoreProcessingRequired {
			ss, err := smb2.ParseSessionSetupResponse(msg)
			if err != nil {
				c.d.undecoded(frame, "smb2 session setup response", err.Error())
			} else {
				flags = ss.SessionFlags
				c.challengeInfo(c.securityBlob(frame, ss.SecurityBuffer, nil))
			}
		}
		if st == ntstatus.MoreProcessingRequired {
			if len(s.logons) < maxOutstanding {
				s.logons[h.SessionID] = r.logon
			}
			return
		}
		delete(s.logons, h.SessionID)
		// SMB2_SESSION_FLAG_IS_GUEST 0x1, IS_NULL 0x2 ([MS-SMB2] 2.2.6);
		// ENCRYPT_DATA 0x4 means everything after is encrypted.
		if flags&0x2 != 0 && r.logon != nil && r.logon.kind == "" {
			r.logon.kind = LogonNull
		}
		kind := c.logonDone(frame, fmt.Sprintf("0x%016x", h.SessionID), r.logon, st.String(), flags&0x1 != 0)
		if !st.IsError() && len(s.sessions) < maxOutstanding {
			s.sessions[h.SessionID] = kind
		}
		if flags&0x4 != 0 {
			c.rep.Encrypted = true
		}
	case smb2.CmdTreeConnect:
		c.rep.Trees = bounded(c.d, c.rep.Trees, Tree{Frame: frame, Path: r.path, Status: st.String()})
		if !st.IsError() {
			if _, err := smb2.ParseTreeConnectResponse(msg); err != nil {
				c.d.undecoded(frame, "smb2 tree connect response", err.Error())
			} else if len(s.trees) < maxOutstanding {
				s.trees[h.TreeID] = r.path
			}
		}
	case smb2.CmdCreate:
		if !isIPC(s.trees[h.TreeID]) {
			return // a file or directory, not a pipe
		}
		logon := s.sessionKind(h.SessionID)
		c.rep.Pipes = bounded(c.d, c.rep.Pipes, Pipe{Frame: frame, Name: pipeName(r.name), Status: st.String(), Logon: logon})
		if st.IsError() {
			return
		}
		cr, err := smb2.ParseCreateResponse(msg)
		if err != nil {
			c.d.undecoded(frame, "smb2 create response", err.Error())
			return
		}
		if len(s.files) < maxOutstanding {
			s.files[cr.FileID] = newPipeState(c, pipeName(r.name), logon)
		}
	case smb2.CmdRead:
		p := s.files[r.fileID]
		if p == nil || (st.IsError() && st != ntstatus.BufferOverflow) {
			return
		}
		rr, err := smb2.ParseReadResponse(msg)
		if err != nil {
			c.d.undecoded(frame, "smb2 read response", err.Error())
			return
		}
		p.read(frame, rr.Data)
	case smb2.CmdIoctl:
		p := s.files[r.fileID]
		if p == nil || r.ctlCode != fsctlPipeTransceive || (st.IsError() && st != ntstatus.BufferOverflow) {
			return
		}
		io, err := smb2.ParseIoctlResponse(msg)
		if err != nil {
			c.d.undecoded(frame, "smb2 ioctl response", err.Error())
			return
		}
		// A server may echo the request in the response's input buffer
		// ([MS-SMB2] 3.3.5.15.8): its PDU headers are recorded, nothing
		// more.
		if b := body2(msg, 48); b != nil {
			le := binary.LittleEndian
			p.echo(frame, field2(msg, le.Uint32(b[24:]), le.Uint32(b[28:])))
		}
		p.read(frame, io.Output)
	case smb2.CmdClose:
		if p := s.files[r.fileID]; p != nil && !st.IsError() {
			p.close()
			delete(s.files, r.fileID)
		}
	}
}

func (s *smb2State) sessionKind(id uint64) string {
	if k, ok := s.sessions[id]; ok {
		return k
	}
	return LogonUnknown
}

// isIPC reports whether a tree path names the IPC$ share.
func isIPC(path string) bool {
	return strings.HasSuffix(strings.ToUpper(path), `\IPC$`) || strings.EqualFold(path, "IPC$")
}

// pipeName normalises a pipe's name: "srvsvc", `\srvsvc` and
// `\PIPE\srvsvc` are the same pipe.
func pipeName(n string) string {
	n = strings.TrimRight(n, "\x00")
	if len(n) >= 6 && strings.EqualFold(n[:6], `\PIPE\`) {
		n = n[6:]
	}
	return strings.ToLower(strings.TrimPrefix(n, `\`))
}

// utf16le decodes UTF-16LE, dropping a trailing NUL.
func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}
