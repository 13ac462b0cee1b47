// Package pcap reads recorded traffic (pcap and pcapng files), reassembles
// its TCP streams within fixed budgets, follows NetBIOS session framing,
// SMB1, SMB2/3, named pipes and DCE/RPC over pipes and TCP, and decodes
// each request and reply with the same packages the scanner uses. Its
// Report says, per client → server conversation, who logged on, which
// pipes and calls ran, and what the server disclosed.
//
// A capture is hostile input: every length in it is checked against the
// caps below before anything is allocated.
package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Caps on the file formats. A packet longer than MaxPacket is refused:
// link-layer frames with TCP segments (even with TSO/GRO on loopback) stay
// under 64 KiB plus headers, and snap lengths are at most 262144 in
// libpcap. A pcapng block that is not a packet is skipped without being
// held in memory, but never one longer than MaxBlock.
const (
	MaxPacket = 262144
	MaxBlock  = 16 << 20
)

// Link types (www.tcpdump.org/linktypes.html).
const (
	LinkNull     = 0
	LinkEthernet = 1
	LinkRaw      = 101
	LinkLoop     = 108
	LinkSLL      = 113
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276
	linkRawAlt   = 12 // DLT_RAW on some BSDs
)

// Errors of the file formats.
var (
	ErrFormat   = errors.New("pcap: not a pcap or pcapng file")
	ErrTooLarge = errors.New("pcap: record exceeds the cap")
	ErrCorrupt  = errors.New("pcap: corrupt record")
)

// Packet is one captured frame. Frame counts packets from 1 in file order,
// as tshark's frame.number does. Data aliases the reader's buffer until
// the next call to Next.
type Packet struct {
	Frame    int
	Time     time.Time
	LinkType uint32
	Data     []byte
	OrigLen  int
}

// Reader reads packets from a pcap or pcapng stream.
type Reader struct {
	r     io.Reader
	ng    bool
	order binary.ByteOrder
	frame int
	buf   []byte

	// pcap
	link uint32
	nano bool

	// pcapng: interfaces of the current section
	ifaces []iface
}

type iface struct {
	link  uint32
	tsDiv uint64 // ticks per second
}

// NewReader reads the file header and returns a reader positioned at the
// first packet.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: r}
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	le := binary.LittleEndian.Uint32(magic[:])
	switch le {
	case 0xa1b2c3d4, 0xa1b23c4d:
		rd.order, rd.nano = binary.LittleEndian, le == 0xa1b23c4d
	case 0xd4c3b2a1, 0x4d3cb2a1:
		rd.order, rd.nano = binary.BigEndian, le == 0x4d3cb2a1
	case 0x0a0d0d0a:
		rd.ng = true
		if err := rd.section(magic); err != nil {
			return nil, err
		}
		return rd, nil
	default:
		return nil, ErrFormat
	}
	var h [20]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	// The FCS bits live in the high bits of the link type field.
	rd.link = rd.order.Uint32(h[16:]) & 0x0fffffff
	return rd, nil
}

