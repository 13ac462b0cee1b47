package epm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
)

// Protocol identifiers of tower floors (C706 appendix I; [MS-RPCE] 2.2.1.1
// adds named pipes, NetBIOS and HTTP).
const (
	ProtoTCP       = 0x07
	ProtoUDP       = 0x08
	ProtoIP        = 0x09
	ProtoNCADG     = 0x0a // connectionless RPC
	ProtoNCACN     = 0x0b // connection-oriented RPC
	ProtoNCALRPC   = 0x0c // local RPC
	ProtoUUID      = 0x0d // interface or transfer syntax identifier
	ProtoSMB       = 0x0f // named pipe over SMB: \PIPE\name
	ProtoNamedPipe = 0x10 // local named pipe / LRPC port name
	ProtoNetBIOS   = 0x11 // NetBIOS host name
	ProtoHTTP      = 0x1f // RPC over HTTP port
	ProtoUnixDS    = 0x20 // Unix domain socket path
)

// Bounds of a tower. C706 towers have five floors at most; 16 leaves room
// for what we do not know while stopping a tower that claims thousands.
const (
	MaxFloors = 16
	// MaxTowerLen bounds one tower: five floors of a few dozen bytes each
	// plus a host name or pipe path.
	MaxTowerLen = 1024
)

// ErrTower is returned for a tower that does not decode.
var ErrTower = errors.New("epm: malformed tower")

// Floor is one protocol floor: the left-hand side's protocol identifier and
// data, and the right-hand side (address data).
type Floor struct {
	Protocol uint8
	LHS      []byte // after the protocol identifier byte
	RHS      []byte
}

// Tower is a decoded protocol tower (C706 appendix L).
type Tower struct {
	Floors []Floor
	// Interface and Transfer come from floors 1 and 2.
	Interface dcerpc.SyntaxID
	Transfer  dcerpc.SyntaxID
	// Protocol is the protocol sequence ("ncacn_ip_tcp", "ncacn_np",
	// "ncalrpc", "ncacn_http", "ncadg_ip_udp", ...) or "" when floors 3 and
	// up match none we know.
	Protocol string
	// Endpoint is the TCP/UDP/HTTP port, the pipe or the LRPC port name.
	Endpoint string
	// Host is the IP address or NetBIOS name floor, when there is one.
	Host string
}

// ParseTower decodes tower octets floor by floor; every length is checked
// against what remains before it is used.
func ParseTower(b []byte) (*Tower, error) {
	if len(b) > MaxTowerLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrTower, len(b))
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: no floor count", ErrTower)
	}
	n := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	// Each floor holds at least two length fields and a protocol byte.
	if n > MaxFloors || n*5 > len(b) {
		return nil, fmt.Errorf("%w: %d floors in %d bytes", ErrTower, n, len(b))
	}
	t := &Tower{Floors: make([]Floor, 0, n)}
	for i := range n {
		var f Floor
		var lhs []byte
		var err error
		if lhs, b, err = lenPrefixed(b); err != nil || len(lhs) < 1 {
			return nil, fmt.Errorf("%w: floor %d lhs", ErrTower, i+1)
		}
		f.Protocol, f.LHS = lhs[0], lhs[1:]
		if f.RHS, b, err = lenPrefixed(b); err != nil {
			return nil, fmt.Errorf("%w: floor %d rhs", ErrTower, i+1)
		}
		t.Floors = append(t.Floors, f)
	}
	if len(t.Floors) < 3 {
		return nil, fmt.Errorf("%w: %d floors, want at least 3", ErrTower, len(t.Floors))
	}
	var err error
	if t.Interface, err = syntaxFloor(t.Floors[0]); err != nil {
		return nil, fmt.Errorf("%w: floor 1: %v", ErrTower, err)
	}
	if t.Transfer, err = syntaxFloor(t.Floors[1]); err != nil {
		return nil, fmt.Errorf("%w: floor 2: %v", ErrTower, err)
	}
	t.describe()
	return t, nil
}

func lenPrefixed(b []byte) (data, rest []byte, err error) {
	if len(b) < 2 {
		return nil, nil, ErrTower
	}
	n := int(binary.LittleEndian.Uint16(b))
	if n > len(b)-2 {
		return nil, nil, ErrTower
	}
	return b[2 : 2+n], b[2+n:], nil
}

