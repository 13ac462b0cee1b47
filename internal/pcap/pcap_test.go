package pcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
)

func read(t testing.TB, b []byte, lim Limits) *Report {
	t.Helper()
	rep, err := Read(context.Background(), "test.pcap", bytes.NewReader(b), lim)
	if err != nil {
		t.Fatal(err)
	}
	if rep.leftover != 0 {
		t.Fatalf("%d bytes of the budget not given back", rep.leftover)
	}
	return rep
}

// smb2Msgs lists the SMB2 message ids decoded, in order.
func smb2Msgs(rep *Report) []string {
	var out []string
	for _, m := range rep.Messages {
		if m.Layer == "smb2" {
			out = append(out, m.Fields["smb2.msg_id"][0])
		}
	}
	return out
}

func TestReassembly(t *testing.T) {
	a, b := nbss(smb2Negotiate(1)), nbss(smb2Negotiate(2))
	stream := append(append([]byte{}, a...), b...)
	syn := tcpPkt{src: client, dst: server, seq: 999, flags: tcpSYN}
	seg := func(off, n int) []byte {
		return ethTCP(tcpPkt{src: client, dst: server, seq: 1000 + uint32(off), flags: tcpACK, payload: stream[off : off+n]})
	}
	half := len(a) / 2
	tests := []struct {
		name   string
		frames [][]byte
		want   []string
		gaps   int
	}{
		{"in order", [][]byte{ethTCP(syn), seg(0, len(a)), seg(len(a), len(b))}, []string{"1", "2"}, 0},
		{"split and reversed", [][]byte{ethTCP(syn), seg(len(a), len(b)), seg(half, len(a)-half), seg(0, half)}, []string{"1", "2"}, 0},
		{"retransmitted and overlapping", [][]byte{ethTCP(syn), seg(0, half), seg(0, half), seg(half-10, 40), seg(0, len(stream))}, []string{"1", "2"}, 0},
		{"without SYN", [][]byte{seg(0, len(a)), seg(len(a), len(b))}, []string{"1", "2"}, 0},
		{"first message missing", [][]byte{ethTCP(syn), seg(len(a), len(b))}, nil, 1},
		{"sequence wraps", func() [][]byte {
			s := tcpPkt{src: client, dst: server, seq: 0xffffffff - 20, flags: tcpSYN}
			p1 := tcpPkt{src: client, dst: server, seq: s.seq + 1, flags: tcpACK, payload: stream[:50]}
			p2 := tcpPkt{src: client, dst: server, seq: s.seq + 51, flags: tcpACK, payload: stream[50:]}
			return [][]byte{ethTCP(s), ethTCP(p2), ethTCP(p1)}
		}(), []string{"1", "2"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := read(t, pcapFile(tt.frames...), Limits{})
			if got := smb2Msgs(rep); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("messages %v, want %v", got, tt.want)
			}
			if rep.Stats.Gaps != tt.gaps {
				t.Errorf("gaps %d, want %d (%+v)", rep.Stats.Gaps, tt.gaps, rep.NotDecoded)
			}
		})
	}
}

