package epm

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

func loadHex(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// script is a Caller that answers each call with the next reply (or
// with next() when set) and records the opnums.
type script struct {
	replies [][]byte
	next    func(n int, stub []byte) []byte
	opnums  []uint16
	stubs   [][]byte
}

func (s *script) Call(_ context.Context, opnum uint16, stub []byte) ([]byte, error) {
	s.opnums = append(s.opnums, opnum)
	s.stubs = append(s.stubs, stub)
	n := len(s.opnums) - 1
	if s.next != nil {
		return s.next(n, stub), nil
	}
	if n >= len(s.replies) {
		return nil, errors.New("script: no more replies")
	}
	return s.replies[n], nil
}

// TestLookupRecordedEqualsRpcclient decodes the DC's recorded replies (the
// whole list in one reply, then the end) and compares them with what
// rpcclient's epmlookup printed against the same server.
func TestLookupRecordedEqualsRpcclient(t *testing.T) {
	oracle, err := os.ReadFile("testdata/rpcclient_epmlookup_dc.txt")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(oracle), "\n") {
		if strings.Contains(l, "abstract_syntax=") {
			want = append(want, l)
		}
	}
	s := &script{replies: [][]byte{loadHex(t, "lookup_dc.hex"), loadHex(t, "lookup_end_dc.hex")}}
	es, err := New(s).Lookup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := entryLines(es); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !slices.Equal(s.opnums, []uint16{OpLookup, OpLookup}) {
		t.Fatalf("opnums %v", s.opnums)
	}
	// The second call carries the handle of the first reply.
	if h := s.stubs[1][16:36]; string(h) == string(make([]byte, 20)) {
		t.Fatalf("second call sent a zero handle")
	}
	byProto := map[string]int{}
	named := 0
	for _, e := range es {
		byProto[e.Tower.Protocol]++
		if _, ok := InterfaceName(e.Tower.Interface.UUID); ok {
			named++
		}
	}
	want2 := map[string]int{"ncacn_np": 24, "ncacn_ip_tcp": 16, "ncalrpc": 11, "ncacn_http": 2}
	for k, v := range want2 {
		if byProto[k] != v {
			t.Errorf("%s: %d entries, want %d (all: %v)", k, byProto[k], v, byProto)
		}
	}
	if named != len(es) {
		t.Errorf("%d of %d interfaces named", named, len(es))
	}
}

func TestMapRecorded(t *testing.T) {
	for _, tc := range []struct {
		file  string
		iface dcerpc.SyntaxID
		port  string
	}{
		{"map_lsarpc_dc.hex", dcerpc.LSARPC, "49153"},
		{"map_samr_dc.hex", dcerpc.SAMR, "49154"},
		{"map_netlogon_dc.hex", dcerpc.NETLOGON, "49152"},
	} {
		s := &script{replies: [][]byte{loadHex(t, tc.file)}}
		towers, err := New(s).Map(context.Background(), tc.iface, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(towers) != 1 || towers[0].Interface != tc.iface || towers[0].Protocol != "ncacn_ip_tcp" || towers[0].Endpoint != tc.port {
			t.Fatalf("%s: %+v", tc.file, towers)
		}
		// The request's tower is the one MarshalTower builds.
		if !strings.Contains(string(s.stubs[0]), string(MarshalTower(tc.iface))) {
			t.Fatalf("map request lacks the tower")
		}
	}
	s := &script{replies: [][]byte{loadHex(t, "map_not_registered_dc.hex")}}
	_, err := New(s).Map(context.Background(), dcerpc.SRVSVC, 4)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusNotRegistered || !strings.Contains(err.Error(), "ept_s_not_registered") {
		t.Fatalf("err %v", err)
	}
}

// floor encodes one tower floor.
func floor(lhs, rhs []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(lhs)))
	b = append(b, lhs...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(rhs)))
	return append(b, rhs...)
}

func towerOf(count uint16, floors ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, count)
	for _, f := range floors {
		b = append(b, f...)
	}
	return b
}

