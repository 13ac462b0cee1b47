// Package epm is the client side of the DCE/RPC endpoint mapper (C706
// appendix O, [MS-RPCE] 2.2.1.2 and 3.3.1.5.8): ept_lookup lists every
// registered endpoint by following the entry handle until the server says
// there are no more, ept_map asks where one interface listens. Towers are
// decoded floor by floor (tower.go). The server answers anonymously on TCP
// 135 (and \PIPE\epmapper), which is why nullsweep asks.
package epm

import (
	"context"
	"errors"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// Opnums of the ept interface (C706 appendix O).
const (
	OpLookup           = 2
	OpMap              = 3
	OpLookupHandleFree = 4
)

// Status values of ept_lookup and ept_map (C706 appendix E). The end of
// the list is ept_s_not_registered (Samba names the same value
// EPMAPPER_STATUS_NO_MORE_ENTRIES).
const (
	StatusOK            uint32 = 0
	StatusNotRegistered uint32 = 0x16c9a0d6
	StatusCantPerformOp uint32 = 0x000006d8 // Windows' RPC_S_CANNOT_SUPPORT-style refusal ([MS-RPCE] 3.3.1.5.8)
	StatusNoMemory      uint32 = 0x16c9a012
)

// Bounds of one lookup.
const (
	// DefaultMaxEntries caps the entries collected over all calls; a busy
	// Windows DC registers a few hundred.
	DefaultMaxEntries = 4096
	// DefaultPerCall is max_ents of each ept_lookup.
	DefaultPerCall = 64
	// maxAnnotation is ept_max_annotation_size (C706 appendix O).
	maxAnnotation = 64
	// maxStalls bounds replies that return nothing yet claim more follow.
	maxStalls = 2
	// entryMin is the least wire size of an ept_entry_t: object UUID,
	// tower pointer, annotation offset and count.
	entryMin = 16 + 4 + 8
)

var (
	// ErrTruncated: the entry cap was reached before the server said no more.
	ErrTruncated = errors.New("epm: entry limit reached before the end of the list")
	// ErrStalled: the server kept returning no entries without ending the list.
	ErrStalled = errors.New("epm: server returns no entries but does not end the list")
)

// StatusError is an ept status other than success or the end of the list.
type StatusError struct{ Status uint32 }

func (e *StatusError) Error() string {
	return fmt.Sprintf("epm: status %s", StatusName(e.Status))
}

// StatusName names an ept status.
func StatusName(s uint32) string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotRegistered:
		return "ept_s_not_registered"
	case StatusCantPerformOp:
		return "ept_s_cant_perform_op"
	case StatusNoMemory:
		return "ept_s_no_memory"
	}
	return fmt.Sprintf("0x%08x", s)
}

// Caller sends one request stub and returns the response stub;
// *dcerpc.Client bound to dcerpc.EPM is one.
type Caller interface {
	Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error)
}

// Client makes endpoint mapper calls.
type Client struct {
	c Caller
	// MaxEntries caps a lookup (DefaultMaxEntries); PerCall is max_ents
	// (DefaultPerCall).
	MaxEntries int
	PerCall    int
}

// New returns a client over a caller bound to the endpoint mapper.
func New(c Caller) *Client {
	return &Client{c: c, MaxEntries: DefaultMaxEntries, PerCall: DefaultPerCall}
}

// Entry is one ept_entry_t.
type Entry struct {
	Object     dcerpc.UUID
	Annotation string
	// Tower is the decoded tower, nil when it did not decode (TowerErr
	// says why) or the server sent none.
	Tower    *Tower
	TowerErr error
	RawTower []byte
}

// Binding is the entry's string binding, as rpcclient's epmlookup prints it.
func (e Entry) Binding() string {
	if e.Tower == nil {
		return ""
	}
	return e.Tower.Binding()
}

