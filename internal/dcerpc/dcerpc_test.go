package dcerpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/smb"
)

// loadHex reads a captured PDU; testdata is part of the package, so a
// missing or bad file is a programming error.
func loadHex(_ testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	out, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		panic(err)
	}
	return out
}

func TestUUID(t *testing.T) {
	u := MustParseUUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
	if got := hex.EncodeToString(u[:]); got != "045d888aeb1cc9119fe808002b104860" {
		t.Fatalf("wire form %s", got)
	}
	if u.String() != "8a885d04-1ceb-11c9-9fe8-08002b104860" {
		t.Fatalf("String %s", u)
	}
	for _, bad := range []string{"", "8a885d04-1ceb-11c9-9fe8", "zz885d04-1ceb-11c9-9fe8-08002b104860"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

// TestBindGolden pins the BIND encoding, laid out by hand from C706
// 12.6.4.3: header, max frags 4280, assoc group 0, one context (id 0, one
// transfer syntax), LSARPC v0.0 and NDR v2.0. Samba accepts exactly this
// (see the live tests).
func TestBindGolden(t *testing.T) {
	got := BindPDU{Type: PTypeBind, CallID: 1, MaxXmitFrag: 4280, MaxRecvFrag: 4280,
		Contexts: []ContextElem{{ID: 0, Abstract: LSARPC, Transfer: []SyntaxID{NDR20}}}}.Marshal()
	want := "05000b031000000048000000010000" + "00" + "b810b81000000000" + "01000000" + "00000100" +
		"785734123412cdabef000123456789ab" + "00000000" + "045d888aeb1cc9119fe808002b104860" + "02000000"
	if hex.EncodeToString(got) != want {
		t.Fatalf("bind\n got %x\nwant %s", got, want)
	}
}

func TestParseCaptured(t *testing.T) {
	ack, err := ParseBindAck(loadHex(t, "bind_ack_epm.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if ack.SecAddr != "135" || ack.MaxXmitFrag != 4280 || len(ack.Results) != 1 || ack.Results[0].Result != ResultAcceptance || ack.Results[0].Transfer != NDR20 {
		t.Fatalf("ack %+v", ack)
	}
	rej, err := ParseBindAck(loadHex(t, "bind_ack_rejected.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if r := rej.Results[0]; r.Result != ResultProviderRejection || r.Reason != ReasonAbstractNotSupp {
		t.Fatalf("rejected %+v", r)
	}
	f, err := ParseFragment(loadHex(t, "fault_op_rng.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Header.Type != PTypeFault || f.Status != FaultOpRngError || f.Header.Flags&FlagDidNotExecute == 0 {
		t.Fatalf("fault %+v", f)
	}
}

// fakeServer is an in-memory peer for what a real server will not do
// (wrong call ids, huge or truncated replies). handle gets each complete
// request PDU and returns the bytes to queue for reading.
type fakeServer struct {
	handle  func(pdu []byte) []byte
	out     []byte
	chunk   int // when > 0, replies come in chunks of this size with smb.ErrMore
	in      [][]byte
	pending []byte
}

func (f *fakeServer) Write(ctx context.Context, b []byte) (int, error) {
	f.in = append(f.in, append([]byte(nil), b...))
	f.pending = append(f.pending, b...)
	for len(f.pending) >= 16 {
		n := int(binary.LittleEndian.Uint16(f.pending[8:]))
		if len(f.pending) < n {
			break
		}
		f.out = append(f.out, f.handle(f.pending[:n])...)
		f.pending = f.pending[n:]
	}
	return len(b), nil
}

func (f *fakeServer) Read(ctx context.Context, max int) ([]byte, error) {
	n := min(max, len(f.out))
	var err error
	if f.chunk > 0 && n > f.chunk {
		n = f.chunk
		err = smb.ErrMore
	}
	b := f.out[:n]
	f.out = f.out[n:]
	return b, err
}

func (f *fakeServer) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	f.Write(ctx, in)
	return f.Read(ctx, maxOut)
}

func ackFor(pdu []byte) []byte {
	b := loadHex(nil, "bind_ack_epm.hex")
	copy(b[12:16], pdu[12:16]) // call id
	return b
}

func responsePDU(callID uint32, flags uint8, stub []byte) []byte {
	b := appendHeader(nil, Header{Type: PTypeResponse, Flags: flags, CallID: callID})
	b = binary.LittleEndian.AppendUint32(b, uint32(len(stub)))
	b = append(b, 0, 0, 0, 0)
	b = append(b, stub...)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// echoServer reassembles request fragments and answers with the request
// stub reversed, in response fragments of at most frag bytes of stub.
func echoServer(frag int) *fakeServer {
	var acc []byte
	return &fakeServer{handle: func(pdu []byte) []byte {
		h, _ := ParseHeader(pdu)
		if h.Type == PTypeBind {
			return ackFor(pdu)
		}
		acc = append(acc, pdu[requestLen:]...)
		if h.Flags&FlagLastFrag == 0 {
			return nil
		}
		stub := bytes.Clone(acc)
		acc = nil
		for i, j := 0, len(stub)-1; i < j; i, j = i+1, j-1 {
			stub[i], stub[j] = stub[j], stub[i]
		}
		var out []byte
		for first := true; ; first = false {
			n := min(frag, len(stub))
			fl := uint8(0)
			if first {
				fl |= FlagFirstFrag
			}
			if n == len(stub) {
				fl |= FlagLastFrag
			}
			out = append(out, responsePDU(h.CallID, fl, stub[:n])...)
			stub = stub[n:]
			if len(stub) == 0 {
				return out
			}
		}
	}}
}

func TestFragmentationBothWays(t *testing.T) {
	ctx := context.Background()
	for _, chunk := range []int{0, 7, 100} {
		srv := echoServer(1000)
		srv.chunk = chunk
		c, err := Bind(ctx, srv, EPM)
		if err != nil {
			t.Fatal(err)
		}
		stub := make([]byte, 20000)
		for i := range stub {
			stub[i] = byte(i * 7)
		}
		got, err := c.Call(ctx, 3, stub)
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if len(got) != len(stub) || got[0] != stub[len(stub)-1] || got[len(got)-1] != stub[0] {
			t.Fatalf("chunk %d: echo mismatch (%d bytes)", chunk, len(got))
		}
		// 20000 bytes in fragments of at most 4280: 5 request fragments,
		// first with FIRST only, last with LAST only.
		reqs := srv.in[1:]
		if len(reqs) != 5 {
			t.Fatalf("%d request fragments", len(reqs))
		}
		for i, r := range reqs {
			h, _ := ParseHeader(r)
			if int(h.FragLength) > DefaultMaxFrag || h.CallID != 2 {
				t.Errorf("fragment %d: len %d call %d", i, h.FragLength, h.CallID)
			}
			wantFl := uint8(0)
			if i == 0 {
				wantFl |= FlagFirstFrag
			}
			if i == len(reqs)-1 {
				wantFl |= FlagLastFrag
			}
			if h.Flags != wantFl {
				t.Errorf("fragment %d flags %#x want %#x", i, h.Flags, wantFl)
			}
		}
	}
}

func TestHostileResponses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		reply func(callID uint32) []byte
		want  error
	}{
		{"wrong call id", func(id uint32) []byte { return responsePDU(id+1, 3, []byte{1}) }, ErrCallID},
		{"big endian", func(id uint32) []byte { b := responsePDU(id, 3, []byte{1}); b[4] = 0; return b }, ErrDataRep},
		{"version 4", func(id uint32) []byte { b := responsePDU(id, 3, []byte{1}); b[0] = 4; return b }, ErrBadPDU},
		{"no first flag", func(id uint32) []byte { return responsePDU(id, 2, []byte{1}) }, ErrBadPDU},
		{"truncated", func(id uint32) []byte { return responsePDU(id, 3, make([]byte, 100))[:50] }, ErrShortPDU},
		{"frag_length < header", func(id uint32) []byte { b := responsePDU(id, 3, nil); b[8] = 4; return b }, ErrBadPDU},
		{"bind ack in place of response", func(id uint32) []byte { return ackFor(responsePDU(id, 3, nil)) }, ErrUnexpected},
		{"auth_length too big", func(id uint32) []byte { b := responsePDU(id, 3, []byte{1}); b[10] = 0xff; return b }, ErrBadPDU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fakeServer{}
			srv.handle = func(pdu []byte) []byte {
				h, _ := ParseHeader(pdu)
				if h.Type == PTypeBind {
					return ackFor(pdu)
				}
				return tt.reply(h.CallID)
			}
			c, err := Bind(ctx, srv, EPM)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Call(ctx, 0, []byte{1, 2, 3, 4})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReassemblyCap: a server that never sends LAST_FRAG must be cut off at
// the limit, and the huge alloc_hint it claims must not be allocated.
func TestReassemblyCap(t *testing.T) {
	ctx := context.Background()
	srv := &fakeServer{}
	var id uint32
	srv.handle = func(pdu []byte) []byte {
		h, _ := ParseHeader(pdu)
		if h.Type == PTypeBind {
			return ackFor(pdu)
		}
		id = h.CallID
		return nil
	}
	frag := func(first bool) []byte {
		fl := uint8(0)
		if first {
			fl = FlagFirstFrag
		}
		b := responsePDU(id, fl, make([]byte, 4000))
		binary.LittleEndian.PutUint32(b[16:], 0xFFFFFFFF) // alloc_hint
		return b
	}
	reader := &endless{fakeServer: srv, next: frag}
	c, err := Bind(ctx, reader, EPM)
	if err != nil {
		t.Fatal(err)
	}
	c.MaxResponse = 1 << 20
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	_, err = c.Call(ctx, 0, nil)
	runtime.ReadMemStats(&ms1)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 8<<20 {
		t.Fatalf("allocated %d bytes for a 1 MiB cap", d)
	}
}

type endless struct {
	*fakeServer
	next  func(first bool) []byte
	calls int
}

func (e *endless) Read(ctx context.Context, max int) ([]byte, error) {
	if len(e.out) > 0 {
		return e.fakeServer.Read(ctx, max)
	}
	e.calls++
	return e.next(e.calls == 1), nil
}

func (e *endless) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	e.fakeServer.Write(ctx, in)
	return e.Read(ctx, maxOut)
}

func TestEmptyReadsStop(t *testing.T) {
	srv := &fakeServer{handle: func(pdu []byte) []byte { return nil }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := Bind(ctx, srv, EPM); !errors.Is(err, ErrShortPDU) {
		t.Fatalf("err = %v", err)
	}
}

func TestBindNak(t *testing.T) {
	srv := &fakeServer{handle: func(pdu []byte) []byte {
		b := appendHeader(nil, Header{Type: PTypeBindNak, Flags: 3, CallID: 1})
		b = append(b, 4, 0, 0)
		binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
		return b
	}}
	_, err := Bind(context.Background(), srv, EPM)
	var nak *BindNakError
	if !errors.As(err, &nak) || nak.Reason != 4 || !errors.Is(err, ErrBindRefused) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "protocol_version_not_supported") {
		t.Fatalf("message %q", err)
	}
}
