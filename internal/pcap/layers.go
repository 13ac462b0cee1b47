package pcap

import (
	"encoding/binary"
	"net/netip"
)

// segment is one TCP segment taken out of a packet.
type segment struct {
	src, dst netip.AddrPort
	seq      uint32
	flags    uint8
	payload  []byte
	udp      bool
}

// TCP flags (RFC 9293 3.1).
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// skipReason says why a packet carries no TCP segment we follow; "" when
// it does.
type skipReason string

const (
	skipLink     skipReason = "link type not read"
	skipNotIP    skipReason = "not IP"
	skipNotTCP   skipReason = "not TCP"
	skipFragment skipReason = "IP fragment"
	skipShort    skipReason = "truncated header"
)

// parseSegment walks link layer, IPv4 or IPv6, and TCP (RFC 791, RFC 8200,
// RFC 9293). Lengths come from the headers and are checked against the
// bytes captured; a snapped payload is cut to what was captured.
func parseSegment(link uint32, b []byte) (segment, skipReason) {
	var ethType uint16
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return segment{}, skipShort
		}
		ethType = binary.BigEndian.Uint16(b[12:])
		b = b[14:]
		for ethType == 0x8100 || ethType == 0x88a8 { // 802.1Q / 802.1ad tags
			if len(b) < 4 {
				return segment{}, skipShort
			}
			ethType = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		}
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return segment{}, skipShort
		}
		// The address family is in the writer's byte order (NULL) or
		// network order (LOOP); AF_INET is 2 everywhere, AF_INET6 varies.
		fam := binary.LittleEndian.Uint32(b)
		if link == LinkLoop || fam > 0xffff {
			fam = binary.BigEndian.Uint32(b)
		}
		switch fam {
		case 2:
			ethType = 0x0800
		case 10, 24, 28, 30:
			ethType = 0x86dd
		}
		b = b[4:]
	case LinkSLL:
		if len(b) < 16 {
			return segment{}, skipShort
		}
		ethType = binary.BigEndian.Uint16(b[14:])
		b = b[16:]
	case LinkSLL2:
		if len(b) < 20 {
			return segment{}, skipShort
		}
		ethType = binary.BigEndian.Uint16(b[0:])
		b = b[20:]
	case LinkRaw, linkRawAlt, LinkIPv4, LinkIPv6:
		if len(b) < 1 {
			return segment{}, skipShort
		}
		switch b[0] >> 4 {
		case 4:
			ethType = 0x0800
		case 6:
			ethType = 0x86dd
		}
	default:
		return segment{}, skipLink
	}
	var src, dst netip.Addr
	var proto uint8
	switch ethType {
	case 0x0800:
		if len(b) < 20 || b[0]>>4 != 4 {
			return segment{}, skipShort
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || len(b) < ihl {
			return segment{}, skipShort
		}
		// total 0 is what TSO-offloaded captures show; take what is there.
		if total >= ihl && total < len(b) {
			b = b[:total] // Ethernet padding
		}
		if frag := binary.BigEndian.Uint16(b[6:]); frag&0x3fff != 0 {
			return segment{}, skipFragment
		}
		if b[9] != 6 && b[9] != 17 {
			return segment{}, skipNotTCP
		}
		proto = b[9]
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		b = b[ihl:]
	case 0x86dd:
		if len(b) < 40 || b[0]>>4 != 6 {
			return segment{}, skipShort
		}
		plen := int(binary.BigEndian.Uint16(b[4:]))
		next := b[6]
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		b = b[40:]
		if plen != 0 && plen < len(b) {
			b = b[:plen]
		}
		for hops := 0; next != 6 && next != 17; hops++ {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(b) < 8 || hops > 8 {
					return segment{}, skipShort
				}
				n := (int(b[1]) + 1) * 8
				if n > len(b) {
					return segment{}, skipShort
				}
				next, b = b[0], b[n:]
			case 44:
				return segment{}, skipFragment
			default:
				return segment{}, skipNotTCP
			}
		}
		proto = next
	default:
		return segment{}, skipNotIP
	}
	if proto == 17 {
		// UDP (RFC 768): NetBIOS name and datagram services.
		if len(b) < 8 {
			return segment{}, skipShort
		}
		n := int(binary.BigEndian.Uint16(b[4:]))
		if n >= 8 && n < len(b) {
			b = b[:n]
		}
		return segment{
			src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b[0:])),
			dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
			payload: b[8:],
			udp:     true,
		}, ""
	}
	if len(b) < 20 {
		return segment{}, skipShort
	}
	off := int(b[12]>>4) * 4
	if off < 20 || off > len(b) {
		return segment{}, skipShort
	}
	return segment{
		src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b[0:])),
		dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
		seq:     binary.BigEndian.Uint32(b[4:]),
		flags:   b[13],
		payload: b[off:],
	}, ""
}
