package smb2

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
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

// FuzzConnMux plays a server that answers concurrent requests as the
// input says: in or out of order, interim first, twice, for ids never
// sent, with the wrong command, in compounds, with few or no credits,
// with raw bytes between. Whatever it does, every caller returns, an
// answer goes only to the request it names, no request goes out without a
// credit or reuses a MessageId, a CANCEL names a request that was sent,
// and Close ends the reader.
func FuzzConnMux(f *testing.F) {
	f.Add([]byte{3, 0, 2, 0, 2, 0, 2})
	f.Add([]byte{4, 2, 0, 1, 2, 0, 1, 0, 1, 0, 1})
	f.Add([]byte{2, 0, 0, 3, 0, 0, 1})
	f.Add([]byte{2, 0, 2, 4, 0})
	f.Add([]byte{5, 8, 2, 8, 1, 7, 0, 0, 2})
	f.Add([]byte{1, 5, 6, 0, 0, 0, 0, 0xFE, 'S', 'M', 0, 2})
	f.Fuzz(fuzzMux)
}

func fuzzMux(t *testing.T, script []byte) {
	{
		if len(script) == 0 || len(script) > 256 {
			return
		}
		callers := 1 + int(script[0]%6)
		script = script[1:]
		cli, srv := net.Pipe()
		c := NewConn(cli)

		var mu sync.Mutex
		granted, received := 1, 0
		sentIDs := map[uint64]bool{}
		finals := map[uint64]bool{}
		var problems []string
		reqs := make(chan Header, 64)
		go func() {
			defer close(reqs)
			for {
				var fh [4]byte
				if _, err := io.ReadFull(srv, fh[:]); err != nil {
					return
				}
				b := make([]byte, int(fh[1])<<16|int(fh[2])<<8|int(fh[3]))
				if _, err := io.ReadFull(srv, b); err != nil {
					return
				}
				h, err := ParseHeader(b)
				mu.Lock()
				switch {
				case err != nil:
					problems = append(problems, "unparseable request: "+err.Error())
				case h.Command == CmdCancel:
					if !sentIDs[h.MessageID] {
						problems = append(problems, fmt.Sprintf("CANCEL for id %d, never sent", h.MessageID))
					}
				default:
					received++
					if received > granted {
						problems = append(problems, fmt.Sprintf("request %d with %d credits granted", received, granted))
					}
					if sentIDs[h.MessageID] {
						problems = append(problems, fmt.Sprintf("message id %d reused", h.MessageID))
					}
					sentIDs[h.MessageID] = true
				}
				mu.Unlock()
				if err == nil && h.Command != CmdCancel {
					reqs <- h
				}
			}
		}()

		results := make(chan result, 2*callers)
		for range callers {
			go func() {
				for range 2 {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					m, err := c.RoundTrip(ctx, echo())
					cancel()
					results <- result{m, err}
				}
			}()
		}

		// The server side, driven by the script.
		var pending []Header
		var last []byte
		wantReq := func() bool {
			for {
				select {
				case h, ok := <-reqs:
					if !ok {
						return len(pending) > 0
					}
					pending = append(pending, h)
					continue
				default:
				}
				if len(pending) > 0 {
					return true
				}
				select {
				case h, ok := <-reqs:
					if !ok {
						return false
					}
					pending = append(pending, h)
				case <-time.After(20 * time.Millisecond):
					return false
				}
			}
		}
		reply := func(h Header, st ntstatus.Status, credits uint16, flags uint32) []byte {
			mu.Lock()
			granted += int(credits)
			if st != ntstatus.Pending {
				finals[h.MessageID] = true
			}
			mu.Unlock()
			body := []byte{4, 0, 0, 0}
			if st == ntstatus.Pending {
				body = errBody
			}
			return resp(h, st, credits, flags, body)
		}
		write := func(b []byte) bool {
			srv.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			_, err := srv.Write(b)
			return err == nil
		}
		param := func(i *int) byte {
			if *i+1 < len(script) {
				*i++
				return script[*i]
			}
			return 0
		}
	ops:
		for i := 0; i < len(script); i++ {
			op := script[i] % 10
			ok := true
			switch op {
			case 0, 1, 2, 7:
				if !wantReq() {
					continue
				}
				k := 0
				if op == 1 {
					k = len(pending) - 1
				}
				h := pending[k]
				switch op {
				case 2:
					ok = write(frame(reply(h, ntstatus.Pending, uint16(param(&i)%3), FlagAsyncCommand)))
					continue
				case 7:
					h.Command = CmdRead
				}
				pending = append(pending[:k], pending[k+1:]...)
				last = frame(reply(h, ntstatus.Success, uint16(param(&i)%3), 0))
				ok = write(last)
			case 3:
				if last != nil {
					ok = write(last)
				}
			case 4:
				ok = write(frame(reply(Header{Command: CmdEcho, MessageID: 1000 + uint64(param(&i))}, ntstatus.Success, 1, 0)))
			case 5:
				n := int(param(&i) % 16)
				ok = write(script[i+1 : min(len(script), i+1+n)])
				i += n
			case 6:
				wantReq()
			case 8:
				if !wantReq() || len(pending) < 2 {
					continue
				}
				a := reply(pending[0], ntstatus.Success, 1, 0)
				a = append(a, 0, 0, 0, 0)
				le.PutUint32(a[20:], uint32(len(a)))
				b := reply(pending[1], ntstatus.Success, 1, 0)
				pending = pending[2:]
				ok = write(frame(a, b))
			case 9:
				ok = write([]byte{0x85, 0, 0, 0})
			}
			if !ok {
				break ops
			}
		}
		srv.Close()

		timeout := time.After(5 * time.Second)
		for range 2 * callers {
			select {
			case r := <-results:
				if r.err != nil {
					continue
				}
				mu.Lock()
				known := finals[r.m.MessageID]
				mu.Unlock()
				if !known || r.m.Command != CmdEcho {
					t.Errorf("answer %d (command %d) for no final reply sent", r.m.MessageID, r.m.Command)
				}
			case <-timeout:
				t.Fatal("a caller did not return")
			}
		}
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not return")
		}
		for range reqs {
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Error(p)
		}
	}
}