func TestParseTower(t *testing.T) {
	tcp := MarshalTower(dcerpc.SAMR)
	iface, ndr20 := tcp[2:2+25], tcp[2+25:2+50]
	np := towerOf(5, iface, ndr20, floor([]byte{ProtoNCACN}, []byte{0, 0}),
		floor([]byte{ProtoSMB}, []byte(`\PIPE\samr`+"\x00")), floor([]byte{ProtoNetBIOS}, []byte("DC1\x00")))
	lrpc := towerOf(4, iface, ndr20, floor([]byte{ProtoNCALRPC}, []byte{0, 0}), floor([]byte{ProtoNamedPipe}, []byte("LRPC-1\x00")))
	http := towerOf(5, iface, ndr20, floor([]byte{ProtoNCACN}, []byte{0, 0}),
		floor([]byte{ProtoHTTP}, []byte{0x02, 0x51}), floor([]byte{ProtoIP}, []byte{192, 0, 2, 1}))
	udp := towerOf(5, iface, ndr20, floor([]byte{ProtoNCADG}, []byte{0, 0}),
		floor([]byte{ProtoUDP}, []byte{0x00, 0x87}), floor([]byte{ProtoIP}, []byte{127, 0, 0, 1}))
	odd := towerOf(4, iface, ndr20, floor([]byte{0x42}, nil), floor([]byte{ProtoSMB}, []byte("\x01bad")))
	for _, tc := range []struct {
		name    string
		in      []byte
		binding string
		err     bool
	}{
		{"tcp", tcp, "ncacn_ip_tcp:0.0.0.0[0,abstract_syntax=12345778-1234-abcd-ef00-0123456789ac/0x00000001]", false},
		{"np", np, `ncacn_np:DC1[\PIPE\samr,abstract_syntax=12345778-1234-abcd-ef00-0123456789ac/0x00000001]`, false},
		{"lrpc", lrpc, "ncalrpc:[LRPC-1,abstract_syntax=12345778-1234-abcd-ef00-0123456789ac/0x00000001]", false},
		{"http", http, "ncacn_http:192.0.2.1[593,abstract_syntax=12345778-1234-abcd-ef00-0123456789ac/0x00000001]", false},
		{"udp", udp, "ncadg_ip_udp:127.0.0.1[135,abstract_syntax=12345778-1234-abcd-ef00-0123456789ac/0x00000001]", false},
		{"unknown protocol kept", odd, "unknown:[,abstract_syntax=12345778-1234-abcd-ef00-0123456789ac/0x00000001]", false},
		{"empty", nil, "", true},
		{"floor count 65535", towerOf(0xffff, iface, ndr20, floor([]byte{ProtoNCACN}, nil)), "", true},
		{"floor count 17", towerOf(17, slices.Repeat([][]byte{floor([]byte{ProtoNCACN}, nil)}, 17)...), "", true},
		{"floor count beyond data", towerOf(5, iface, ndr20, floor([]byte{ProtoNCACN}, nil)), "", true},
		{"two floors", towerOf(2, iface, ndr20), "", true},
		{"lhs length past end", towerOf(3, iface, ndr20, []byte{0xff, 0xff, ProtoNCACN, 0, 0}), "", true},
		{"rhs length past end", towerOf(3, iface, ndr20, []byte{1, 0, ProtoNCACN, 0xff, 0x7f}), "", true},
		{"empty lhs", towerOf(3, iface, ndr20, []byte{0, 0, 0, 0, 0}), "", true},
		{"floor 1 not a UUID", towerOf(3, floor([]byte{ProtoTCP}, []byte{0, 135}), ndr20, floor([]byte{ProtoNCACN}, nil)), "", true},
		{"too long", make([]byte, MaxTowerLen+1), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw, err := ParseTower(tc.in)
			if tc.err {
				if err == nil || !errors.Is(err, ErrTower) {
					t.Fatalf("err %v, tower %+v", err, tw)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tw.Binding() != tc.binding {
				t.Fatalf("binding %s\n     want %s", tw.Binding(), tc.binding)
			}
		})
	}
	if tw, _ := ParseTower(odd); tw.Floors[3].RHS == nil || cstring(tw.Floors[3].RHS) != `\x01bad` {
		t.Fatalf("unprintable bytes: %+v", tw.Floors[3])
	}
}

// lookupReply encodes an ept_lookup response with n entries of tower tw.
func lookupReply(handle ndr.Handle, maxCount uint32, towers [][]byte, status uint32) []byte {
	var w ndr.Writer
	w.Handle(handle)
	w.Uint32(uint32(len(towers)))
	w.Uint32(maxCount)
	w.Uint32(0)
	w.Uint32(uint32(len(towers)))
	for i := range towers {
		w.Raw(make([]byte, 16))
		w.Uint32(uint32(i + 1))
		w.Uint32(0)
		w.Uint32(5)
		w.Raw([]byte("test\x00"))
		w.Align(4)
	}
	for _, tw := range towers {
		w.Uint32(uint32(len(tw)))
		w.Uint32(uint32(len(tw)))
		w.Raw(tw)
		w.Align(4)
	}
	w.Uint32(status)
	return w.Bytes()
}

// TestLookupWalk: the walk follows the handle, ends on the server's word,
// and bounds what a server that never says "no more" can make it do.
func TestLookupWalk(t *testing.T) {
	h := ndr.Handle{1, 2, 3}
	tw := MarshalTower(dcerpc.LSARPC)
	one := lookupReply(h, 1, [][]byte{tw}, StatusOK)
	t.Run("endless stream", func(t *testing.T) {
		s := &script{next: func(int, []byte) []byte { return one }}
		c := New(s)
		c.MaxEntries, c.PerCall = 50, 1
		es, err := c.Lookup(context.Background())
		if !errors.Is(err, ErrTruncated) || len(es) != 50 {
			t.Fatalf("%d entries, %v", len(es), err)
		}
		if len(s.opnums) != 51 || s.opnums[50] != OpLookupHandleFree {
			t.Fatalf("%d calls, last %d", len(s.opnums), s.opnums[len(s.opnums)-1])
		}
	})
	t.Run("stall", func(t *testing.T) {
		s := &script{next: func(int, []byte) []byte { return lookupReply(h, 1, nil, StatusOK) }}
		es, err := New(s).Lookup(context.Background())
		if !errors.Is(err, ErrStalled) || len(es) != 0 || len(s.opnums) != maxStalls+1 {
			t.Fatalf("%d entries, %d calls, %v", len(es), len(s.opnums), err)
		}
	})
	t.Run("zero handle ends", func(t *testing.T) {
		s := &script{replies: [][]byte{lookupReply(ndr.Handle{}, 64, [][]byte{tw, tw}, StatusOK)}}
		es, err := New(s).Lookup(context.Background())
		if err != nil || len(es) != 2 {
			t.Fatalf("%d entries, %v", len(es), err)
		}
	})
	t.Run("entries with the end status are kept", func(t *testing.T) {
		s := &script{replies: [][]byte{lookupReply(ndr.Handle{}, 64, [][]byte{tw}, StatusNotRegistered)}}
		es, err := New(s).Lookup(context.Background())
		if err != nil || len(es) != 1 {
			t.Fatalf("%d entries, %v", len(es), err)
		}
	})
	t.Run("other status", func(t *testing.T) {
		s := &script{replies: [][]byte{one, lookupReply(h, 1, nil, StatusCantPerformOp)}}
		es, err := New(s).Lookup(context.Background())
		var se *StatusError
		if !errors.As(err, &se) || se.Status != StatusCantPerformOp || len(es) != 1 {
			t.Fatalf("%d entries, %v", len(es), err)
		}
	})
	t.Run("more than asked", func(t *testing.T) {
		s := &script{replies: [][]byte{lookupReply(h, 3, [][]byte{tw, tw, tw}, StatusOK)}}
		c := New(s)
		c.PerCall = 2
		if _, err := c.Lookup(context.Background()); !errors.Is(err, ndr.ErrRange) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("bad tower kept with its error", func(t *testing.T) {
		bad := towerOf(0xffff)
		s := &script{replies: [][]byte{lookupReply(ndr.Handle{}, 1, [][]byte{bad}, StatusNotRegistered)}}
		es, err := New(s).Lookup(context.Background())
		if err != nil || len(es) != 1 || es[0].Tower != nil || !errors.Is(es[0].TowerErr, ErrTower) {
			t.Fatalf("%+v, %v", es, err)
		}
	})
	t.Run("tower length over cap", func(t *testing.T) {
		big := make([]byte, MaxTowerLen+4)
		s := &script{replies: [][]byte{lookupReply(ndr.Handle{}, 1, [][]byte{big}, StatusOK)}}
		if _, err := New(s).Lookup(context.Background()); !errors.Is(err, ndr.ErrRange) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestDecodeLookupTruncations(t *testing.T) {
	full := loadHex(t, "lookup_dc.hex")
	for n := 0; n < len(full); n += 97 {
		if _, err := DecodeLookup(full[:n], 64); err == nil {
			t.Fatalf("decoded %d of %d bytes", n, len(full))
		}
	}
}

// TestLookupCap: the per-call response cap holds the DC's real reply and
// stays small: a page of 64 entries may not make the client hold more than
// about 75 KiB.
func TestLookupCap(t *testing.T) {
	if n := len(loadHex(t, "lookup_dc.hex")); n > lookupCap(53) {
		t.Fatalf("the DC's 53-entry reply (%d bytes) exceeds its cap %d", n, lookupCap(53))
	}
	if c := lookupCap(DefaultPerCall); c > 76<<10 {
		t.Fatalf("cap of a default page: %d bytes", c)
	}
}
