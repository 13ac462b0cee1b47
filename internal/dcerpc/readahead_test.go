package dcerpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/smb"
)

// msgPipe is a message-mode pipe (a read returns one fragment, as Samba's
// named pipes do) that can read ahead. A request's stub is the length of
// the reply it wants (uint16); the reply's stub is that many bytes of
// replyByte(i), in fragments of frag stub bytes, with alloc_hint on the
// first fragment scaled by hint (1: what C706 12.6.4.10 says, the stub
// left). With fixed set, every request is answered with those bytes
// instead, cut into messages at the fragment lengths they claim (the rest
// as one message where a length makes no sense).
type msgPipe struct {
	frag      int
	hint      float64
	fixed     []byte
	msgs      [][]byte
	reads     int // ordinary reads
	transacts int
	aheadN    []int
	dropped   int
	out, most int  // reads sent ahead and not taken: now, and at most
	badSecond bool // the second fragment of a reply names another call
}

func (p *msgPipe) Write(ctx context.Context, b []byte) (int, error) {
	h, _ := ParseHeader(b)
	if h.Type == PTypeBind {
		p.msgs = append(p.msgs, ackFor(b))
		return len(b), nil
	}
	if p.fixed != nil {
		for r := p.fixed; len(r) > 0; {
			n := len(r)
			if len(r) >= headerLen {
				if l := int(binary.LittleEndian.Uint16(r[8:])); l >= headerLen && l <= len(r) {
					n = l
				}
			}
			p.msgs = append(p.msgs, r[:n])
			r = r[n:]
		}
		return len(b), nil
	}
	stub := replyStub(int(binary.LittleEndian.Uint16(b[requestLen:])))
	total := len(stub)
	for first := true; ; first = false {
		n := min(p.frag, len(stub))
		fl := uint8(0)
		if first {
			fl |= FlagFirstFrag
		}
		if n == len(stub) {
			fl |= FlagLastFrag
		}
		id := h.CallID
		if p.badSecond && !first && len(p.msgs) > 0 && p.msgs[len(p.msgs)-1][3]&FlagFirstFrag != 0 {
			id++
		}
		m := responsePDU(id, fl, stub[:n])
		if first {
			binary.LittleEndian.PutUint32(m[16:], uint32(float64(total)*p.hint))
		}
		p.msgs = append(p.msgs, m)
		stub = stub[n:]
		if len(stub) == 0 {
			return len(b), nil
		}
	}
}

func replyStub(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func ask(n int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(n)) }

func (p *msgPipe) pop() []byte {
	if len(p.msgs) == 0 {
		return nil
	}
	m := p.msgs[0]
	p.msgs = p.msgs[1:]
	return m
}

func (p *msgPipe) Read(ctx context.Context, max int) ([]byte, error) {
	p.reads++
	return p.pop(), nil
}

func (p *msgPipe) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	p.transacts++
	p.Write(ctx, in)
	return p.pop(), nil
}

func (p *msgPipe) ReadAhead(ctx context.Context, n, size int) (smb.AheadReads, error) {
	p.aheadN = append(p.aheadN, n)
	p.out += n
	p.most = max(p.most, p.out)
	return &msgReads{p: p, left: n}, nil
}

type msgReads struct {
	p    *msgPipe
	left int
}

func (r *msgReads) Next(ctx context.Context) ([]byte, error) {
	r.left--
	r.p.out--
	return r.p.pop(), nil
}

func (r *msgReads) Left() int { return r.left }

func (r *msgReads) Drop() {
	r.p.dropped += r.left
	r.p.out -= r.left
	r.left = 0
}

// A reply of many fragments is read with the reads its alloc_hint asks
// for sent at once; a hint too small leaves the rest to ordinary reads;
// reads a hint too large sent past the reply's end are first in line for
// the next replies, which take them (the request written alone, not
// transceived) until none is left.
func TestReadAhead(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hint      float64
		wantAhead []int // batches sent ahead over the three calls
		wantReads int   // ordinary reads over the three calls
		wantLeft  int   // reads still out after the first call
	}{
		{name: "exact hint", hint: 1, wantAhead: []int{4, 4}},
		{name: "no hint", hint: 0, wantReads: 8},
		{name: "hint too small", hint: 0.5, wantAhead: []int{2, 2}, wantReads: 4},
		{name: "hint too large", hint: 3, wantAhead: []int{14}, wantLeft: 10},
		{name: "hint past the cap", hint: 100, wantAhead: []int{maxReadAhead}, wantLeft: maxReadAhead - 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p := &msgPipe{frag: 1000, hint: tc.hint}
			c, err := Bind(ctx, p, EPM)
			if err != nil {
				t.Fatal(err)
			}
			// 5,000 bytes (5 fragments of 1,000), 2 bytes, 5,000 again.
			for i, n := range []int{5000, 2, 5000} {
				got, err := c.Call(ctx, 3, ask(n))
				if err != nil || !bytes.Equal(got, replyStub(n)) {
					t.Fatalf("call %d: %d bytes, err %v", i, len(got), err)
				}
				if i == 0 && c.pendingReads() != tc.wantLeft {
					t.Errorf("%d reads out after the first reply, want %d", c.pendingReads(), tc.wantLeft)
				}
			}
			if !slices.Equal(p.aheadN, tc.wantAhead) || p.reads != tc.wantReads {
				t.Errorf("reads sent ahead %v, ordinary reads %d; want %v, %d", p.aheadN, p.reads, tc.wantAhead, tc.wantReads)
			}
			// With reads left out, the later requests are written, not
			// transceived: bind and the first call only.
			if want := map[bool]int{false: 4, true: 2}[tc.wantLeft > 0]; p.transacts != want {
				t.Errorf("%d transceives (bind and calls), want %d", p.transacts, want)
			}
		})
	}
}

// A reply that cannot be read whole (here: its second fragment names
// another call) leaves the stream out of step: the reads sent ahead for
// it are dropped, and the next call fails at once instead of reading the
// rest of that reply as its own.
func TestReplyNotReadWholeBreaksAssociation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := &msgPipe{frag: 1000, hint: 1, badSecond: true}
	c, err := Bind(ctx, p, EPM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, 3, ask(5000)); !errors.Is(err, ErrCallID) {
		t.Fatalf("a reply whose second fragment names another call: %v", err)
	}
	if p.dropped != 3 {
		t.Errorf("%d reads sent ahead dropped, want the 3 not taken", p.dropped)
	}
	sent := p.transacts
	if _, err := c.Call(ctx, 3, ask(2)); !errors.Is(err, ErrOutOfStep) || p.transacts != sent {
		t.Errorf("next call: %v, %d requests sent; want ErrOutOfStep and none", err, p.transacts-sent)
	}
}