// TestHostileCaptures: absurd lengths and segment patterns end in a
// listed error or gap, never in an allocation beyond the caps.
func TestHostileCaptures(t *testing.T) {
	lim := Limits{MaxPending: 4096, MaxPendingSegs: 16, MaxBuffered: 64 << 10, MaxFrame: 8 << 10, MaxConns: 8}
	syn := ethTCP(tcpPkt{src: client, dst: server, seq: 0, flags: tcpSYN})
	ahead := func(off uint32, n int) []byte {
		return ethTCP(tcpPkt{src: client, dst: server, seq: 1 + off, flags: tcpACK, payload: bytes.Repeat([]byte{0xAA}, n)})
	}
	hugeRecord := pcapFile()
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0)
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0)
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0xfffffff0) // incl_len
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0xfffffff0)

	var manyAhead [][]byte
	manyAhead = append(manyAhead, syn)
	for i := range 100 {
		manyAhead = append(manyAhead, ahead(uint32(100+i*50), 40))
	}
	var manyConns [][]byte
	for i := range 50 {
		manyConns = append(manyConns, ethTCP(tcpPkt{src: "192.0.2.10:" + strconv.Itoa(40000+i), dst: server, seq: 0, flags: tcpSYN}))
	}
	bigFrame := append([]byte{0, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{1}, 3000)...) // 16 MiB announced
	ldapSyn := ethTCP(tcpPkt{src: client, dst: "192.0.2.20:389", seq: 0, flags: tcpSYN})
	ldapMsg := func(b []byte) []byte {
		return ethTCP(tcpPkt{src: client, dst: "192.0.2.20:389", seq: 1, flags: tcpACK, payload: b})
	}
	// A SEQUENCE of 1 GiB, and one whose length takes 9 octets.
	ldapHuge := append([]byte{0x30, 0x84, 0x40, 0, 0, 0}, bytes.Repeat([]byte{0x30, 0x00}, 1000)...)
	ldapLong := []byte{0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x02, 0x01, 0x01}
	// SEQUENCEs nested 1500 deep, 6000 bytes.
	ldapDeep := []byte{}
	for range 1500 {
		ldapDeep = append([]byte{0x30, 0x82, byte(len(ldapDeep) >> 8), byte(len(ldapDeep))}, ldapDeep...)
	}
	tests := []struct {
		name      string
		file      []byte
		fileError string
		check     func(t *testing.T, r *Report)
	}{
		{"packet length 4 GiB", hugeRecord, "exceeds the cap", nil},
		{"pcapng block 4 GiB", append(ngHeader(), 6, 0, 0, 0, 0xf0, 0xff, 0xff, 0xff), "exceeds the cap", nil},
		{"truncated record", pcapFile(syn)[:40+20], "unexpected EOF", nil},
		{"not a capture", []byte("GET / HTTP/1.1\r\n\r\n"), "not a pcap", nil},
		{"segment a gigabyte ahead", pcapFile(syn, ahead(1<<30, 100)), "", func(t *testing.T, r *Report) {
			if r.Stats.Gaps != 1 {
				t.Errorf("gaps %d, want 1", r.Stats.Gaps)
			}
		}},
		{"out-of-order segments over the caps", pcapFile(manyAhead...), "", func(t *testing.T, r *Report) {
			if r.Stats.Gaps != 1 || r.Stats.PeakBuffered > 16*40 {
				t.Errorf("gaps %d, peak %d", r.Stats.Gaps, r.Stats.PeakBuffered)
			}
		}},
		{"connections over the cap", pcapFile(manyConns...), "", func(t *testing.T, r *Report) {
			if r.Stats.Conns != 8 || r.Stats.ConnsDropped != 42 {
				t.Errorf("conns %d dropped %d", r.Stats.Conns, r.Stats.ConnsDropped)
			}
		}},
		{"NBSS frame of 16 MiB", pcapFile(syn, ethTCP(tcpPkt{src: client, dst: server, seq: 1, flags: tcpACK, payload: bigFrame})), "", func(t *testing.T, r *Report) {
			if r.Stats.PeakBuffered > 8<<10 || !hasUndecoded(r, "over the 8192-byte cap") {
				t.Errorf("peak %d, not decoded %+v", r.Stats.PeakBuffered, r.NotDecoded)
			}
		}},
	}
	tests = append(tests, []struct {
		name      string
		file      []byte
		fileError string
		check     func(t *testing.T, r *Report)
	}{
		{"LDAP message of 1 GiB", pcapFile(ldapSyn, ldapMsg(ldapHuge)), "", func(t *testing.T, r *Report) {
			if !hasUndecoded(r, "over the 8192-byte cap") {
				t.Errorf("not decoded %+v", r.NotDecoded)
			}
		}},
		{"LDAP length of 9 octets", pcapFile(ldapSyn, ldapMsg(ldapLong)), "", func(t *testing.T, r *Report) {
			if r.Stats.Gaps != 0 || !hasUndecoded(r, "not an LDAP message") {
				t.Errorf("not decoded %+v", r.NotDecoded)
			}
		}},
		{"DCE/RPC: 500 calls left unfinished", func() []byte {
			rpcSrv := "192.0.2.20:135"
			var stream []byte
			for id := range 500 {
				stream = append(stream, dcerpc.RequestPDU(uint32(id+1), dcerpc.FlagFirstFrag, 0, 15, 0, bytes.Repeat([]byte{7}, 1000))...)
			}
			frames := [][]byte{ethTCP(tcpPkt{src: client, dst: rpcSrv, seq: 0, flags: tcpSYN})}
			for off := 0; off < len(stream); off += 60000 {
				frames = append(frames, ethTCP(tcpPkt{src: client, dst: rpcSrv, seq: 1 + uint32(off), flags: tcpACK, payload: stream[off:min(off+60000, len(stream))]}))
			}
			return pcapFile(frames...)
		}(), "", func(t *testing.T, r *Report) {
			// Held stubs count against the budget: it runs out after
			// about 64 calls, the direction stops there, and the calls
			// seen are listed as unanswered.
			if len(r.Conversations) != 1 || len(r.Conversations[0].Calls) < 60 || !hasUndecoded(r, "budget is spent") {
				t.Errorf("conversations %d, not decoded %v", len(r.Conversations), r.NotDecoded)
			}
		}},
		{"LDAP nested 1500 deep", pcapFile(ldapSyn, ldapMsg(ldapDeep)), "", func(t *testing.T, r *Report) {
			if !hasUndecoded(r, "LDAPMessage") {
				t.Errorf("not decoded %+v", r.NotDecoded)
			}
		}},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := read(t, tt.file, lim)
			if got := r.Files[0].Error; tt.fileError == "" && got != "" || !strings.Contains(got, tt.fileError) {
				t.Errorf("file error %q, want %q", got, tt.fileError)
			}
			if r.Stats.PeakBuffered > lim.MaxBuffered {
				t.Errorf("peak %d over %d", r.Stats.PeakBuffered, lim.MaxBuffered)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func hasUndecoded(r *Report, s string) bool {
	for _, u := range r.NotDecoded {
		if strings.Contains(u.Reason, s) {
			return true
		}
	}
	return false
}

// ngHeader is a pcapng section header and one Ethernet interface.
func ngHeader() []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, blockSHB)
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, 0x1a2b3c4d)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0))
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, blockIDB)
	b = le.AppendUint32(b, 20)
	b = le.AppendUint16(b, LinkEthernet)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	return le.AppendUint32(b, 20)
}