// Lookup lists every entry: ept_lookup with rpc_c_ep_all_elts, following
// the entry handle until the server ends the list (ept_s_not_registered, or
// a zero handle). Entries read before an error are returned with it. When
// the cap stops the walk, the handle is released with
// ept_lookup_handle_free and the error is ErrTruncated.
func (c *Client) Lookup(ctx context.Context) ([]Entry, error) {
	maxEntries, per := c.MaxEntries, c.PerCall
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if per <= 0 {
		per = DefaultPerCall
	}
	var handle ndr.Handle
	var all []Entry
	stalls := 0
	for calls := 1; ; calls++ {
		ask := min(per, maxEntries-len(all))
		out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, lookupCap(ask)), OpLookup, EncodeLookup(handle, uint32(ask)))
		if err != nil {
			return all, fmt.Errorf("epm: lookup (call %d): %w", calls, err)
		}
		r, err := DecodeLookup(out, uint32(per))
		if err != nil {
			return all, fmt.Errorf("epm: lookup (call %d): %w", calls, err)
		}
		all = append(all, r.Entries...)
		handle = r.Handle
		switch r.Status {
		case StatusOK:
		case StatusNotRegistered:
			return all, nil
		default:
			return all, fmt.Errorf("epm: lookup (call %d): %w", calls, &StatusError{r.Status})
		}
		if handle.IsZero() {
			return all, nil
		}
		if len(r.Entries) == 0 {
			if stalls++; stalls >= maxStalls {
				c.free(ctx, handle)
				return all, fmt.Errorf("epm: lookup (call %d): %w", calls, ErrStalled)
			}
		} else {
			stalls = 0
		}
		if len(all) >= maxEntries {
			c.free(ctx, handle)
			return all, fmt.Errorf("epm: lookup: %w (%d)", ErrTruncated, maxEntries)
		}
	}
}

// towerCap is the most one twr_t referent can honestly take: conformance,
// length, octets, padding.
const towerCap = 4 + 4 + MaxTowerLen + 3

// lookupCap bounds an ept_lookup reply of n entries: handle, counts, the
// entries with their longest annotation and tower, the status.
func lookupCap(n int) int {
	return 64 + n*(entryMin+maxAnnotation+4+towerCap)
}

// free releases a lookup handle the walk did not finish; its failure
// changes nothing the caller could act on.
func (c *Client) free(ctx context.Context, h ndr.Handle) {
	var w ndr.Writer
	w.Handle(h)
	c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.SmallResponse), OpLookupHandleFree, w.Bytes())
}

// EncodeLookup encodes ept_lookup's request: all elements, no object or
// interface filter, all versions.
func EncodeLookup(handle ndr.Handle, maxEnts uint32) []byte {
	var w ndr.Writer
	w.Uint32(0)      // inquiry_type: rpc_c_ep_all_elts
	w.Pointer(false) // object
	w.Pointer(false) // interface_id
	w.Uint32(1)      // vers_option: rpc_c_vers_all
	w.Handle(handle)
	w.Uint32(maxEnts)
	return w.Bytes()
}

// LookupReply is a decoded ept_lookup response.
type LookupReply struct {
	Handle  ndr.Handle
	Entries []Entry
	Status  uint32
}

// DecodeLookup decodes an ept_lookup response stub. maxEnts is what was
// asked for: a server that returns more is refused.
func DecodeLookup(stub []byte, maxEnts uint32) (*LookupReply, error) {
	r := ndr.NewReader(stub)
	rep := &LookupReply{Handle: r.Handle()}
	num := r.Uint32()
	n := r.ConformantVaryingCount(entryMin)
	if r.Err() == nil && (uint32(n) != num || num > maxEnts) {
		r.Fail(fmt.Errorf("%w: %d entries, num_ents %d, asked %d", ndr.ErrRange, n, num, maxEnts))
	}
	if r.Err() == nil {
		rep.Entries = make([]Entry, n)
	}
	towers := make(map[uint32]int) // full pointer referent -> entry index
	for i := range rep.Entries {
		e := &rep.Entries[i]
		r.Align(4)
		copy(e.Object[:], r.Bytes(16))
		id, first := r.FullPointer()
		switch {
		case id == 0:
		case first:
			towers[id] = i
			r.Defer(func(r *ndr.Reader) { e.RawTower = readTower(r) })
		default:
			j, ok := towers[id]
			if !ok {
				r.Fail(ndr.ErrNotFound)
				break
			}
			r.Defer(func(r *ndr.Reader) { e.RawTower = rep.Entries[j].RawTower })
		}
		cnt := r.VaryingCount(maxAnnotation, 1)
		e.Annotation = cstring(r.Bytes(cnt))
	}
	r.Flush()
	rep.Status = r.Uint32()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("epm: decode lookup: %w", err)
	}
	for i := range rep.Entries {
		e := &rep.Entries[i]
		if e.RawTower != nil {
			e.Tower, e.TowerErr = ParseTower(e.RawTower)
		}
	}
	return rep, nil
}

