package dcerpc

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.hex")
	for _, p := range paths {
		f.Add(loadHex(nil, filepath.Base(p)))
	}
}

// FuzzParsePDU: the PDU decoders must never panic, and a fragment they
// accept must lie inside the input.
func FuzzParsePDU(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if ack, err := ParseBindAck(b); err == nil && len(ack.Results)*24 > len(b) {
			t.Fatalf("%d results from %d bytes", len(ack.Results), len(b))
		}
		if fr, err := ParseFragment(b); err == nil && len(fr.Stub) > len(b) {
			t.Fatalf("stub longer than input")
		}
	})
}

// FuzzClientCall feeds arbitrary bytes as the server's reply to a call
// (after a real bind ack): the client must return data or an error, never
// panic or hang.
func FuzzClientCall(f *testing.F) {
	addSeeds(f)
	f.Add(responsePDU(2, 3, []byte{1, 2, 3, 4}))
	f.Add(append(responsePDU(2, 1, []byte{1, 2}), responsePDU(2, 2, []byte{3})...))
	f.Fuzz(func(t *testing.T, reply []byte) {
		srv := &fakeServer{}
		srv.handle = func(pdu []byte) []byte {
			h, _ := ParseHeader(pdu)
			if h.Type == PTypeBind {
				return ackFor(pdu)
			}
			return reply
		}
		c, err := Bind(context.Background(), srv, EPM)
		if err != nil {
			t.Fatal(err)
		}
		c.MaxResponse = 1 << 16
		out, err := c.Call(context.Background(), 1, []byte{0, 0, 0, 0})
		if err == nil && len(out) > len(reply) {
			t.Fatalf("stub of %d bytes from %d", len(out), len(reply))
		}
	})
}

// FuzzClientCallReadAhead: any reply, over a pipe that reads ahead, for
// two calls in a row: no panic, no stub longer than what was received, and
// never more reads sent ahead than maxReadAhead.
func FuzzClientCallReadAhead(f *testing.F) {
	addSeeds(f)
	big := responsePDU(2, FlagFirstFrag, make([]byte, 1000))
	binary.LittleEndian.PutUint32(big[16:], 100000) // alloc_hint far past the reply
	f.Add(append(big, responsePDU(2, FlagLastFrag, []byte{1})...))
	f.Add(append(responsePDU(2, FlagFirstFrag, []byte{1, 2}), responsePDU(2, FlagLastFrag, []byte{3})...))
	f.Fuzz(func(t *testing.T, reply []byte) {
		p := &msgPipe{fixed: reply}
		c, err := Bind(context.Background(), p, EPM)
		if err != nil {
			t.Fatal(err)
		}
		c.MaxResponse = 1 << 16
		for range 2 {
			out, err := c.Call(context.Background(), 1, []byte{0, 0, 0, 0})
			if err == nil && len(out) > 2*len(reply) {
				t.Fatalf("stub of %d bytes from %d a reply", len(out), len(reply))
			}
		}
		if p.most > maxReadAhead {
			t.Fatalf("%d reads ahead at once", p.most)
		}
	})
}
