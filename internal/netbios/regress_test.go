package netbios

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// FuzzReadFrame: NBSS framing from a hostile peer: a frame over the limit
// is refused, keep-alives are skipped, nothing panics.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0x85, 0, 0, 0, 0, 0, 0, 4, 0xFE, 'S', 'M', 'B'})
	f.Add([]byte{0, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0x85, 0, 0, 2, 1, 2, 0, 0, 0, 1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ReadFrame(bytes.NewReader(b), 4096)
		if err == nil && (len(fr) > 4096 || len(fr) > len(b)) {
			t.Fatalf("%d-byte frame from %d bytes, limit 4096", len(fr), len(b))
		}
	})
}

// FuzzSessionRequest: whatever a server answers to a SESSION REQUEST, the
// call returns (within its deadline) and never panics.
func FuzzSessionRequest(f *testing.F) {
	f.Add([]byte{0x82, 0, 0, 0})
	f.Add([]byte{0x83, 0, 0, 1, 0x80})
	f.Add([]byte{0x84, 0, 0, 6, 127, 0, 0, 1, 0, 139})
	f.Add([]byte{0x85, 0, 0, 0, 0x82, 0, 0, 0})
	f.Fuzz(func(t *testing.T, reply []byte) {
		cl, sv := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer sv.Close()
			buf := make([]byte, 72)
			for got := 0; got < len(EncodeSessionRequest(SMBServerName, "NULLSWEEP")); {
				n, err := sv.Read(buf)
				if err != nil {
					return
				}
				got += n
			}
			sv.Write(reply)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		SessionRequest(ctx, cl, SMBServerName, "NULLSWEEP")
		cl.Close()
		<-done
	})
}
