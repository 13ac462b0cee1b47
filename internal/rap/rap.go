// Package rap implements the Remote Administration Protocol calls
// ([MS-RAP]) a null-session audit uses over \PIPE\LANMAN on SMB1:
// NetServerEnum2 (browse list and domain list), NetShareEnum and
// NetServerGetInfo. Replies are decoded with every entry count and string
// pointer checked against the data received.
package rap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/text/encoding/charmap"

	"github.com/nullsweep/nullsweep/internal/smb1"
)

// Transport runs one RAP call: an SMB1 TRANSACTION on \PIPE\LANMAN with
// params, returning the reply parameters and data. The SMB1 tree of IPC$
// (internal/smb) implements it.
type Transport interface {
	Lanman(ctx context.Context, params []byte, maxParam, maxData int) (rparams, rdata []byte, err error)
}

// Opcodes ([MS-RAP] 2.5.1).
const (
	opNetShareEnum     = 0
	opNetServerGetInfo = 13
	OpNetServerEnum2   = 104
)

// Server type bits ([MS-RAP] 2.5.5.2.1, the SV_TYPE_* values).
const (
	SVTypeWorkstation      uint32 = 0x00000001
	SVTypeServer           uint32 = 0x00000002
	SVTypeSQLServer        uint32 = 0x00000004
	SVTypeDomainCtrl       uint32 = 0x00000008
	SVTypeDomainBakCtrl    uint32 = 0x00000010
	SVTypeTimeSource       uint32 = 0x00000020
	SVTypeAFP              uint32 = 0x00000040
	SVTypeNovell           uint32 = 0x00000080
	SVTypeDomainMember     uint32 = 0x00000100
	SVTypePrintQServer     uint32 = 0x00000200
	SVTypeDialinServer     uint32 = 0x00000400
	SVTypeServerUnix       uint32 = 0x00000800
	SVTypeNT               uint32 = 0x00001000
	SVTypeWFW              uint32 = 0x00002000
	SVTypeServerNT         uint32 = 0x00008000
	SVTypePotentialBrowser uint32 = 0x00010000
	SVTypeBackupBrowser    uint32 = 0x00020000
	SVTypeMasterBrowser    uint32 = 0x00040000
	SVTypeDomainMaster     uint32 = 0x00080000
	SVTypeWindows          uint32 = 0x00400000
	SVTypeLocalListOnly    uint32 = 0x40000000
	SVTypeDomainEnum       uint32 = 0x80000000
	SVTypeAll              uint32 = 0xFFFFFFFF
)

var typeNames = []struct {
	bit  uint32
	name string
}{
	{SVTypeWorkstation, "workstation"}, {SVTypeServer, "server"}, {SVTypeSQLServer, "sql_server"},
	{SVTypeDomainCtrl, "domain_controller"}, {SVTypeDomainBakCtrl, "backup_domain_controller"},
	{SVTypeTimeSource, "time_source"}, {SVTypeAFP, "afp"}, {SVTypeNovell, "novell"},
	{SVTypeDomainMember, "domain_member"}, {SVTypePrintQServer, "print_queue_server"},
	{SVTypeDialinServer, "dialin_server"}, {SVTypeServerUnix, "unix"}, {SVTypeNT, "nt_workstation"},
	{SVTypeWFW, "wfw"}, {SVTypeServerNT, "nt_server"}, {SVTypePotentialBrowser, "potential_browser"},
	{SVTypeBackupBrowser, "backup_browser"}, {SVTypeMasterBrowser, "master_browser"},
	{SVTypeDomainMaster, "domain_master_browser"}, {SVTypeWindows, "windows"},
	{SVTypeLocalListOnly, "local_list_only"}, {SVTypeDomainEnum, "domain_enum"},
}

