package pcap

import (
	"fmt"
	"net/netip"
)

// Limits bound what a capture can make the reader hold. The defaults are
// DefaultLimits; a zero field takes its default.
type Limits struct {
	// MaxConns is how many TCP connections are followed at once; a
	// connection ends (and frees its slot) at FIN from both sides or RST.
	MaxConns int `json:"max_connections"`
	// MaxPending is the out-of-order data held for one direction of one
	// connection, waiting for a gap to fill; MaxPendingSegs the segments.
	MaxPending     int `json:"max_out_of_order_bytes"`
	MaxPendingSegs int `json:"max_out_of_order_segments"`
	// MaxBuffered is all bytes held across connections: out-of-order
	// data and partial NBSS frames or DCE/RPC fragments.
	MaxBuffered int `json:"max_buffered_bytes"`
	// MaxFrame is the largest NBSS frame decoded; a larger one is skipped
	// (its bytes are counted, not held) and listed as not decoded.
	MaxFrame int `json:"max_frame_bytes"`
	// MaxCallBytes is the largest DCE/RPC request or response stub
	// reassembled from fragments.
	MaxCallBytes int `json:"max_call_bytes"`
	// MaxRecords bounds the list of messages and of undecoded items kept
	// for the report; later ones are counted only.
	MaxRecords int `json:"max_records"`
}

// DefaultLimits: 4096 connections; 1 MiB and 1024 segments out of order
// per direction; 64 MiB buffered in all; frames up to 1 MiB (SMB2 pipe
// reads and transceives stay under 64 KiB; larger frames are file data);
// DCE/RPC stubs up to 4 MiB, as the scanner's client allows; 100,000
// records.
var DefaultLimits = Limits{
	MaxConns:       4096,
	MaxPending:     1 << 20,
	MaxPendingSegs: 1024,
	MaxBuffered:    64 << 20,
	MaxFrame:       1 << 20,
	MaxCallBytes:   4 << 20,
	MaxRecords:     100000,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxConns > 0 {
		d.MaxConns = l.MaxConns
	}
	if l.MaxPending > 0 {
		d.MaxPending = l.MaxPending
	}
	if l.MaxPendingSegs > 0 {
		d.MaxPendingSegs = l.MaxPendingSegs
	}
	if l.MaxBuffered > 0 {
		d.MaxBuffered = l.MaxBuffered
	}
	if l.MaxFrame > 0 {
		d.MaxFrame = l.MaxFrame
	}
	if l.MaxCallBytes > 0 {
		d.MaxCallBytes = l.MaxCallBytes
	}
	if l.MaxRecords > 0 {
		d.MaxRecords = l.MaxRecords
	}
	return d
}

// budget is the shared MaxBuffered account.
type budget struct {
	used, max, peak int
}

