package smb2

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// Fuzz targets and regressions for what a hostile server can send to a
// Conn: whole byte streams, not just single messages.

// frameOf puts msg in a Direct TCP frame with message id 0 and the
// server-to-redirector flag, the answer to a Conn's first request.
func frameOf(msg []byte) []byte {
	m := append([]byte(nil), msg...)
	if len(m) >= HeaderSize {
		binary.LittleEndian.PutUint64(m[24:], 0)
		binary.LittleEndian.PutUint32(m[16:], binary.LittleEndian.Uint32(m[16:])|FlagServerToRedir)
	}
	n := len(m)
	return append([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}, m...)
}

// serveStream answers one request on a fresh Conn with stream and returns
// what RoundTrip made of it.
func serveStream(t testing.TB, stream []byte) (*Message, error) {
	cl, sv := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sv.Close()
		var h [4]byte
		if _, err := sv.Read(h[:]); err != nil {
			return
		}
		n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
		buf := make([]byte, n)
		for got := 0; got < n; {
			k, err := sv.Read(buf[got:])
			if err != nil {
				return
			}
			got += k
		}
		sv.Write(stream)
	}()
	c := NewConn(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := c.RoundTrip(ctx, &Request{Command: CmdNegotiate, Body: []byte{36, 0}})
	c.Close()
	<-done
	return m, err
}

// FuzzConnRecv: any byte stream as the reply to a request ends in a
// message for that request or an error, never a panic or a hang, and a
// message returned lies inside the stream.
func FuzzConnRecv(f *testing.F) {
	for _, name := range []string{"negotiate.hex", "session_setup_challenge.hex", "ioctl.hex", "error.hex"} {
		f.Add(frameOf(readHex(f, name)))
	}
	neg := frameOf(readHex(f, "negotiate.hex"))
	f.Add(append([]byte{0x85, 0, 0, 0}, neg...))
	interim := frameOf(readHex(f, "error.hex"))
	binary.LittleEndian.PutUint32(interim[4+8:], 0x103)
	binary.LittleEndian.PutUint32(interim[4+16:], FlagServerToRedir|FlagAsyncCommand)
	f.Add(append(interim, neg...))
	f.Fuzz(func(t *testing.T, stream []byte) {
		m, err := serveStream(t, stream)
		if err == nil && (m.MessageID != 0 || len(m.Raw) > len(stream)) {
			t.Fatalf("message id %d, %d bytes from a %d-byte stream", m.MessageID, len(m.Raw), len(stream))
		}
	})
}

func FuzzParseWriteResponse(f *testing.F) {
	w := make([]byte, HeaderSize+16)
	copy(w, protocolID[:])
	binary.LittleEndian.PutUint16(w[4:], HeaderSize)
	binary.LittleEndian.PutUint16(w[12:], CmdWrite)
	binary.LittleEndian.PutUint16(w[HeaderSize:], 17)
	binary.LittleEndian.PutUint32(w[HeaderSize+4:], 4096)
	f.Add(w)
	f.Fuzz(func(t *testing.T, b []byte) { ParseWriteResponse(b) })
}

// TestHostileStreams are named cases a server could send on purpose.
func TestHostileStreams(t *testing.T) {
	neg := frameOf(readHex(t, "negotiate.hex"))
	compoundLoop := append([]byte(nil), neg...)
	binary.LittleEndian.PutUint32(compoundLoop[4+20:], 8) // NextCommand inside the header
	for _, tc := range []struct {
		name   string
		stream []byte
		ok     bool
	}{
		{"keep-alive before the reply", append([]byte{0x85, 0, 0, 0}, neg...), true},
		{"frame claims 16 MiB", []byte{0, 0xFF, 0xFF, 0xFF, 0xFE, 'S', 'M', 'B'}, false},
		{"truncated frame", neg[:len(neg)/2], false},
		{"compound next-command inside the header", compoundLoop, false},
		{"NBSS session-message type 0x81 instead of data", append([]byte{0x81}, neg[1:]...), false},
		{"SMB1 reply", frameOf(append([]byte{0xFF, 'S', 'M', 'B'}, make([]byte, 60)...)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := serveStream(t, tc.stream)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("took %v", d)
			}
		})
	}
}
