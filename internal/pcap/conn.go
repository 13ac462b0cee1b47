package pcap

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// conv is a followed connection's protocol state.
type conv struct {
	d    *decoder
	rep  *Conversation
	kind int
	up   *framer // client → server
	down *framer // server → client

	smb2 *smb2State
	smb1 *smb1State
	tcp  *pipeState // DCE/RPC straight over TCP
	ldap *ldapState

	// handles maps SAMR domain handles to the SID they were opened for.
	handles map[ndr.Handle]ndr.SID
	// accounts indexes the disclosed accounts and shares already listed.
	accounts map[string]int

	serverPort uint16
	lastFrame  int
}

const (
	kindUnknown = iota
	kindNBSS
	kindRPC
	kindLDAP
	kindIgnored
)

func (d *decoder) newConn(client, server netip.AddrPort, frame int) *tcpConn {
	c := &conv{d: d, handles: map[ndr.Handle]ndr.SID{}, accounts: map[string]int{}, serverPort: server.Port(), rep: &Conversation{
		File: d.file, FirstFrame: frame, Client: client.String(), Server: server.String(),
		Logons: []Logon{}, Trees: []Tree{}, Pipes: []Pipe{}, Calls: []Call{},
	}}
	c.up = &framer{c: c, toServer: true}
	c.down = &framer{c: c}
	tc := &tcpConn{client: client, server: server}
	tc.toServer.sink = c.up
	tc.toClient.sink = c.down
	tc.closer = c.close
	return tc
}

// classify decides from the first bytes of data (the client's, or either
// side's when the capture missed the start) what the connection carries:
// a DCE/RPC BIND or ALTER_CONTEXT, or NBSS framing — on 445/139 or
// whatever the port when it holds an SMB message or a session request.
// Anything else (Kerberos and LDAP also start with lengths) is ignored.
func (c *conv) classify(b []byte, server uint16) {
	smbPort := server == 445 || server == 139
	switch {
	case (server == 389 || server == 3268) && len(b) > 0 && b[0] == 0x30:
		c.kind = kindLDAP
		c.rep.Transport = "ldap"
		c.ldap = newLDAP(c)
	case server == 636 || server == 3269:
		// LDAP over TLS: nothing readable, but the conversation is listed.
		c.kind = kindIgnored
		c.rep.Transport = "ldaps"
		c.rep.Encrypted = true
		c.d.listConversation(c.rep)
		c.d.undecoded(c.lastFrame, "ldaps "+c.rep.Client+" → "+c.rep.Server, "TLS: encrypted")
		return
	case rpcStart(b):
		c.kind = kindRPC
		c.rep.Transport = "dcerpc-tcp"
		c.tcp = newPipeState(c, "tcp", LogonAnonymous)
	case len(b) >= 8 && b[0] == 0x00 && (string(b[4:8]) == "\xffSMB" || string(b[4:8]) == "\xfeSMB" || string(b[4:8]) == "\xfdSMB"),
		len(b) >= 1 && b[0] == 0x81,
		smbPort && len(b) >= 1 && (b[0] == 0x00 || b[0] == 0x85):
		c.kind = kindNBSS
		c.rep.Transport = "smb"
	default:
		c.kind = kindIgnored
	}
	if c.kind != kindIgnored && !c.d.listConversation(c.rep) {
		c.kind = kindIgnored
	}
}

// rpcStart reports whether b starts with a connection-oriented DCE/RPC
// header (C706 12.6.3.1: version 5.0 or 5.1, a known PDU type,
// little-endian ASCII data representation, a plausible frag_length): a
// BIND or ALTER_CONTEXT, or any PDU when the capture began mid-connection.
func rpcStart(b []byte) bool {
	if len(b) < 16 || b[0] != 5 || b[1] > 1 || b[4] != 0x10 || b[5] != 0 {
		return false
	}
	switch b[2] {
	case dcerpc.PTypeRequest, dcerpc.PTypeResponse, dcerpc.PTypeFault, dcerpc.PTypeBind, dcerpc.PTypeBindAck,
		dcerpc.PTypeAlterContext, dcerpc.PTypeAlterContextResp, ptypeAuth3:
	default:
		return false
	}
	return binary.LittleEndian.Uint16(b[8:]) >= 16
}

func (c *conv) close() {
	for _, f := range []*framer{c.up, c.down} {
		if len(f.buf) > 0 && !f.dead {
			c.d.undecoded(c.lastFrame, "tcp "+c.rep.Client+" → "+c.rep.Server,
				fmt.Sprintf("%d bytes of an unfinished frame when the connection ended", len(f.buf)))
		}
		f.release()
	}
	if c.smb2 != nil {
		c.smb2.close()
	}
	if c.smb1 != nil {
		c.smb1.close()
	}
	if c.tcp != nil {
		c.tcp.close()
	}
	if c.ldap != nil {
		c.ldap.close()
	}
}

// framer cuts one direction's bytes into NBSS frames ([RFC 1002] 4.3,
// [MS-SMB2] 2.1 Direct TCP: a zero byte and a 24-bit length) or DCE/RPC
// fragments (C706 12.6.3.1: frag_length at offset 8).
type framer struct {
	c        *conv
	toServer bool
	buf      []byte
	held     int // bytes of buf taken from the budget
	skip     int // bytes of an oversized frame still to discard
	dead     bool
}

func (f *framer) release() {
	f.c.d.buf.give(f.held)
	f.held, f.buf = 0, nil
}

