package smb1

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/netbios"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// fakeServer answers each request with what reply returns for it; it
// stands in for servers that lie or misbehave, which Samba will not.
func fakeServer(t *testing.T, reply func(req *Message) [][]byte) *Client {
	t.Helper()
	cc, sc := net.Pipe()
	go func() {
		defer sc.Close()
		for {
			b, err := netbios.ReadFrame(sc, 1<<17)
			if err != nil {
				return
			}
			req, err := ParseMessage(b)
			if err != nil {
				return
			}
			for _, r := range reply(req) {
				if _, err := sc.Write(r); err != nil {
					return
				}
			}
		}
	}()
	c := NewClient(cc)
	t.Cleanup(func() { c.Close() })
	return c
}

// frame wraps an SMB message in the 4-byte session header.
func frame(msg []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(msg)))
	return append(b, msg...)
}

// replyTo builds a reply header for req with status, words and bytes.
func replyTo(req *Message, mid uint16, status ntstatus.Status, words, data []byte) []byte {
	r := &request{cmd: req.Command, flags2: Flags2NTStatus | Flags2Unicode, tid: req.TID, uid: req.UID, words: words, bytes: data}
	b := r.encode(req.PID, mid)
	b[9] |= flagsReply
	binary.LittleEndian.PutUint32(b[5:], uint32(status))
	return b
}

// transReply is one piece of a transaction reply carrying data[disp:disp+n].
func transReply(req *Message, total int, data []byte, disp int, status ntstatus.Status) []byte {
	w := make([]byte, transReplyWords)
	binary.LittleEndian.PutUint16(w[2:], uint16(total))
	binary.LittleEndian.PutUint16(w[12:], uint16(len(data)))
	off := headerLen + 1 + len(w) + 2 + 1
	binary.LittleEndian.PutUint16(w[14:], uint16(off))
	binary.LittleEndian.PutUint16(w[16:], uint16(disp))
	return replyTo(req, req.MID, status, w, append([]byte{0}, data...))
}

func TestFakeTransactionInPieces(t *testing.T) {
	c := fakeServer(t, func(req *Message) [][]byte {
		// An oplock break (MID 0xFFFF) first, then the reply in two pieces.
		return [][]byte{
			frame(replyTo(req, 0xFFFF, 0, nil, nil)),
			frame(transReply(req, 10, []byte("hello"), 0, 0)),
			{netbios.TypeKeepAlive, 0, 0, 0},
			frame(transReply(req, 10, []byte("world"), 5, 0)),
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := c.TransactNmPipe(ctx, 1, 1, 1, []byte("in"), 100)
	if err != nil || string(got) != "helloworld" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestFakeTransactionOverflow(t *testing.T) {
	c := fakeServer(t, func(req *Message) [][]byte {
		return [][]byte{frame(transReply(req, 5, []byte("hello"), 0, ntstatus.BufferOverflow))}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := c.TransactNmPipe(ctx, 1, 1, 1, []byte("in"), 5)
	if !errors.Is(err, ErrMoreData) || string(got) != "hello" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestFakeHostileReplies(t *testing.T) {
	tests := []struct {
		name  string
		reply func(req *Message) [][]byte
	}{
		{"total above our maximum", func(req *Message) [][]byte {
			return [][]byte{frame(transReply(req, 0xFFFF, []byte("x"), 0, 0))}
		}},
		{"piece beyond the total", func(req *Message) [][]byte {
			return [][]byte{frame(transReply(req, 4, []byte("hello"), 2, 0))}
		}},
		{"16 MiB frame", func(req *Message) [][]byte {
			return [][]byte{{0, 0xFF, 0xFF, 0xFF, 0xFF, 'S', 'M', 'B'}}
		}},
		{"not SMB1", func(req *Message) [][]byte {
			return [][]byte{frame([]byte("\xfeSMB" + string(make([]byte, 60))))}
		}},
		{"endless pieces", func(req *Message) [][]byte {
			var out [][]byte
			for i := 0; i < transMaxSecondaryReplies+1; i++ {
				out = append(out, frame(transReply(req, 100, nil, 0, 0)))
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeServer(t, tt.reply)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var err error
			if n := allocBytes(func() { _, err = c.TransactNmPipe(ctx, 1, 1, 1, []byte("in"), 100) }); n > 1<<20 {
				t.Errorf("allocated %d bytes", n)
			}
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestFakeSilentServerDeadline(t *testing.T) {
	c := fakeServer(t, func(req *Message) [][]byte { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Negotiate(ctx, true)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("silent server: %v after %v", err, time.Since(start))
	}
}

func TestFakeNoDialect(t *testing.T) {
	c := fakeServer(t, func(req *Message) [][]byte {
		return [][]byte{frame(replyTo(req, req.MID, 0, []byte{0xFF, 0xFF}, nil))}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Negotiate(ctx, true); !errors.Is(err, ErrNoDialect) {
		t.Fatalf("got %v, want ErrNoDialect", err)
	}
}
