package smb2

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// The tests here feed wire uint32s with the top bit set where an int()
// conversion made them negative on 32-bit builds, which then passed a
// bounds check and panicked; scripts/test.sh runs them under qemu-arm.

func TestNextCommandTopBit(t *testing.T) {
	for _, next := range []uint32{0x80000000, 0xFFFFFFFF} {
		c := fake(t, func(h Header) [][]byte {
			m := resp(h, ntstatus.Success, 1, 0, []byte{4, 0, 0, 0})
			le.PutUint32(m[20:], next)
			return [][]byte{frame(m)}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.RoundTrip(ctx, &Request{Command: CmdEcho, Body: []byte{4, 0, 0, 0}})
		cancel()
		if !errors.Is(err, ErrFrame) {
			t.Errorf("NextCommand %#x: %v, want ErrFrame", next, err)
		}
	}
}

func TestNegotiateContextOffsetTopBit(t *testing.T) {
	for _, off := range []uint32{0x80000000, 0xFFFFFFFF} {
		msg := readHex(t, "negotiate.hex")
		b := msg[HeaderSize:]
		le.PutUint16(b[4:], Dialect311)
		le.PutUint16(b[6:], 1)
		le.PutUint32(b[60:], off)
		if _, err := ParseNegotiateResponse(msg); err == nil {
			t.Errorf("negotiate context offset %#x accepted", off)
		}
	}
}

func TestWriteCountTopBit(t *testing.T) {
	for _, n := range []uint32{0x80000000, 0xFFFFFFFF} {
		c := fake(t, func(h Header) [][]byte {
			body := make([]byte, 16)
			le.PutUint16(body, 17)
			le.PutUint32(body[4:], n)
			return [][]byte{frame(resp(h, ntstatus.Success, 1, 0, body))}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		tree := &Tree{Session: &Session{Conn: c, ID: 1}, ID: 1}
		done, err := tree.Write(ctx, FileID{}, 0, []byte("four"))
		cancel()
		if !errors.Is(err, ErrBounds) || done != 0 {
			t.Errorf("Write count %#x: wrote %d, %v; want ErrBounds", n, done, err)
		}
	}
}