// readTower reads a twr_t referent: the conformance, tower_length and the
// octets, which must agree and fit MaxTowerLen.
func readTower(r *ndr.Reader) []byte {
	conf := r.Uint32()
	length := r.Uint32()
	if r.Err() != nil {
		return nil
	}
	if conf != length || length > MaxTowerLen {
		r.Fail(fmt.Errorf("%w: tower length %d, conformance %d", ndr.ErrRange, length, conf))
		return nil
	}
	b := r.Bytes(int(length))
	if b == nil {
		b = []byte{}
	}
	return b
}

// Map asks where iface listens over ncacn_ip_tcp (ept_map with a tower of
// port 0, address 0) and returns the towers the server gives back, at most
// maxTowers. An interface the server does not know yields
// ept_s_not_registered as a *StatusError.
func (c *Client) Map(ctx context.Context, iface dcerpc.SyntaxID, maxTowers uint32) ([]*Tower, error) {
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, 64+int(min(maxTowers, 1<<16))*(4+towerCap)), OpMap, EncodeMap(iface, maxTowers))
	if err != nil {
		return nil, fmt.Errorf("epm: map %s: %w", iface, err)
	}
	raw, status, err := DecodeMap(out, maxTowers)
	if err != nil {
		return nil, fmt.Errorf("epm: map %s: %w", iface, err)
	}
	if status != StatusOK {
		return nil, fmt.Errorf("epm: map %s: %w", iface, &StatusError{status})
	}
	towers := make([]*Tower, 0, len(raw))
	for _, b := range raw {
		t, err := ParseTower(b)
		if err != nil {
			return nil, fmt.Errorf("epm: map %s: %w", iface, err)
		}
		towers = append(towers, t)
	}
	return towers, nil
}

// EncodeMap encodes ept_map's request for an ncacn_ip_tcp tower of iface,
// with the nil object UUID.
func EncodeMap(iface dcerpc.SyntaxID, maxTowers uint32) []byte {
	var w ndr.Writer
	w.Pointer(true)
	w.Raw(make([]byte, 16)) // object: the nil UUID
	tower := MarshalTower(iface)
	w.Pointer(true)
	w.Uint32(uint32(len(tower))) // conformance
	w.Uint32(uint32(len(tower)))
	w.Raw(tower)
	w.Handle(ndr.Handle{})
	w.Uint32(maxTowers)
	return w.Bytes()
}

// DecodeMap decodes ept_map's response: the towers' octets and the status.
func DecodeMap(stub []byte, maxTowers uint32) ([][]byte, uint32, error) {
	r := ndr.NewReader(stub)
	r.Handle()
	num := r.Uint32()
	n := r.ConformantVaryingCount(4)
	if r.Err() == nil && (uint32(n) != num || num > maxTowers) {
		r.Fail(fmt.Errorf("%w: %d towers, num_towers %d, asked %d", ndr.ErrRange, n, num, maxTowers))
	}
	var towers [][]byte
	if r.Err() == nil {
		towers = make([][]byte, 0, n)
	}
	ptrs := make([]uint32, 0, n)
	for range n {
		ptrs = append(ptrs, r.Uint32())
	}
	for _, p := range ptrs {
		if p == 0 || r.Err() != nil {
			continue
		}
		towers = append(towers, readTower(r))
		r.Align(4)
	}
	status := r.Uint32()
	if err := r.Err(); err != nil {
		return nil, 0, fmt.Errorf("epm: decode map: %w", err)
	}
	return towers, status, nil
}
