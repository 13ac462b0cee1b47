package hostile

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

// NBNS is a UDP responder on port 137 of a loopback address.
type NBNS struct {
	pc *net.UDPConn
	wg sync.WaitGroup
}

// ListenNBNS answers every datagram to addr:137 with what respond returns
// (each element one datagram).
func ListenNBNS(addr string, respond func(req []byte) [][]byte) (*NBNS, error) {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() == nil || ip.To4()[0] != 127 {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: 137})
	if err != nil {
		return nil, fmt.Errorf("hostile: nbns: %w", err)
	}
	s := &NBNS{pc: pc}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			for _, d := range respond(append([]byte(nil), buf[:n]...)) {
				pc.WriteToUDP(d, from)
			}
		}
	}()
	return s, nil
}

// Close stops the responder and waits for it.
func (s *NBNS) Close() error {
	err := s.pc.Close()
	s.wg.Wait()
	return err
}

// NBNSLies answers a node status request with a flood of datagrams for
// other transaction ids, then one for the right id that claims 255 names
// and a 64 KiB record but carries two.
func NBNSLies(req []byte) [][]byte {
	if len(req) < 12+34+4 {
		return nil
	}
	id := binary.BigEndian.Uint16(req)
	answer := func(id uint16) []byte {
		b := make([]byte, 12, 12+34+10+1+2*18)
		binary.BigEndian.PutUint16(b[0:], id)
		binary.BigEndian.PutUint16(b[2:], 0x8400) // response, authoritative
		binary.BigEndian.PutUint16(b[6:], 1)      // ANCOUNT
		b = append(b, req[12:12+34]...)           // the name asked about
		b = append(b, 0, 0x21, 0, 1)              // NBSTAT, IN
		b = append(b, 0, 0, 0, 0)                 // TTL
		b = append(b, 0xFF, 0xFF)                 // RDLENGTH: 64 KiB
		b = append(b, 255)                        // NUM_NAMES
		for range 2 {
			b = append(b, "LIAR           \x20\x04\x00"...)
		}
		return b
	}
	var out [][]byte
	for i := range 64 {
		out = append(out, answer(id+1+uint16(i)))
	}
	return append(out, answer(id))
}