func (f *framer) gap(frame int, why string) {
	if f.dead {
		return
	}
	f.dead = true
	f.release()
	if f.c.kind == kindNBSS || f.c.kind == kindRPC || f.c.kind == kindLDAP {
		f.c.d.undecoded(frame, "tcp "+f.c.rep.Client+" → "+f.c.rep.Server, "stream gap: "+why+"; the rest of this direction is not decoded")
	}
}

func (f *framer) data(frame int, b []byte) {
	f.c.lastFrame = frame
	if f.dead {
		return
	}
	if f.c.kind == kindUnknown {
		f.c.classify(b, f.c.serverPort)
	}
	if f.c.kind == kindIgnored {
		f.dead = true
		return
	}
	for len(b) > 0 && !f.dead {
		if f.skip > 0 {
			n := min(f.skip, len(b))
			f.skip -= n
			b = b[n:]
			continue
		}
		need := f.need()
		if need == 0 {
			// A whole header is not there yet: take what is.
			n := min(len(b), f.headerLen()-len(f.buf))
			if !f.hold(b[:n], frame) {
				return
			}
			b = b[n:]
			if len(f.buf) < f.headerLen() {
				continue
			}
			need = f.need()
			if need < 0 {
				return
			}
		}
		if need < 0 {
			return
		}
		if need > f.c.d.lim.MaxFrame+f.headerLen() {
			f.c.d.undecoded(frame, "frame", fmt.Sprintf("%d bytes, over the %d-byte cap; skipped", need, f.c.d.lim.MaxFrame))
			f.skip = need - len(f.buf)
			f.release()
			continue
		}
		n := min(len(b), need-len(f.buf))
		if !f.hold(b[:n], frame) {
			return
		}
		b = b[n:]
		if len(f.buf) == need {
			msg := f.buf
			f.c.d.buf.give(f.held)
			f.buf, f.held = nil, 0
			f.deliver(frame, msg)
		}
	}
}

// hold appends to the partial frame within the shared budget.
func (f *framer) hold(b []byte, frame int) bool {
	if !f.c.d.buf.take(len(b)) {
		f.gap(frame, "the capture's buffer budget is spent")
		return false
	}
	f.held += len(b)
	f.buf = append(f.buf, b...)
	return true
}

func (f *framer) headerLen() int {
	switch f.c.kind {
	case kindRPC:
		return 16
	case kindLDAP:
		// A SEQUENCE tag, then a short length or 0x8n and n octets.
		if len(f.buf) >= 2 && f.buf[1]&0x80 != 0 {
			return 2 + min(int(f.buf[1]&0x7f), 4)
		}
		return 2
	}
	return 4
}

// need is the whole frame's length once the header is in, 0 before, -1
// when the header is not a frame (the direction is then given up).
func (f *framer) need() int {
	if len(f.buf) < f.headerLen() {
		return 0
	}
	if f.c.kind == kindLDAP {
		n := ldapLength(f.buf)
		if n < 0 {
			f.gap(f.c.lastFrame, "not an LDAP message (SASL-wrapped after a bind that negotiated signing or sealing, or another protocol)")
		}
		return n
	}
	if f.c.kind == kindRPC {
		n := int(binary.LittleEndian.Uint16(f.buf[8:]))
		if f.buf[0] != 5 || n < 16 {
			f.gap(f.c.lastFrame, "not a DCE/RPC fragment header")
			return -1
		}
		return n
	}
	switch f.buf[0] {
	case 0x00: // session message; SMB2 direct TCP uses 24 bits of length
		return 4 + (int(f.buf[1])<<16 | int(f.buf[2])<<8 | int(f.buf[3]))
	case 0x81, 0x82, 0x83, 0x84, 0x85:
		return 4 + (int(f.buf[1]&1)<<16 | int(f.buf[2])<<8 | int(f.buf[3]))
	}
	f.gap(f.c.lastFrame, fmt.Sprintf("NBSS type 0x%02x", f.buf[0]))
	return -1
}

func (f *framer) deliver(frame int, msg []byte) {
	c := f.c
	if c.kind == kindRPC {
		c.tcp.pdu(frame, f.toServer, msg)
		return
	}
	if c.kind == kindLDAP {
		c.ldap.message(frame, msg)
		return
	}
	if msg[0] != 0x00 {
		if msg[0] == 0x83 {
			c.d.undecoded(frame, "nbss", "negative session response")
		}
		return // session request, positive response, keepalive
	}
	p := msg[4:]
	if len(p) < 4 {
		return
	}
	switch string(p[:4]) {
	case "\xfeSMB":
		if c.smb2 == nil {
			c.smb2 = newSMB2(c)
		}
		c.smb2.frame(frame, p)
	case "\xffSMB":
		if c.smb1 == nil {
			c.smb1 = newSMB1(c)
		}
		c.smb1.message(frame, p)
	case "\xfdSMB":
		c.rep.Encrypted = true
		c.d.undecoded(frame, "smb3 transform", "encrypted")
	case "\xfcSMB":
		c.d.undecoded(frame, "smb3 compression", "compressed messages are not decoded")
	default:
		c.d.undecoded(frame, "nbss", "payload is not SMB")
	}
}

// dialectName names an SMB2 dialect revision ([MS-SMB2] 2.2.4).
func dialectName(d uint16) string {
	switch d {
	case 0x0202:
		return "SMB 2.0.2"
	case 0x0210:
		return "SMB 2.1"
	case 0x0300:
		return "SMB 3.0"
	case 0x0302:
		return "SMB 3.0.2"
	case 0x0311:
		return "SMB 3.1.1"
	case 0x02ff:
		return "SMB 2.???"
	}
	return fmt.Sprintf("0x%04x", d)
}