func (b *budget) take(n int) bool {
	if n < 0 || b.used+n > b.max {
		return false
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true
}

func (b *budget) give(n int) { b.used -= n }

// sink receives one direction's bytes in order. data's slice is only
// valid during the call. gap says bytes are missing; nothing more of this
// direction will be delivered.
type sink interface {
	data(frame int, b []byte)
	gap(frame int, why string)
}

type pendingSeg struct {
	seq   uint32
	frame int
	data  []byte
}

// half is one direction of a TCP connection (RFC 9293 sequence space).
type half struct {
	started bool
	next    uint32 // next sequence number to deliver
	pending []pendingSeg
	bytes   int
	lost    bool
	fin     bool
	sink    sink
}

// seqDiff is a-b in sequence space (RFC 9293 3.4: modular comparison).
func seqDiff(a, b uint32) int64 { return int64(int32(a - b)) }

// assembler follows TCP connections.
type assembler struct {
	lim     Limits
	buf     *budget
	conns   map[connKey]*tcpConn
	newConn func(client, server netip.AddrPort, frame int) *tcpConn
	stats   *Stats
}

type connKey struct{ a, b netip.AddrPort }

func keyOf(s, d netip.AddrPort) connKey {
	if s.Addr().Less(d.Addr()) || (s.Addr() == d.Addr() && s.Port() < d.Port()) {
		return connKey{s, d}
	}
	return connKey{d, s}
}

// tcpConn is a followed connection: the client's half (toServer) and the
// server's (toClient), and who is who.
type tcpConn struct {
	client, server netip.AddrPort
	toServer       half
	toClient       half
	closer         func()
}

// wellKnown are server ports: a side holding one is the server when the
// capture missed the SYN.
func wellKnown(p uint16) bool { return p == 445 || p == 139 || p == 135 }

func (a *assembler) add(frame int, s segment) {
	k := keyOf(s.src, s.dst)
	c := a.conns[k]
	syn := s.flags&tcpSYN != 0 && s.flags&tcpACK == 0
	if c != nil && syn && s.src == c.client && c.toServer.started && seqDiff(s.seq+1, c.toServer.next) != 0 {
		// A new connection on a reused port pair.
		a.finish(k, c, frame)
		c = nil
	}
	if c == nil {
		if s.flags&tcpRST != 0 || (len(s.payload) == 0 && !syn) {
			return
		}
		client, server := s.src, s.dst
		if !syn && (wellKnown(s.src.Port()) && !wellKnown(s.dst.Port()) || s.flags&(tcpSYN|tcpACK) == tcpSYN|tcpACK) {
			client, server = s.dst, s.src
		}
		if len(a.conns) >= a.lim.MaxConns {
			a.stats.ConnsDropped++
			return
		}
		c = a.newConn(client, server, frame)
		if c == nil {
			return
		}
		a.conns[k] = c
		a.stats.Conns++
	}
	h := &c.toServer
	if s.src != c.client {
		h = &c.toClient
	}
	if s.flags&tcpSYN != 0 {
		h.started, h.next = true, s.seq+1
		h.dropPending(a.buf)
	}
	if len(s.payload) > 0 && !h.lost {
		seq := s.seq
		if s.flags&tcpSYN != 0 {
			seq++
		}
		if !h.started {
			// Picked up mid-stream: the first byte seen is the start.
			h.started, h.next = true, seq
		}
		a.segment(h, frame, seq, s.payload)
	}
	if s.flags&tcpFIN != 0 {
		h.fin = true
	}
	if s.flags&tcpRST != 0 || (c.toServer.fin && c.toClient.fin) {
		a.finish(k, c, frame)
	}
}

// segment delivers in-order data and holds out-of-order data within the
// caps. Overlaps keep the bytes that arrived first (RFC 9293 leaves the
// choice open; first-wins is what a receiver that already delivered them
// has done).
func (a *assembler) segment(h *half, frame int, seq uint32, data []byte) {
	d := seqDiff(seq, h.next)
	if d <= 0 {
		if -d >= int64(len(data)) {
			return // retransmission of delivered bytes
		}
		data = data[-d:]
		h.next += uint32(len(data))
		h.sink.data(frame, data)
		a.drain(h, frame)
		return
	}
	if d > int64(a.lim.MaxPending) {
		a.lose(h, frame, fmt.Sprintf("segment %d bytes ahead of the next expected byte", d))
		return
	}
	if len(h.pending) >= a.lim.MaxPendingSegs || h.bytes+len(data) > a.lim.MaxPending || !a.buf.take(len(data)) {
		a.lose(h, frame, "out-of-order data over the cap")
		return
	}
	h.pending = append(h.pending, pendingSeg{seq: seq, frame: frame, data: append([]byte(nil), data...)})
	h.bytes += len(data)
}

// drain delivers held segments that have become contiguous.
func (a *assembler) drain(h *half, frame int) {
	for progress := true; progress && len(h.pending) > 0 && !h.lost; {
		progress = false
		for i := 0; i < len(h.pending); i++ {
			p := h.pending[i]
			d := seqDiff(p.seq, h.next)
			if d > 0 {
				continue
			}
			h.pending = append(h.pending[:i], h.pending[i+1:]...)
			h.bytes -= len(p.data)
			a.buf.give(len(p.data))
			i--
			if -d < int64(len(p.data)) {
				rest := p.data[-d:]
				h.next += uint32(len(rest))
				h.sink.data(max(frame, p.frame), rest)
				progress = true
			}
		}
	}
}

func (h *half) dropPending(b *budget) {
	b.give(h.bytes)
	h.pending, h.bytes = nil, 0
}

func (a *assembler) lose(h *half, frame int, why string) {
	if h.lost {
		return
	}
	h.lost = true
	h.dropPending(a.buf)
	a.stats.Gaps++
	h.sink.gap(frame, why)
}

// finish ends a connection: held data that never became contiguous is a
// gap.
func (a *assembler) finish(k connKey, c *tcpConn, frame int) {
	for _, h := range []*half{&c.toServer, &c.toClient} {
		if len(h.pending) > 0 {
			a.lose(h, frame, "bytes missing before the connection ended")
		}
		h.dropPending(a.buf)
	}
	if c.closer != nil {
		c.closer()
	}
	delete(a.conns, k)
}

// finishAll ends every connection at the end of the capture.
func (a *assembler) finishAll(frame int) {
	for k, c := range a.conns {
		a.finish(k, c, frame)
	}
}
