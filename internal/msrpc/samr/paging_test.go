package samr

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// enumPageAt is an Enumerate* reply with n entries, resume handle resume
// and status st.
func enumPageAt(n, resume uint32, st ntstatus.Status) []byte {
	b := enumPage(n)
	binary.LittleEndian.PutUint32(b, resume)
	binary.LittleEndian.PutUint32(b[len(b)-4:], uint32(st))
	return b
}

// pagedRPC answers Enumerate* requests from a list of pages, one per
// request, and signals each request's arrival.
type pagedRPC struct {
	mu      sync.Mutex
	pages   [][]byte
	resumes []uint32 // resume handle of each request, in arrival order
	arrived chan int // the number of each request, as it arrives
}

func (p *pagedRPC) Call(_ context.Context, _ uint16, req []byte) ([]byte, error) {
	p.mu.Lock()
	// EnumerateUsersInDomain request: handle (20 bytes), then the resume handle.
	p.resumes = append(p.resumes, binary.LittleEndian.Uint32(req[20:]))
	k := len(p.resumes)
	p.mu.Unlock()
	if p.arrived != nil {
		p.arrived <- k
	}
	if k > len(p.pages) {
		return enumPageAt(1, 0, ntstatus.Success), nil
	}
	return p.pages[k-1], nil
}

// The request for page k+1 leaves before page k is decoded and recorded,
// with the resume handle page k carried; the evidence stays in page order
// and the entries are those of the sequential reading. Recording page k
// waits here until page k+1's request has arrived: a client that asked
// only after recording would never send it.
func TestPagingAsksAhead(t *testing.T) {
	f := &pagedRPC{arrived: make(chan int, 8), pages: [][]byte{
		enumPageAt(3, 11, ntstatus.MoreEntries),
		enumPageAt(2, 22, ntstatus.MoreEntries),
		enumPageAt(4, 0, ntstatus.Success),
	}}
	c := New(f)
	var details []string
	seen := 0
	c.OnCall = func(call Call) {
		details = append(details, call.Detail)
		if len(details) == len(f.pages) {
			return // the last page asks for nothing more
		}
		for seen <= len(details) {
			select {
			case seen = <-f.arrived:
			case <-time.After(5 * time.Second):
				t.Errorf("page %d recorded before the request for page %d was sent", len(details), len(details)+1)
				return
			}
		}
	}
	users, err := c.EnumerateUsers(context.Background(), Handle{}, 0)
	if err != nil || len(users) != 9 {
		t.Fatalf("%d users, err %v", len(users), err)
	}
	if want := []uint32{0, 11, 22}; !slices.Equal(f.resumes, want) {
		t.Errorf("requests at resume %v, want %v", f.resumes, want)
	}
	if want := []string{"resume 0", "resume 11", "resume 22"}; !slices.Equal(details, want) {
		t.Errorf("evidence %q, want %q", details, want)
	}
}

// A page whose header says more but whose body does not decode ends the
// enumeration with its error; the request already sent for the next page
// is waited for and recorded too, so every call sent is in the evidence.
func TestPagingSettlesWhatWasAskedAhead(t *testing.T) {
	bad := enumPageAt(3, 11, ntstatus.MoreEntries)
	// The array's conformant count (after EnumerationContext, the buffer
	// pointer, EntriesRead and the array pointer) no longer matches.
	binary.LittleEndian.PutUint32(bad[16:], 9)
	f := &pagedRPC{pages: [][]byte{bad, enumPageAt(2, 0, ntstatus.Success)}}
	c := New(f)
	var calls []Call
	c.OnCall = func(call Call) { calls = append(calls, call) }
	users, err := c.EnumerateUsers(context.Background(), Handle{}, 0)
	if err == nil || len(users) != 0 {
		t.Fatalf("%d users, err %v: want the bad page's error and no users", len(users), err)
	}
	if len(f.resumes) != 2 || len(calls) != 2 {
		t.Fatalf("%d requests, %d recorded: want both", len(f.resumes), len(calls))
	}
	if calls[0].Err == nil || calls[1].Err != nil || calls[1].Detail != "resume 11" {
		t.Errorf("evidence %+v", calls)
	}
}

// QueryDisplayInformation is asked ahead at the index the reply's
// EntriesRead gives, and reads what the sequential loop read.
func TestDisplayPagingAsksAhead(t *testing.T) {
	var mu sync.Mutex
	var indexes []uint32
	f := &fakeRPC{answerReq: func(_ uint16, req []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		// Handle (20), class (2, padded to 4), then Index.
		indexes = append(indexes, binary.LittleEndian.Uint32(req[24:]))
		if len(indexes) < 3 {
			return displayPage(5, ntstatus.MoreEntries), nil
		}
		return displayPage(2, ntstatus.Success), nil
	}}
	users, err := New(f).QueryDisplayUsers(context.Background(), Handle{})
	if err != nil || len(users) != 12 {
		t.Fatalf("%d users, err %v", len(users), err)
	}
	if want := []uint32{0, 5, 10}; !slices.Equal(indexes, want) {
		t.Errorf("indexes asked %v, want %v", indexes, want)
	}
}

// displayPage is a QueryDisplayInformation class 1 reply with n users
// (empty strings) and status st.
func displayPage(n uint32, st ntstatus.Status) []byte {
	b := le(100, 100)
	b = append(b, 1, 0, 0, 0) // class 1, padded
	b = append(b, le(n, 0x20000, n)...)
	for i := range n {
		b = append(b, le(i+1, 1000+i, 0x10, 0, 0, 0, 0, 0, 0)...)
	}
	return append(b, le(uint32(st))...)
}
