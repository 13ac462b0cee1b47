package netbios

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Name flags in a node status entry (RFC 1002 4.2.18).
const (
	FlagGroup     uint16 = 0x8000
	FlagDeregist  uint16 = 0x1000
	FlagConflict  uint16 = 0x0800
	FlagActive    uint16 = 0x0400
	FlagPermanent uint16 = 0x0200
)

const (
	nbstatType   = 0x0021
	classIN      = 0x0001
	headerLen    = 12
	nodeEntryLen = 18
)

// NodeName is one name a node status reply lists.
type NodeName struct {
	Raw    [16]byte `json:"-"`
	Name   string   `json:"name"`   // without padding; may hold control bytes (__MSBROWSE__)
	Suffix byte     `json:"suffix"` // the 16th byte
	Group  bool     `json:"group"`
	Flags  uint16   `json:"flags"`
}

// Role names the service a suffix stands for, in the terms of the
// Microsoft suffix table.
func (n NodeName) Role() string {
	switch {
	case n.Suffix == SuffixMSBrowse && strings.Contains(n.Name, "__MSBROWSE__"):
		return "master browser (__MSBROWSE__)"
	case n.Suffix == SuffixWorkstation && n.Group:
		return "domain/workgroup name"
	case n.Suffix == SuffixWorkstation:
		return "workstation service"
	case n.Suffix == SuffixMessenger:
		return "messenger service"
	case n.Suffix == SuffixFileServer:
		return "file server service"
	case n.Suffix == SuffixMasterBrowser:
		return "master browser"
	case n.Suffix == SuffixDomainMaster:
		return "domain master browser"
	case n.Suffix == SuffixDomainControl:
		return "domain controllers"
	case n.Suffix == SuffixBrowserElect:
		return "browser service elections"
	}
	return fmt.Sprintf("suffix <%02x>", n.Suffix)
}

// Printable is the name as nmblookup prints it: control bytes as '.'.
func (n NodeName) Printable() string {
	b := []byte(n.Name)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '.'
		}
	}
	return string(b)
}

// NodeStatus is a decoded NBSTAT answer.
type NodeStatus struct {
	Names []NodeName       `json:"names"`
	MAC   net.HardwareAddr `json:"mac"` // the unit ID; Samba sends zeros
}

// EncodeNodeStatusRequest builds an NBSTAT query for the wildcard name.
func EncodeNodeStatusRequest(id uint16) []byte {
	b := make([]byte, headerLen, headerLen+wireNameLen+4)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[4:], 1) // QDCOUNT
	b = append(b, EncodeName(RawName("*", 0))...)
	b = binary.BigEndian.AppendUint16(b, nbstatType)
	return binary.BigEndian.AppendUint16(b, classIN)
}

// ParseNodeStatus decodes an NBSTAT response. It checks the transaction
// id and that every count fits in the bytes that remain.
func ParseNodeStatus(b []byte, id uint16) (*NodeStatus, error) {
	if len(b) < headerLen {
		return nil, ErrShort
	}
	if got := binary.BigEndian.Uint16(b[0:]); got != id {
		return nil, fmt.Errorf("netbios: node status: transaction id %#04x, want %#04x", got, id)
	}
	flags := binary.BigEndian.Uint16(b[2:])
	if flags&0x8000 == 0 {
		return nil, errors.New("netbios: node status: not a response")
	}
	if rcode := flags & 0xF; rcode != 0 {
		return nil, fmt.Errorf("netbios: node status: error code %d", rcode)
	}
	if binary.BigEndian.Uint16(b[6:]) == 0 {
		return nil, errors.New("netbios: node status: no answer")
	}
	off := headerLen
	// Some responders echo the question; skip it if present.
	for q := binary.BigEndian.Uint16(b[4:]); q > 0; q-- {
		_, n, err := DecodeName(b[off:])
		if err != nil {
			return nil, fmt.Errorf("netbios: node status question: %w", err)
		}
		off += n + 4
		if off > len(b) {
			return nil, ErrShort
		}
	}
	_, n, err := DecodeName(b[off:])
	if err != nil {
		return nil, fmt.Errorf("netbios: node status answer: %w", err)
	}
	off += n
	if off+10 > len(b) {
		return nil, ErrShort
	}
	if t := binary.BigEndian.Uint16(b[off:]); t != nbstatType {
		return nil, fmt.Errorf("netbios: node status: answer type %#04x", t)
	}
	rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
	off += 10
	if off+rdlen > len(b) {
		return nil, ErrShort
	}
	rd := b[off : off+rdlen]
	if len(rd) < 1 {
		return nil, ErrShort
	}
	count := int(rd[0])
	if 1+count*nodeEntryLen > len(rd) {
		return nil, ErrShort
	}
	st := &NodeStatus{Names: make([]NodeName, 0, count)}
	for i := 0; i < count; i++ {
		e := rd[1+i*nodeEntryLen:]
		var nn NodeName
		copy(nn.Raw[:], e[:16])
		nn.Name, nn.Suffix = SplitName(nn.Raw)
		nn.Flags = binary.BigEndian.Uint16(e[16:])
		nn.Group = nn.Flags&FlagGroup != 0
		st.Names = append(st.Names, nn)
	}
	if stats := rd[1+count*nodeEntryLen:]; len(stats) >= 6 {
		st.MAC = net.HardwareAddr(append([]byte(nil), stats[:6]...))
	}
	return st, nil
}

// QueryNodeStatus asks host (an address, optionally with a port; default
// 137) for its names over UDP. It retransmits every retry interval until ctx
// ends; without a deadline in ctx it gives up after 3 s.
func QueryNodeStatus(ctx context.Context, host string) (*NodeStatus, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
	}
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "137")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("netbios: node status: %w", err)
	}
	defer conn.Close()
	stop := setDeadline(ctx, conn)
	defer stop()

	var idb [2]byte
	rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	req := EncodeNodeStatusRequest(id)
	buf := make([]byte, 1500)
	const retry = 750 * time.Millisecond
	for {
		if _, err := conn.Write(req); err != nil {
			return nil, fmt.Errorf("netbios: node status: %w", ctxErr(ctx, err))
		}
		wait := time.Now().Add(retry)
		if d, ok := ctx.Deadline(); ok && d.Before(wait) {
			wait = d
		}
		conn.SetReadDeadline(wait)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
					break // retransmit
				}
				return nil, fmt.Errorf("netbios: node status: %w", ctxErr(ctx, err))
			}
			st, perr := ParseNodeStatus(buf[:n], id)
			if perr != nil && n >= 2 && binary.BigEndian.Uint16(buf) != id {
				continue // a stray datagram
			}
			return st, perr
		}
	}
}

// FileServer returns the unique name registered with the <20> suffix (the
// name to call in an NBSS session request), or "".
func (st *NodeStatus) FileServer() string {
	for _, n := range st.Names {
		if n.Suffix == SuffixFileServer && !n.Group {
			return n.Name
		}
	}
	return ""
}

// Workgroup returns the group name with the <00> suffix (the workgroup or
// domain the node belongs to), or "".
func (st *NodeStatus) Workgroup() string {
	for _, n := range st.Names {
		if n.Suffix == SuffixWorkstation && n.Group {
			return n.Name
		}
	}
	return ""
}