// TestPcapngMatchesPcap: the same frames in both formats read the same.
func TestPcapngMatchesPcap(t *testing.T) {
	frames := [][]byte{ethTCP(tcpPkt{src: client, dst: server, seq: 0, flags: tcpSYN}),
		ethTCP(tcpPkt{src: client, dst: server, seq: 1, flags: tcpACK, payload: nbss(smb2Negotiate(7))})}
	le := binary.LittleEndian
	ng := ngHeader()
	for i, f := range frames {
		pad := (4 - len(f)%4) % 4
		total := uint32(32 + len(f) + pad)
		ng = le.AppendUint32(ng, blockEPB)
		ng = le.AppendUint32(ng, total)
		ng = le.AppendUint32(ng, 0)
		ts := uint64(1700000000+i) * 1_000_000
		ng = le.AppendUint32(ng, uint32(ts>>32))
		ng = le.AppendUint32(ng, uint32(ts))
		ng = le.AppendUint32(ng, uint32(len(f)))
		ng = le.AppendUint32(ng, uint32(len(f)))
		ng = append(ng, f...)
		ng = append(ng, make([]byte, pad)...)
		ng = le.AppendUint32(ng, total)
	}
	for _, file := range [][]byte{pcapFile(frames...), ng} {
		r := read(t, file, Limits{})
		if r.Files[0].Error != "" || r.Files[0].Packets != 2 || strings.Join(smb2Msgs(r), ",") != "7" {
			t.Errorf("file %+v, messages %v", r.Files[0], smb2Msgs(r))
		}
	}
	rd, err := NewReader(bytes.NewReader(ng))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rd.Next()
	if err != nil || p.Time.Unix() != 1700000000 || p.Frame != 1 {
		t.Errorf("first packet %+v %v", p, err)
	}
	for err == nil {
		_, err = rd.Next()
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("end: %v", err)
	}
}

func FuzzReader(f *testing.F) {
	for _, name := range []string{"testdata/captures/suricata_ws2019_anon_smb1_ipc.pcap", "testdata/captures/dce_rpc_ntlm.pcapng",
		"testdata/lab/open.pcapng", "testdata/captures/ldap_invalid_credentials.pcap"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(pcapFile(ethTCP(tcpPkt{src: client, dst: server, seq: 1, flags: tcpACK, payload: nbss(smb2Negotiate(1))})))
	lim := Limits{MaxBuffered: 1 << 20, MaxFrame: 64 << 10}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Read(context.Background(), "fuzz", bytes.NewReader(b), lim)
		if err != nil {
			t.Fatal(err)
		}
		if r.leftover != 0 {
			t.Fatalf("%d bytes of the budget not given back", r.leftover)
		}
		if r.Stats.PeakBuffered > lim.MaxBuffered {
			t.Fatalf("peak %d", r.Stats.PeakBuffered)
		}
	})
}

