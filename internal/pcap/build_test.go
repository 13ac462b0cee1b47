package pcap

import (
	"encoding/binary"
	"net/netip"
)

// Helpers that write captures for the tests: Ethernet, IPv4 and TCP
// headers around a payload, in a classic pcap file.

type tcpPkt struct {
	src, dst string // "a.b.c.d:port"
	seq      uint32
	flags    uint8
	payload  []byte
}

func ethTCP(p tcpPkt) []byte {
	s, d := netip.MustParseAddrPort(p.src), netip.MustParseAddrPort(p.dst)
	b := make([]byte, 14, 14+20+20+len(p.payload))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+len(p.payload)))
	ip[8], ip[9] = 64, 6
	s4, d4 := s.Addr().As4(), d.Addr().As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], s.Port())
	binary.BigEndian.PutUint16(tcp[2:], d.Port())
	binary.BigEndian.PutUint32(tcp[4:], p.seq)
	tcp[12] = 5 << 4
	tcp[13] = p.flags
	b = append(b, ip...)
	b = append(b, tcp...)
	return append(b, p.payload...)
}

// pcapFile writes frames as a little-endian microsecond pcap.
func pcapFile(frames ...[]byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, LinkEthernet)
	for i, f := range frames {
		b = le.AppendUint32(b, uint32(1700000000+i))
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, uint32(len(f)))
		b = le.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// nbss frames an SMB message for direct TCP.
func nbss(msg []byte) []byte {
	n := len(msg)
	return append([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}, msg...)
}

// smb2Negotiate is a minimal SMB2 NEGOTIATE request (header and a
// 36-byte body offering 2.0.2).
func smb2Negotiate(msgID uint64) []byte {
	b := make([]byte, 64+38)
	copy(b, "\xfeSMB")
	binary.LittleEndian.PutUint16(b[4:], 64)
	binary.LittleEndian.PutUint64(b[24:], msgID)
	binary.LittleEndian.PutUint16(b[64:], 36)
	binary.LittleEndian.PutUint16(b[66:], 1)
	binary.LittleEndian.PutUint16(b[64+36:], 0x0202)
	return b
}

const (
	client = "192.0.2.10:50000"
	server = "192.0.2.20:445"
)

// smb1Msg is an SMB1 message: header, words, bytes.
func smb1Msg(cmd byte, reply bool, mid uint16, words, data []byte) []byte {
	b := make([]byte, 32)
	copy(b, "\xffSMB")
	b[4] = cmd
	if reply {
		b[9] = 0x80
	}
	binary.LittleEndian.PutUint16(b[10:], 0x4001) // NT status, long names
	binary.LittleEndian.PutUint16(b[26:], 100)    // PID
	binary.LittleEndian.PutUint16(b[30:], mid)
	b = append(b, byte(len(words)/2))
	b = append(b, words...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}