// Next returns the next packet, io.EOF at the end. A truncated last record
// is io.ErrUnexpectedEOF.
func (rd *Reader) Next() (Packet, error) {
	if rd.ng {
		return rd.nextNG()
	}
	var h [16]byte
	if _, err := io.ReadFull(rd.r, h[:]); err != nil {
		return Packet{}, err
	}
	sec, frac := rd.order.Uint32(h[0:]), rd.order.Uint32(h[4:])
	incl, orig := rd.order.Uint32(h[8:]), rd.order.Uint32(h[12:])
	if incl > MaxPacket {
		return Packet{}, fmt.Errorf("%w: packet of %d bytes", ErrTooLarge, incl)
	}
	data, err := rd.read(int(incl))
	if err != nil {
		return Packet{}, noEOF(err)
	}
	ns := int64(frac) * 1000
	if rd.nano {
		ns = int64(frac)
	}
	rd.frame++
	return Packet{Frame: rd.frame, Time: time.Unix(int64(sec), ns).UTC(), LinkType: rd.link, Data: data, OrigLen: int(min(orig, MaxBlock))}, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// read fills the reusable buffer with n bytes; n is already capped.
func (rd *Reader) read(n int) ([]byte, error) {
	if cap(rd.buf) < n {
		rd.buf = make([]byte, n)
	}
	b := rd.buf[:n]
	if _, err := io.ReadFull(rd.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// pcapng block types (draft-ietf-opsawg-pcapng 4).
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 1
	blockOPB = 2
	blockSPB = 3
	blockEPB = 6
)

// section reads a Section Header Block whose type was already read.
func (rd *Reader) section(typ [4]byte) error {
	var h [8]byte // total length, byte-order magic
	if _, err := io.ReadFull(rd.r, h[:]); err != nil {
		return fmt.Errorf("%w: section header: %w", ErrFormat, noEOF(err))
	}
	switch binary.LittleEndian.Uint32(h[4:]) {
	case 0x1a2b3c4d:
		rd.order = binary.LittleEndian
	case 0x4d3c2b1a:
		rd.order = binary.BigEndian
	default:
		return fmt.Errorf("%w: byte-order magic % x", ErrFormat, h[4:])
	}
	total := rd.order.Uint32(h[0:])
	if total < 28 || total%4 != 0 || total > MaxBlock {
		return fmt.Errorf("%w: section header length %d", ErrCorrupt, total)
	}
	rd.ifaces = rd.ifaces[:0]
	// The rest (version, section length, options, trailer) is skipped.
	if _, err := io.CopyN(io.Discard, rd.r, int64(total)-12); err != nil {
		return fmt.Errorf("%w: section header: %w", ErrCorrupt, noEOF(err))
	}
	return nil
}

func (rd *Reader) nextNG() (Packet, error) {
	for {
		var h [8]byte
		if _, err := io.ReadFull(rd.r, h[:4]); err != nil {
			return Packet{}, err
		}
		if binary.LittleEndian.Uint32(h[:4]) == blockSHB {
			if err := rd.section([4]byte(h[:4])); err != nil {
				return Packet{}, err
			}
			continue
		}
		if _, err := io.ReadFull(rd.r, h[4:]); err != nil {
			return Packet{}, noEOF(err)
		}
		typ, total := rd.order.Uint32(h[0:]), rd.order.Uint32(h[4:])
		if total < 12 || total%4 != 0 {
			return Packet{}, fmt.Errorf("%w: block length %d", ErrCorrupt, total)
		}
		if total > MaxBlock {
			return Packet{}, fmt.Errorf("%w: block of %d bytes", ErrTooLarge, total)
		}
		body := int(total) - 12 // without type, length and trailing length
		switch typ {
		case blockIDB, blockEPB, blockSPB, blockOPB:
		default:
			if _, err := io.CopyN(io.Discard, rd.r, int64(body)+4); err != nil {
				return Packet{}, noEOF(err)
			}
			continue
		}
		if body > MaxPacket+4096 {
			return Packet{}, fmt.Errorf("%w: block of %d bytes", ErrTooLarge, total)
		}
		b, err := rd.read(body + 4)
		if err != nil {
			return Packet{}, noEOF(err)
		}
		if rd.order.Uint32(b[body:]) != total {
			return Packet{}, fmt.Errorf("%w: trailing block length", ErrCorrupt)
		}
		b = b[:body]
		if typ == blockIDB {
			if err := rd.addIface(b); err != nil {
				return Packet{}, err
			}
			continue
		}
		return rd.packetNG(typ, b)
	}
}

// addIface reads an Interface Description Block: link type, snap length
// and the if_tsresol option.
func (rd *Reader) addIface(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: interface block", ErrCorrupt)
	}
	if len(rd.ifaces) >= 1024 {
		return fmt.Errorf("%w: more than 1024 interfaces", ErrTooLarge)
	}
	ifc := iface{link: uint32(rd.order.Uint16(b[0:])), tsDiv: 1_000_000}
	opts := b[8:]
	for len(opts) >= 4 {
		code, n := rd.order.Uint16(opts[0:]), int(rd.order.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		if code == 9 && n >= 1 { // if_tsresol
			v := opts[4]
			exp := uint64(v & 0x7f)
			if v&0x80 != 0 {
				if exp < 63 {
					ifc.tsDiv = 1 << exp
				}
			} else if exp <= 18 {
				ifc.tsDiv = 1
				for range exp {
					ifc.tsDiv *= 10
				}
			}
		}
		opts = opts[4+(n+3)&^3:]
	}
	rd.ifaces = append(rd.ifaces, ifc)
	return nil
}

func (rd *Reader) packetNG(typ uint32, b []byte) (Packet, error) {
	var ifID uint32
	var ts uint64
	var data []byte
	orig := 0
	switch typ {
	case blockSPB:
		if len(b) < 4 {
			return Packet{}, fmt.Errorf("%w: simple packet block", ErrCorrupt)
		}
		orig = int(min(rd.order.Uint32(b), MaxBlock))
		data = b[4:]
		if orig < len(data) {
			data = data[:orig]
		}
	default: // EPB, and OPB with a 16-bit interface id and drops count
		if len(b) < 20 {
			return Packet{}, fmt.Errorf("%w: packet block", ErrCorrupt)
		}
		if typ == blockOPB {
			ifID = uint32(rd.order.Uint16(b[0:]))
		} else {
			ifID = rd.order.Uint32(b[0:])
		}
		ts = uint64(rd.order.Uint32(b[4:]))<<32 | uint64(rd.order.Uint32(b[8:]))
		capLen := rd.order.Uint32(b[12:])
		orig = int(min(rd.order.Uint32(b[16:]), MaxBlock))
		if uint64(capLen) > uint64(len(b)-20) {
			return Packet{}, fmt.Errorf("%w: captured length %d in a block of %d", ErrCorrupt, capLen, len(b))
		}
		data = b[20 : 20+capLen]
	}
	if int(ifID) >= len(rd.ifaces) {
		return Packet{}, fmt.Errorf("%w: packet on undeclared interface %d", ErrCorrupt, ifID)
	}
	ifc := rd.ifaces[ifID]
	sec := ts / ifc.tsDiv
	// The product stays below 2^63 while the resolution is under 2^33
	// ticks a second; finer ones are divided down first.
	rem := ts % ifc.tsDiv
	var ns uint64
	if ifc.tsDiv < 1<<33 {
		ns = rem * 1_000_000_000 / ifc.tsDiv
	} else {
		ns = rem / (ifc.tsDiv / 1_000_000_000)
	}
	rd.frame++
	t := time.Time{}
	if sec < 1<<40 {
		t = time.Unix(int64(sec), int64(ns)).UTC()
	}
	return Packet{Frame: rd.frame, Time: t, LinkType: ifc.link, Data: data, OrigLen: orig}, nil
}
