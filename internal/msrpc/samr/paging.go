package samr

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// pager describes one paged SAMR call: how to ask for the page at a
// cursor (an index or a resume handle), how to read the next cursor from a
// reply's raw bytes before it is decoded, and how to decode it.
type pager[T any] struct {
	name   string
	op     uint16
	detail func(cursor uint32) string
	enc    func(cursor uint32) []byte
	// peek reads, from fixed offsets of a reply, the cursor of the next
	// page and how many entries this page says it holds; ok is false
	// unless the status at its end is STATUS_MORE_ENTRIES.
	peek func(stub []byte, cursor uint32) (next uint32, count uint32, ok bool)
	// dec decodes a page: its entries, the next cursor and the status.
	dec func(stub []byte, cursor uint32) (items []T, next uint32, st ntstatus.Status, err error)
}

// fetched is one page's reply.
type fetched struct {
	cursor uint32
	stub   []byte
	err    error
	start  time.Time
}

// fetch asks for the page at cursor and waits for it.
func (c *Client) fetch(ctx context.Context, op uint16, req []byte, cursor uint32) fetched {
	start := time.Now()
	stub, err := c.call(ctx, op, req)
	return fetched{cursor, stub, err, start}
}

// ask fetches the page at cursor in the background (ahead of its turn).
func (c *Client) ask(ctx context.Context, op uint16, req []byte, cursor uint32) <-chan fetched {
	ch := make(chan fetched, 1)
	go func() { ch <- c.fetch(ctx, op, req, cursor) }()
	return ch
}

// pages reads a paged call to its end with the next page's request sent
// before the current page is decoded: a reply's raw bytes carry the next
// cursor at fixed offsets (peek), so the server prepares page k+1 while the
// client decodes page k. Calls on one association stay one at a time (the
// request for k+1 leaves once k's reply is in); only the client's decoding
// overlaps the server's work. A page is asked ahead only when the page in
// hand, decoded, would lead to it under the same bounds (maxPages,
// MaxEntries, MaxEnumBytes); a reply whose decoding disagrees with what
// peek read is an error, and a request already sent is waited for and
// recorded like any other call.
func pages[T any](ctx context.Context, c *Client, p pager[T]) ([]T, error) {
	var all []T
	received := 0
	var ahead <-chan fetched
	// settle waits for a request sent ahead that will not be used, so no
	// call outlives this one and every call sent is in the evidence.
	settle := func() {
		if ahead == nil {
			return
		}
		f := <-ahead
		ahead = nil
		var st ntstatus.Status
		err := f.err
		if err == nil {
			_, _, st, err = p.dec(f.stub, f.cursor)
		}
		_ = c.done(p.op, p.name, p.detail(f.cursor), f.start, st, err)
	}
	defer settle()
	var cursor uint32
	for page := 0; ; page++ {
		if page >= c.maxPages() {
			return all, fmt.Errorf("samr: %s: still more entries after %d calls", p.name, page)
		}
		var f fetched
		if ahead != nil {
			f = <-ahead
			ahead = nil
		} else {
			f = c.fetch(ctx, p.op, p.enc(cursor), cursor)
		}
		var peeked uint32
		peekedOK := false
		if f.err == nil && page+1 < c.maxPages() && received+len(f.stub) < MaxEnumBytes {
			next, n, ok := p.peek(f.stub, f.cursor)
			if ok && n > 0 && len(all)+int(min(n, MaxEntries)) < MaxEntries && ctx.Err() == nil {
				peeked, peekedOK = next, true
				ahead = c.ask(ctx, p.op, p.enc(next), next)
			}
		}
		var items []T
		var next uint32
		var st ntstatus.Status
		err := f.err
		if err == nil {
			items, next, st, err = p.dec(f.stub, f.cursor)
		}
		if err := c.done(p.op, p.name, p.detail(f.cursor), f.start, st, err); err != nil {
			return all, err
		}
		all = append(all, items...)
		if st != ntstatus.MoreEntries {
			return all, nil // peek read the same status: nothing was asked ahead
		}
		if received += len(f.stub); len(all) >= MaxEntries || received >= MaxEnumBytes {
			return all, fmt.Errorf("samr: %s: stopped after %d entries in %d bytes (the most one enumeration may give)", p.name, len(all), received)
		}
		if len(items) == 0 {
			return all, fmt.Errorf("samr: %s: STATUS_MORE_ENTRIES with no entries", p.name)
		}
		if peekedOK && peeked != next {
			return all, fmt.Errorf("samr: %s: %w: next page at %d by its header, %d by its entries", p.name, ErrBadReply, peeked, next)
		}
		cursor = next
	}
}

// u32At reads a little-endian uint32 at off, if the stub holds it.
func u32At(stub []byte, off int) (uint32, bool) {
	if off < 0 || off+4 > len(stub) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(stub[off:]), true
}

// moreEntries: the status every SAMR reply ends with is STATUS_MORE_ENTRIES.
func moreEntries(stub []byte) bool {
	st, err := replyStatus(stub)
	return err == nil && st == ntstatus.MoreEntries
}

// enumPager pages one of the Enumerate* calls by resume handle. A reply is
// EnumerationContext, the buffer (pointer, EntriesRead, ...), CountReturned
// and the status: the next cursor is its first four bytes, the count the
// four before the status.
func (c *Client) enumPager(name string, op uint16, req func(resume uint32) []byte) pager[RIDName] {
	return pager[RIDName]{
		name: name, op: op, enc: req,
		detail: func(resume uint32) string { return fmt.Sprintf("resume %d", resume) },
		peek: func(stub []byte, _ uint32) (uint32, uint32, bool) {
			resume, ok1 := u32At(stub, 0)
			n, ok2 := u32At(stub, len(stub)-8)
			return resume, n, ok1 && ok2 && moreEntries(stub)
		},
		dec: func(stub []byte, _ uint32) ([]RIDName, uint32, ntstatus.Status, error) {
			rep, st, err := decEnum(stub)
			return rep.Entries, rep.Resume, st, err
		},
	}
}

// displayPager pages SamrQueryDisplayInformation class DomainDisplayUser
// by index. A reply is TotalAvailable, TotalReturned, the 16-bit class,
// then EntriesRead at offset 12: the next index is this one plus that
// count (servers number entries from 1 in Index, which gives the same).
func (c *Client) displayPager(domain Handle) pager[DisplayUser] {
	return pager[DisplayUser]{
		name: "QueryDisplayInformation", op: OpQueryDisplayInformation,
		detail: func(index uint32) string { return fmt.Sprintf("class 1 index %d", index) },
		enc: func(index uint32) []byte {
			return encQueryDisplay(domain, displayUser, index, 0xffffffff, prefLen)
		},
		peek: func(stub []byte, index uint32) (uint32, uint32, bool) {
			n, ok := u32At(stub, 12)
			return index + n, n, ok && moreEntries(stub)
		},
		dec: func(stub []byte, index uint32) ([]DisplayUser, uint32, ntstatus.Status, error) {
			rep, st, err := decQueryDisplay(stub)
			return rep.Users, index + uint32(len(rep.Users)), st, err
		},
	}
}