// syntaxFloor reads a UUID floor: identifier, UUID, major version on the
// left; minor version on the right.
func syntaxFloor(f Floor) (dcerpc.SyntaxID, error) {
	var s dcerpc.SyntaxID
	if f.Protocol != ProtoUUID || len(f.LHS) != 18 || len(f.RHS) != 2 {
		return s, fmt.Errorf("not a UUID floor (protocol 0x%02x, %d+%d bytes)", f.Protocol, len(f.LHS), len(f.RHS))
	}
	copy(s.UUID[:], f.LHS[:16])
	s.Major = binary.LittleEndian.Uint16(f.LHS[16:])
	s.Minor = binary.LittleEndian.Uint16(f.RHS)
	return s, nil
}

// describe names the protocol sequence and reads the endpoint and host
// from floors 3 and up, as [MS-RPCE] 2.2.1.1 lays them out per sequence.
func (t *Tower) describe() {
	fl := t.Floors[2:]
	proto := func(i int) uint8 {
		if i < len(fl) {
			return fl[i].Protocol
		}
		return 0
	}
	rhs := func(i int) []byte {
		if i < len(fl) {
			return fl[i].RHS
		}
		return nil
	}
	switch {
	case proto(0) == ProtoNCACN && proto(1) == ProtoTCP:
		t.Protocol, t.Endpoint, t.Host = "ncacn_ip_tcp", port(rhs(1)), ip(rhs(2))
	case proto(0) == ProtoNCADG && proto(1) == ProtoUDP:
		t.Protocol, t.Endpoint, t.Host = "ncadg_ip_udp", port(rhs(1)), ip(rhs(2))
	case proto(0) == ProtoNCACN && proto(1) == ProtoHTTP:
		t.Protocol, t.Endpoint, t.Host = "ncacn_http", port(rhs(1)), ip(rhs(2))
	case proto(0) == ProtoNCACN && proto(1) == ProtoSMB:
		t.Protocol, t.Endpoint, t.Host = "ncacn_np", cstring(rhs(1)), cstring(rhs(2))
	case proto(0) == ProtoNCACN && proto(1) == ProtoNetBIOS:
		t.Protocol, t.Endpoint, t.Host = "ncacn_nb_tcp", cstring(rhs(1)), cstring(rhs(2))
	case proto(0) == ProtoNCALRPC && proto(1) == ProtoNamedPipe:
		t.Protocol, t.Endpoint = "ncalrpc", cstring(rhs(1))
	case proto(0) == ProtoNCACN && proto(1) == ProtoUnixDS:
		t.Protocol, t.Endpoint = "ncacn_unix_stream", cstring(rhs(1))
	}
}

// port reads a big-endian port number (C706 appendix I: network order).
func port(b []byte) string {
	if len(b) != 2 {
		return ""
	}
	return fmt.Sprint(binary.BigEndian.Uint16(b))
}

func ip(b []byte) string {
	if len(b) != 4 {
		return ""
	}
	return netip.AddrFrom4([4]byte(b)).String()
}

// cstring reads a NUL-terminated ASCII string, keeping printable bytes only
// (it ends up in reports).
func cstring(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return printable(b)
}

func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

// Binding returns the tower as a string binding the way Samba prints one
// ("ncacn_ip_tcp:0.0.0.0[49153,abstract_syntax=UUID/0xVERSION]"): the
// version is major | minor<<16.
func (t *Tower) Binding() string {
	proto := t.Protocol
	if proto == "" {
		proto = "unknown"
	}
	v := uint32(t.Interface.Major) | uint32(t.Interface.Minor)<<16
	return fmt.Sprintf("%s:%s[%s,abstract_syntax=%s/0x%08x]", proto, t.Host, t.Endpoint, t.Interface.UUID, v)
}

// MarshalTower encodes the five-floor tower of ncacn_ip_tcp for an
// interface with NDR 2.0, port and address zero: the map_tower of ept_map.
func MarshalTower(iface dcerpc.SyntaxID) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 5)
	floor := func(lhs, rhs []byte) {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(lhs)))
		b = append(b, lhs...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(rhs)))
		b = append(b, rhs...)
	}
	syntax := func(s dcerpc.SyntaxID) {
		lhs := append([]byte{ProtoUUID}, s.UUID[:]...)
		lhs = binary.LittleEndian.AppendUint16(lhs, s.Major)
		floor(lhs, binary.LittleEndian.AppendUint16(nil, s.Minor))
	}
	syntax(iface)
	syntax(dcerpc.NDR20)
	floor([]byte{ProtoNCACN}, []byte{0, 0})
	floor([]byte{ProtoTCP}, []byte{0, 0})
	floor([]byte{ProtoIP}, []byte{0, 0, 0, 0})
	return b
}
