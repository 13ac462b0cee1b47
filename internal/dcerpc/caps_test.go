package dcerpc

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/nullsweep/nullsweep/internal/amp"
)

// endlessCall binds a client to a server that answers the call with
// fragments of stub bytes each, never LAST_FRAG, alloc_hint 0xFFFFFFFF.
func endlessCall(t *testing.T, stub int) (*Client, *endless) {
	t.Helper()
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
	reader := &endless{fakeServer: srv}
	reader.next = func(first bool) []byte {
		fl := uint8(0)
		if first {
			fl = FlagFirstFrag
		}
		b := responsePDU(id, fl, make([]byte, stub))
		binary.LittleEndian.PutUint32(b[16:], 0xFFFFFFFF)
		return b
	}
	c, err := Bind(context.Background(), reader, EPM)
	if err != nil {
		t.Fatal(err)
	}
	return c, reader
}

// TestPerCallCap: a call's own cap (WithMaxResponse) stops reassembly
// there, below the client's, and what it allocates stays within
// amp.Factor of the bytes received.
func TestPerCallCap(t *testing.T) {
	for _, limit := range []int{SmallResponse, PageResponse, LookupResponse(1000, 511)} {
		c, srv := endlessCall(t, 4000)
		var err error
		amp.Check(t, "dcerpc reassembly", limit, func() any {
			srv.calls = 0
			_, err = c.Call(WithMaxResponse(context.Background(), limit), 0, nil)
			return nil
		})
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("cap %d: err = %v", limit, err)
		}
		if got := srv.calls * 4000; got > limit+4000 {
			t.Errorf("cap %d: read %d stub bytes", limit, got)
		}
	}
}

// TestEmptyFragmentsCounted: a stream of response fragments with no stub
// and no LAST_FRAG used to loop until the deadline; it now ends after
// maxEmptyFrags of them.
func TestEmptyFragmentsCounted(t *testing.T) {
	c, srv := endlessCall(t, 0)
	_, err := c.Call(context.Background(), 0, nil)
	if !errors.Is(err, ErrBadPDU) {
		t.Fatalf("err = %v", err)
	}
	if srv.calls > maxEmptyFrags+1 {
		t.Fatalf("read %d empty fragments", srv.calls)
	}
}