// TypeNames lists the names of the bits set in t.
func TypeNames(t uint32) []string {
	var out []string
	for _, n := range typeNames {
		if t&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Status codes a RAP reply carries (Win32 / NERR).
const (
	StatusSuccess      = 0
	StatusAccessDenied = 5
	StatusMoreData     = 234
)

// Error is a non-zero RAP status.
type Error struct {
	Op     string
	Status uint16
}

func (e *Error) Error() string {
	name := ""
	switch e.Status {
	case StatusAccessDenied:
		name = " (ERROR_ACCESS_DENIED)"
	case 50:
		name = " (ERROR_NOT_SUPPORTED)"
	case 2114:
		name = " (NERR_ServerNotStarted)"
	case 2184:
		name = " (NERR_BrowserTableIncomplete)"
	case 6118:
		name = " (ERROR_NO_BROWSER_SERVERS_FOUND)"
	}
	return fmt.Sprintf("rap: %s: status %d%s", e.Op, e.Status, name)
}

// ErrShort is returned when a reply ends before what it announces.
var ErrShort = errors.New("rap: reply truncated")

// bufSize is the receive buffer we offer: the largest a 16-bit field holds,
// rounded down as Windows clients do.
const bufSize = 0xFFE0

func request(op uint16, paramDesc, dataDesc string, level uint16) []byte {
	b := binary.LittleEndian.AppendUint16(nil, op)
	b = append(b, paramDesc...)
	b = append(b, 0)
	b = append(b, dataDesc...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint16(b, level)
	return binary.LittleEndian.AppendUint16(b, bufSize)
}

// ShareInfo1 is a share_info_1 entry ([MS-RAP] 2.5.6.2).
type ShareInfo1 struct {
	Name   string `json:"name"`
	Type   uint16 `json:"type"` // 0 disk, 1 print queue, 2 device, 3 IPC
	Remark string `json:"remark"`
}

// NetShareEnum lists the shares at level 1.
func NetShareEnum(ctx context.Context, t Transport) ([]ShareInfo1, error) {
	p, d, err := t.Lanman(ctx, request(opNetShareEnum, "WrLeh", "B13BWz", 1), 8, bufSize)
	if err != nil {
		return nil, fmt.Errorf("rap: NetShareEnum: %w", err)
	}
	return ParseShareEnum(p, d)
}

// ParseShareEnum decodes a NetShareEnum level 1 reply. A partial reply
// (ERROR_MORE_DATA) gives the entries received and the *Error.
func ParseShareEnum(params, data []byte) ([]ShareInfo1, error) {
	const entry = 20
	n, conv, serr := enumHeader("NetShareEnum", params)
	if n < 0 {
		return nil, serr
	}
	if n > len(data)/entry {
		return nil, fmt.Errorf("rap: NetShareEnum: %d entries in %d bytes: %w", n, len(data), ErrShort)
	}
	out := make([]ShareInfo1, 0, n)
	st := newStrings(data, conv)
	for i := 0; i < n; i++ {
		e := data[i*entry:]
		out = append(out, ShareInfo1{
			Name:   fixedString(e[:13]),
			Type:   binary.LittleEndian.Uint16(e[14:]),
			Remark: st.at(binary.LittleEndian.Uint32(e[16:])),
		})
	}
	if st.err != nil {
		return nil, fmt.Errorf("rap: NetShareEnum: %w", st.err)
	}
	return out, serr
}

// ServerInfo1 is a server_info_1 entry ([MS-RAP] 2.5.5.2.2). For a
// domain list (SVTypeDomainEnum) Name is the domain and Comment its master
// browser.
type ServerInfo1 struct {
	Name         string `json:"name"`
	VersionMajor uint8  `json:"version_major"`
	VersionMinor uint8  `json:"version_minor"`
	Type         uint32 `json:"type"`
	Comment      string `json:"comment"`
}

// NetServerEnum2 lists the servers of type serverType (SVTypeAll, or
// SVTypeDomainEnum for the domains) the browser knows in domain ("" for the
// server's own).
func NetServerEnum2(ctx context.Context, t Transport, serverType uint32, domain string) ([]ServerInfo1, error) {
	p := request(OpNetServerEnum2, "WrLehDz", "B16BBDz", 1)
	p = binary.LittleEndian.AppendUint32(p, serverType)
	p = append(p, oemBytes(domain)...)
	p = append(p, 0)
	rp, rd, err := t.Lanman(ctx, p, 8, bufSize)
	if err != nil {
		return nil, fmt.Errorf("rap: NetServerEnum2: %w", err)
	}
	return ParseServerEnum2(rp, rd)
}

// ParseServerEnum2 decodes a NetServerEnum2 level 1 reply.
func ParseServerEnum2(params, data []byte) ([]ServerInfo1, error) {
	const entry = 26
	n, conv, serr := enumHeader("NetServerEnum2", params)
	if n < 0 {
		return nil, serr
	}
	if n > len(data)/entry {
		return nil, fmt.Errorf("rap: NetServerEnum2: %d entries in %d bytes: %w", n, len(data), ErrShort)
	}
	out := make([]ServerInfo1, 0, n)
	st := newStrings(data, conv)
	for i := 0; i < n; i++ {
		out = append(out, serverInfo1(st, data[i*entry:]))
	}
	if st.err != nil {
		return nil, fmt.Errorf("rap: NetServerEnum2: %w", st.err)
	}
	return out, serr
}

func serverInfo1(st *stringTable, e []byte) ServerInfo1 {
	return ServerInfo1{
		Name:         fixedString(e[:16]),
		VersionMajor: e[16],
		VersionMinor: e[17],
		Type:         binary.LittleEndian.Uint32(e[18:]),
		Comment:      st.at(binary.LittleEndian.Uint32(e[22:])),
	}
}

// NetServerGetInfo reads the server's own server_info_1.
func NetServerGetInfo(ctx context.Context, t Transport) (*ServerInfo1, error) {
	rp, rd, err := t.Lanman(ctx, request(opNetServerGetInfo, "WrLh", "B16BBDz", 1), 6, bufSize)
	if err != nil {
		return nil, fmt.Errorf("rap: NetServerGetInfo: %w", err)
	}
	return ParseServerGetInfo(rp, rd)
}

// ParseServerGetInfo decodes a NetServerGetInfo level 1 reply.
func ParseServerGetInfo(params, data []byte) (*ServerInfo1, error) {
	if len(params) < 4 {
		return nil, fmt.Errorf("rap: NetServerGetInfo: parameters: %w", ErrShort)
	}
	if st := binary.LittleEndian.Uint16(params); st != StatusSuccess {
		return nil, &Error{Op: "NetServerGetInfo", Status: st}
	}
	if len(data) < 26 {
		return nil, fmt.Errorf("rap: NetServerGetInfo: data: %w", ErrShort)
	}
	st := newStrings(data, binary.LittleEndian.Uint16(params[2:]))
	s := serverInfo1(st, data)
	if st.err != nil {
		return nil, fmt.Errorf("rap: NetServerGetInfo: %w", st.err)
	}
	return &s, nil
}

// enumHeader reads Status, Converter, EntriesReturned. n < 0 means no
// entries can be read and err says why; ERROR_MORE_DATA gives n >= 0 and
// an *Error to return with the partial list.
func enumHeader(op string, params []byte) (n int, conv uint16, err error) {
	if len(params) < 6 {
		return -1, 0, fmt.Errorf("rap: %s: parameters: %w", op, ErrShort)
	}
	st := binary.LittleEndian.Uint16(params)
	conv = binary.LittleEndian.Uint16(params[2:])
	n = int(binary.LittleEndian.Uint16(params[4:]))
	switch st {
	case StatusSuccess:
		return n, conv, nil
	case StatusMoreData:
		return n, conv, &Error{Op: op, Status: st}
	}
	return -1, 0, &Error{Op: op, Status: st}
}

// fixedString decodes a NUL-padded OEM field.
func fixedString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return smb1.OEMString(b)
}

// ErrOverlap is returned when a reply's string pointers reuse bytes beyond
// what the data holds: a server packs each string once after the fixed
// entries ([MS-RAP] 2.5.11), so only a hostile one overlaps them.
var ErrOverlap = errors.New("rap: string pointers overlap beyond the data received")

// stringTable follows the string pointers of one reply. A pointer seen
// before gives the same string (shared, not decoded again); the distinct
// strings may together take no more bytes than the data holds, so entries
// pointing into each other's strings (a suffix each) cannot multiply it.
type stringTable struct {
	data []byte
	conv uint16
	seen map[int]string
	left int
	err  error
}

func newStrings(data []byte, conv uint16) *stringTable {
	return &stringTable{data: data, conv: conv, left: len(data)}
}

// at follows a RAP string pointer: its low 16 bits minus the converter give
// an offset into data ([MS-RAP] 2.5.11). A null or out-of-range pointer
// gives "".
func (t *stringTable) at(ptr uint32) string {
	if ptr == 0 || t.err != nil {
		return ""
	}
	off := int(uint16(ptr)) - int(t.conv)
	if off < 0 || off >= len(t.data) {
		return ""
	}
	if s, ok := t.seen[off]; ok {
		return s
	}
	end := off
	for end < len(t.data) && t.data[end] != 0 && end-off < 1024 {
		end++
	}
	if end-off > t.left {
		t.err = ErrOverlap
		return ""
	}
	t.left -= end - off
	s := smb1.OEMString(t.data[off:end])
	if t.seen == nil {
		t.seen = make(map[int]string)
	}
	t.seen[off] = s
	return s
}

func oemBytes(s string) []byte {
	b, err := charmap.CodePage850.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return []byte(s)
	}
	return b
}

// TransportFunc adapts a function to Transport.
type TransportFunc func(ctx context.Context, params []byte, maxParam, maxData int) ([]byte, []byte, error)

// Lanman calls f.
func (f TransportFunc) Lanman(ctx context.Context, params []byte, maxParam, maxData int) ([]byte, []byte, error) {
	return f(ctx, params, maxParam, maxData)
}