// FuzzReassembly cuts a valid SMB2 conversation into segments whose
// boundaries, order, duplicates and sequence offsets the input chooses.
// Whatever the order, buffering stays within the caps; delivered in any
// order without loss, every message decodes.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 10, 1, 20, 2, 30, 3, 255})
	f.Add([]byte{5, 5, 5, 5, 0, 0, 0, 0, 9, 9})
	stream := append(nbss(smb2Negotiate(1)), nbss(smb2Negotiate(2))...)
	lim := Limits{MaxPending: 1024, MaxPendingSegs: 8, MaxBuffered: 8 << 10}
	f.Fuzz(func(t *testing.T, plan []byte) {
		frames := [][]byte{ethTCP(tcpPkt{src: client, dst: server, seq: 99, flags: tcpSYN})}
		// Each pair: a cut point and an order key; an odd key shifts the
		// segment's sequence number (a hostile overlap or hole).
		type cut struct {
			off, n int
			shift  uint32
		}
		var cuts []cut
		off := 0
		for i := 0; i+1 < len(plan) && off < len(stream); i += 2 {
			n := 1 + int(plan[i])%64
			n = min(n, len(stream)-off)
			c := cut{off: off, n: n}
			if plan[i+1]%7 == 3 {
				c.shift = uint32(plan[i+1])
			}
			cuts = append(cuts, c)
			off += n
		}
		if off < len(stream) {
			cuts = append(cuts, cut{off: off, n: len(stream) - off})
		}
		order := make([]int, len(cuts))
		for i := range order {
			order[i] = i
		}
		for i := range order {
			if len(plan) > 0 {
				j := int(plan[(2*i+1)%len(plan)]) % len(order)
				order[i], order[j] = order[j], order[i]
			}
		}
		shifted := false
		for _, i := range order {
			c := cuts[i]
			shifted = shifted || c.shift != 0
			frames = append(frames, ethTCP(tcpPkt{src: client, dst: server, seq: 100 + uint32(c.off) + c.shift, flags: tcpACK, payload: stream[c.off : c.off+c.n]}))
		}
		r := read(t, pcapFile(frames...), lim)
		if r.Stats.PeakBuffered > lim.MaxBuffered {
			t.Fatalf("peak %d", r.Stats.PeakBuffered)
		}
		if !shifted && r.Stats.Gaps == 0 && strings.Join(smb2Msgs(r), ",") != "1,2" {
			t.Fatalf("complete stream gave %v", smb2Msgs(r))
		}
	})
}

