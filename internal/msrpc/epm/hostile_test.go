package epm

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/hostile"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// bindAck is a BIND_ACK accepting NDR 2.0 (C706 12.6.4.4) for callID.
func bindAck(callID uint32) []byte {
	b := []byte{5, 0, dcerpc.PTypeBindAck, 3, 0x10, 0, 0, 0, 0, 0, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, callID)
	b = binary.LittleEndian.AppendUint16(b, 4280)
	b = binary.LittleEndian.AppendUint16(b, 4280)
	b = binary.LittleEndian.AppendUint32(b, 0x1234)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, "135\x00"...)
	b = append(b, 0, 0)       // align 4
	b = append(b, 1, 0, 0, 0) // one result
	b = append(b, 0, 0, 0, 0) // acceptance
	b = append(b, dcerpc.NDR20.UUID[:]...)
	b = append(b, 2, 0, 0, 0)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// response is one RESPONSE fragment.
func response(callID uint32, flags uint8, stub []byte) []byte {
	b := []byte{5, 0, dcerpc.PTypeResponse, flags, 0x10, 0, 0, 0, 0, 0, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, callID)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(stub)))
	b = append(b, 0, 0, 0, 0)
	b = append(b, stub...)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// rpcServer binds anything and answers each request with reply(opnum,
// callID), which returns the bytes to write (false: go silent).
func rpcServer(reply func(ctx context.Context, conn net.Conn, opnum uint16, callID uint32) bool) hostile.Handler {
	return func(ctx context.Context, conn *net.TCPConn, port int) {
		for {
			var h [16]byte
			if _, err := io.ReadFull(conn, h[:]); err != nil {
				return
			}
			n := int(binary.LittleEndian.Uint16(h[8:]))
			body := make([]byte, max(n-16, 0))
			if _, err := io.ReadFull(conn, body); err != nil {
				return
			}
			callID := binary.LittleEndian.Uint32(h[12:])
			switch h[2] {
			case dcerpc.PTypeBind:
				conn.Write(bindAck(callID))
			case dcerpc.PTypeRequest:
				if len(body) < 8 {
					return
				}
				if !reply(ctx, conn, binary.LittleEndian.Uint16(body[6:]), callID) {
					<-ctx.Done()
					return
				}
			}
		}
	}
}

func dialEPM(t *testing.T, addr string) (*dcerpc.Client, context.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	tr, err := dcerpc.DialTCP(ctx, net.JoinHostPort(addr, "135"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	c, err := dcerpc.Bind(ctx, tr, dcerpc.EPM)
	if err != nil {
		t.Fatal(err)
	}
	return c, ctx
}

// TestHostileEPM: an endpoint mapper that never ends its list, sends towers
// with impossible floor counts, claims a 2 GiB tower or never ends a
// response, over TCP.
func TestHostileEPM(t *testing.T) {
	h := ndr.Handle{9, 9, 9}
	tw := MarshalTower(dcerpc.LSARPC)
	var frees atomic.Int32
	cases := []struct {
		name  string
		n     int
		reply func(ctx context.Context, conn net.Conn, opnum uint16, callID uint32) bool
		check func(t *testing.T, es []Entry, err error)
	}{
		{"endless entry stream", 220, func(_ context.Context, c net.Conn, op uint16, id uint32) bool {
			if op == OpLookupHandleFree {
				frees.Add(1)
				var w ndr.Writer
				w.Handle(ndr.Handle{})
				w.Uint32(0)
				c.Write(response(id, 3, w.Bytes()))
				return true
			}
			c.Write(response(id, 3, lookupReply(h, 64, [][]byte{tw, tw, tw}, StatusOK)))
			return true
		}, func(t *testing.T, es []Entry, err error) {
			if !errors.Is(err, ErrTruncated) || len(es) < 300 || len(es) > 300+64 || frees.Load() != 1 {
				t.Fatalf("%d entries, %d frees, %v", len(es), frees.Load(), err)
			}
		}},
		{"impossible floor counts", 221, func(_ context.Context, c net.Conn, op uint16, id uint32) bool {
			bad := [][]byte{towerOf(0xffff), towerOf(MaxFloors + 1), append(towerOf(40), make([]byte, 100)...)}
			c.Write(response(id, 3, lookupReply(ndr.Handle{}, 64, bad, StatusNotRegistered)))
			return true
		}, func(t *testing.T, es []Entry, err error) {
			if err != nil || len(es) != 3 {
				t.Fatalf("%d entries, %v", len(es), err)
			}
			for _, e := range es {
				if e.Tower != nil || !errors.Is(e.TowerErr, ErrTower) {
					t.Fatalf("%+v", e)
				}
			}
		}},
		{"tower claims 2 GiB", 222, func(_ context.Context, c net.Conn, op uint16, id uint32) bool {
			stub := lookupReply(h, 64, [][]byte{tw}, StatusOK)
			// The twr_t conformance and length follow the entry array.
			off := 20 + 4 + 12 + 16 + 4 + 8 + 8
			binary.LittleEndian.PutUint32(stub[off:], 0x7fffffff)
			binary.LittleEndian.PutUint32(stub[off+4:], 0x7fffffff)
			c.Write(response(id, 3, stub))
			return true
		}, func(t *testing.T, es []Entry, err error) {
			if !errors.Is(err, ndr.ErrRange) || len(es) != 0 {
				t.Fatalf("%d entries, %v", len(es), err)
			}
		}},
		{"response never ends", 223, func(ctx context.Context, c net.Conn, op uint16, id uint32) bool {
			frag := response(id, 0, make([]byte, 4000))
			if _, err := c.Write(response(id, 1, make([]byte, 4000))); err != nil {
				return false
			}
			for ctx.Err() == nil {
				if _, err := c.Write(frag); err != nil {
					return false
				}
			}
			return false
		}, func(t *testing.T, es []Entry, err error) {
			if !errors.Is(err, dcerpc.ErrTooLarge) {
				t.Fatalf("%d entries, %v", len(es), err)
			}
		}},
		{"never answers", 224, func(context.Context, net.Conn, uint16, uint32) bool { return false }, func(t *testing.T, es []Entry, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := hostile.Listen(hostile.Addr(c.n), []int{135}, rpcServer(c.reply))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rc, ctx := dialEPM(t, hostile.Addr(c.n))
			rc.MaxResponse = 1 << 20
			if c.name == "never answers" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
			}
			cl := New(rc)
			cl.MaxEntries = 300
			start := time.Now()
			es, err := cl.Lookup(ctx)
			if time.Since(start) > 3*time.Second {
				t.Fatalf("lookup took %v", time.Since(start))
			}
			c.check(t, es, err)
		})
	}
}
