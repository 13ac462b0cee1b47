package pcap

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/nullsweep/nullsweep/internal/netbios"
)

// NBNS (RFC 1002 4.2) on UDP 137: a node status request (question type
// NBSTAT 0x21) and its response, decoded with package netbios, give the
// names the server registered. Other name service traffic (queries,
// registrations) discloses nothing about the server asked and is not
// followed. The datagram service on UDP 138 (browser announcements) is
// listed as not decoded.

type nbnsKey struct {
	client netip.AddrPort
	server netip.Addr
	id     uint16
}

type udpState struct {
	pending map[nbnsKey]int // node status requests → frame
	convs   map[[2]netip.Addr]*Conversation
}

const nbstat = 0x21

func (d *decoder) udp(frame int, s segment) {
	switch {
	case s.dst.Port() == 138 || s.src.Port() == 138:
		d.undecoded(frame, "netbios datagram", "the datagram service (browser announcements) is not decoded")
		return
	case s.dst.Port() != 137 && s.src.Port() != 137:
		return
	}
	b := s.payload
	if len(b) < 12 {
		return
	}
	if d.udpState == nil {
		d.udpState = &udpState{pending: map[nbnsKey]int{}, convs: map[[2]netip.Addr]*Conversation{}}
	}
	u := d.udpState
	id, flags := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	if flags&0x8000 == 0 {
		// A request: remember a node status question.
		if binary.BigEndian.Uint16(b[4:]) != 1 {
			return
		}
		_, n, err := netbios.DecodeName(b[12:])
		if err != nil || 12+n+4 > len(b) || binary.BigEndian.Uint16(b[12+n:]) != nbstat {
			return
		}
		if len(u.pending) < maxOutstanding {
			u.pending[nbnsKey{s.src, s.dst.Addr(), id}] = frame
		}
		d.message(frame, "nbns", map[string][]string{"nbns.id": {u32(uint32(id))}, "nbns.type": {"33"}})
		return
	}
	k := nbnsKey{s.dst, s.src.Addr(), id}
	if _, ok := u.pending[k]; !ok {
		return
	}
	delete(u.pending, k)
	st, err := netbios.ParseNodeStatus(b, id)
	c := u.conv(d, frame, s.dst, s.src)
	if c == nil {
		return
	}
	if err != nil {
		d.undecoded(frame, "nbns node status", err.Error())
		return
	}
	f := map[string][]string{"nbns.id": {u32(uint32(id))}, "nbns.type": {"33"},
		"nbns.number_of_names": {strconv.Itoa(len(st.Names))}}
	d.message(frame, "nbns", f)
	for _, nm := range st.Names {
		if len(c.Disclosed.NetBIOS) >= 1024 {
			break
		}
		c.Disclosed.NetBIOS = append(c.Disclosed.NetBIOS, NetBIOSName{Name: nm.Printable(), Suffix: fmt.Sprintf("<%02x>", nm.Suffix), Group: nm.Group, Role: nm.Role()})
	}
}

// conv is the NBNS conversation of a client and a server, one per pair.
func (u *udpState) conv(d *decoder, frame int, client, server netip.AddrPort) *Conversation {
	k := [2]netip.Addr{client.Addr(), server.Addr()}
	if c := u.convs[k]; c != nil {
		return c
	}
	if len(u.convs) >= d.lim.MaxConns {
		return nil
	}
	c := &Conversation{File: d.file, FirstFrame: frame, Client: client.String(), Server: server.String(), Transport: "nbns",
		Logons: []Logon{}, Trees: []Tree{}, Pipes: []Pipe{}, Calls: []Call{}}
	if !d.listConversation(c) {
		return nil
	}
	u.convs[k] = c
	return c
}