// BenchmarkRead reads nullsweep's own lab run (SMB2, DCE/RPC, NBNS:
// 0.6 MB) from memory.
func BenchmarkRead(b *testing.B) {
	data, err := os.ReadFile("testdata/lab/open.pcapng")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(context.Background(), "open", bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSMB1TransactionInPieces: a RAP reply larger than the client's
// buffer comes in two TRANSACTION responses; both pieces are placed by
// their displacements before package rap decodes the shares.
func TestSMB1TransactionInPieces(t *testing.T) {
	le := binary.LittleEndian
	name := []byte(`\PIPE\LANMAN` + "\x00")
	params := []byte{0, 0, 'W', 'r', 'L', 'e', 'h', 0, 'B', '1', '3', 'B', 'W', 'z', 0, 1, 0, 0xff, 0xff}
	words := make([]byte, 28)
	le.PutUint16(words[0:], uint16(len(params)))
	le.PutUint16(words[4:], 8)
	le.PutUint16(words[6:], 0xffff)
	le.PutUint16(words[18:], uint16(len(params)))
	le.PutUint16(words[20:], uint16(32+1+28+2+len(name)))
	req := smb1Msg(0x25, false, 7, words, append(name, params...))

	// NetShareEnum level 1: status, converter, entries, available; then
	// SHARE_INFO_1 entries of 20 bytes (13-byte name, pad, type, remark).
	rparams := []byte{0, 0, 0, 0, 2, 0, 2, 0}
	var rdata []byte
	for _, n := range []string{"PUBLIC", "IPC$"} {
		e := make([]byte, 20)
		copy(e, n)
		rdata = append(rdata, e...)
	}
	le.PutUint16(rdata[20+14:], 3) // IPC
	piece := func(p []byte, pd int, d []byte, dd int) []byte {
		w := make([]byte, 20)
		le.PutUint16(w[0:], uint16(len(rparams)))
		le.PutUint16(w[2:], uint16(len(rdata)))
		le.PutUint16(w[6:], uint16(len(p)))
		le.PutUint16(w[8:], uint16(32+1+20+2))
		le.PutUint16(w[10:], uint16(pd))
		le.PutUint16(w[12:], uint16(len(d)))
		le.PutUint16(w[14:], uint16(32+1+20+2+len(p)))
		le.PutUint16(w[16:], uint16(dd))
		return smb1Msg(0x25, true, 7, w, append(append([]byte{}, p...), d...))
	}
	srv := "192.0.2.20:139"
	up := nbss(req)
	down := append(nbss(piece(rparams, 0, rdata[:20], 0)), nbss(piece(nil, 0, rdata[20:], 20))...)
	rep := read(t, pcapFile(
		ethTCP(tcpPkt{src: client, dst: srv, seq: 0, flags: tcpSYN}),
		ethTCP(tcpPkt{src: srv, dst: client, seq: 0, flags: tcpSYN | tcpACK}),
		ethTCP(tcpPkt{src: client, dst: srv, seq: 1, flags: tcpACK, payload: up}),
		ethTCP(tcpPkt{src: srv, dst: client, seq: 1, flags: tcpACK, payload: down}),
	), Limits{})
	if len(rep.Conversations) != 1 {
		t.Fatalf("conversations %+v, not decoded %+v", rep.Conversations, rep.NotDecoded)
	}
	c := rep.Conversations[0]
	var got []string
	for _, s := range c.Disclosed.Shares {
		got = append(got, s.Name+"/"+strconv.Itoa(int(s.Type)))
	}
	if strings.Join(got, ",") != "PUBLIC/0,IPC$/3" || len(c.Calls) != 1 || !c.Calls[0].Decoded || c.Calls[0].Name != "NetShareEnum" {
		t.Errorf("shares %v, calls %+v, not decoded %+v", got, c.Calls, rep.NotDecoded)
	}
}

// FuzzConversation feeds one client→server and one server→client byte
// stream, as TCP segments cut by the input, to a server port the input
// picks (SMB on 445, DCE/RPC on 135, LDAP on 389): the protocol decoders
// behind the reassembly get hostile bytes directly. The budget holds.
func FuzzConversation(f *testing.F) {
	f.Add(byte(0), nbss(smb2Negotiate(1)), nbss(smb2Negotiate(1)), byte(7))
	f.Add(byte(1), []byte("\x05\x00\x0b\x03\x10\x00\x00\x00\x48\x00\x00\x00\x01\x00\x00\x00"), []byte("\x05\x00\x0c\x03\x10\x00\x00\x00\x1c\x00\x00\x00\x01\x00\x00\x00"), byte(3))
	f.Add(byte(2), []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00},
		[]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}, byte(5))
	lim := Limits{MaxBuffered: 1 << 20, MaxFrame: 64 << 10}
	f.Fuzz(func(t *testing.T, which byte, up, down []byte, cut byte) {
		srv := []string{"192.0.2.20:445", "192.0.2.20:135", "192.0.2.20:389"}[int(which)%3]
		frames := [][]byte{ethTCP(tcpPkt{src: client, dst: srv, seq: 0, flags: tcpSYN}),
			ethTCP(tcpPkt{src: srv, dst: client, seq: 0, flags: tcpSYN | tcpACK})}
		n := 1 + int(cut)%97
		// Interleave the two directions in pieces of n bytes.
		for off := 0; off < max(len(up), len(down)); off += n {
			if off < len(up) {
				frames = append(frames, ethTCP(tcpPkt{src: client, dst: srv, seq: 1 + uint32(off), flags: tcpACK, payload: up[off:min(off+n, len(up))]}))
			}
			if off < len(down) {
				frames = append(frames, ethTCP(tcpPkt{src: srv, dst: client, seq: 1 + uint32(off), flags: tcpACK, payload: down[off:min(off+n, len(down))]}))
			}
		}
		r := read(t, pcapFile(frames...), lim)
		if r.Stats.PeakBuffered > lim.MaxBuffered {
			t.Fatalf("peak %d", r.Stats.PeakBuffered)
		}
	})
}

// TestRecordsBounded: a capture of more SMB connections than MaxRecords
// lists MaxRecords conversations and counts the rest.
func TestRecordsBounded(t *testing.T) {
	var frames [][]byte
	for i := range 30 {
		c := "192.0.2.10:" + strconv.Itoa(40000+i)
		frames = append(frames,
			ethTCP(tcpPkt{src: c, dst: server, seq: 0, flags: tcpSYN}),
			ethTCP(tcpPkt{src: c, dst: server, seq: 1, flags: tcpACK, payload: nbss(smb2Negotiate(1))}),
			ethTCP(tcpPkt{src: c, dst: server, seq: 1 + uint32(len(nbss(smb2Negotiate(1)))), flags: tcpRST}))
	}
	r := read(t, pcapFile(frames...), Limits{MaxRecords: 10})
	if len(r.Conversations) != 10 || r.Stats.NotListed != 20 || len(r.Messages) != 10 {
		t.Errorf("%d conversations, %d not listed, %d messages", len(r.Conversations), r.Stats.NotListed, len(r.Messages))
	}
}
