package srvsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// Share types ([MS-SRVS] 2.2.2.4).
const (
	STypeDiskTree  = 0x00000000
	STypePrintQ    = 0x00000001
	STypeDevice    = 0x00000002
	STypeIPC       = 0x00000003
	STypeMask      = 0x000000FF
	STypeTemporary = 0x40000000
	STypeSpecial   = 0x80000000
)

// TypeString names a share type: "disk", "printer", "device", "ipc", with
// "+special" / "+temporary" appended when those bits are set.
func TypeString(t uint32) string {
	var s string
	switch t & STypeMask {
	case STypeDiskTree:
		s = "disk"
	case STypePrintQ:
		s = "printer"
	case STypeDevice:
		s = "device"
	case STypeIPC:
		s = "ipc"
	default:
		s = fmt.Sprintf("0x%02x", t&STypeMask)
	}
	if t&STypeSpecial != 0 {
		s += "+special"
	}
	if t&STypeTemporary != 0 {
		s += "+temporary"
	}
	return s
}

// Share is SHARE_INFO_0 or SHARE_INFO_1 ([MS-SRVS] 2.2.4.22-23). At level
// 0 only Name is set.
type Share struct {
	Name   string
	Type   uint32
	Remark string
}

// ShareEnumResult is one NetrShareEnum reply.
type ShareEnumResult struct {
	Level        uint32
	Shares       []Share
	TotalEntries uint32
	Resume       *uint32 // nil when the server returned no resume handle
	Status       werror.Code
}

// maxEnumRounds bounds the resume loop against a server that keeps
// answering ERROR_MORE_DATA; maxShares bounds the shares all rounds
// together may return.
const (
	maxEnumRounds = 64
	maxShares     = 10000
	maxShareBytes = 4 << 20
)

// ShareEnum lists all shares at level 0 or 1 with NetrShareEnum ([MS-SRVS]
// 3.1.4.8), following the resume handle while the server says
// ERROR_MORE_DATA. Hidden ($) shares are included, as Windows and Samba
// return them to this call.
func (c *Client) ShareEnum(ctx context.Context, level uint32) ([]Share, error) {
	var all []Share
	var resume uint32
	received := 0
	for round := 0; ; round++ {
		if round == maxEnumRounds {
			return all, fmt.Errorf("srvsvc: share enum: still ERROR_MORE_DATA after %d calls", round)
		}
		out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.PageResponse), OpNetrShareEnum, EncodeShareEnum(c.server, level, resume))
		if err != nil {
			return all, fmt.Errorf("srvsvc: share enum %d: %w", level, err)
		}
		res, err := DecodeShareEnum(out)
		if err != nil {
			return all, fmt.Errorf("srvsvc: share enum %d: %w", level, err)
		}
		all = append(all, res.Shares...)
		if received += len(out); len(all) > maxShares || received > maxShareBytes {
			return all, fmt.Errorf("srvsvc: share enum %d: stopped after %d shares in %d bytes (the most we read)", level, len(all), received)
		}
		switch res.Status {
		case werror.Success:
			return all, nil
		case werror.MoreData:
			if res.Resume == nil || len(res.Shares) == 0 {
				return all, fmt.Errorf("srvsvc: share enum %d: ERROR_MORE_DATA without progress", level)
			}
			resume = *res.Resume
		default:
			return all, fmt.Errorf("srvsvc: share enum %d: %w", level, res.Status)
		}
	}
}

// Shares lists shares at level 1 and falls back to level 0 (names only)
// when the server refuses level 1. It returns the level that worked.
func (c *Client) Shares(ctx context.Context) ([]Share, uint32, error) {
	shares, err := c.ShareEnum(ctx, 1)
	if err == nil {
		return shares, 1, nil
	}
	var code werror.Code
	if !errors.As(err, &code) || code == werror.MoreData {
		return shares, 1, err
	}
	shares0, err0 := c.ShareEnum(ctx, 0)
	if err0 != nil {
		return nil, 0, errors.Join(err, err0)
	}
	return shares0, 0, nil
}

// EncodeShareEnum builds the NetrShareEnum request: ServerName, an empty
// SHARE_ENUM_STRUCT of the level, PreferedMaximumLength = MAX_PREFERRED_LENGTH,
// and the resume handle.
func EncodeShareEnum(server string, level, resume uint32) []byte {
	var w ndr.Writer
	w.UniqueStringZ(&server)
	w.Uint32(level) // SHARE_ENUM_STRUCT.Level
	w.Uint32(level) // union discriminant
	w.Pointer(true) // container
	w.Defer(func(w *ndr.Writer) {
		w.Uint32(0)      // EntriesRead
		w.Pointer(false) // Buffer
	})
	w.Flush()
	w.Uint32(0xFFFFFFFF)
	w.Pointer(true)
	w.Uint32(resume)
	return w.Bytes()
}

// DecodeShareEnum decodes a NetrShareEnum reply. Counts are checked against
// the stub before anything is allocated.
func DecodeShareEnum(stub []byte) (*ShareEnumResult, error) {
	r := ndr.NewReader(stub)
	res := &ShareEnumResult{Level: r.Uint32()}
	disc := r.Uint32()
	if r.Err() == nil && disc != res.Level {
		return nil, fmt.Errorf("srvsvc: share enum: union arm %d for level %d", disc, res.Level)
	}
	var minSize int // wire size of one entry's scalars
	switch res.Level {
	case 0:
		minSize = 4
	case 1:
		minSize = 12
	default:
		if r.Err() == nil {
			return nil, fmt.Errorf("srvsvc: share enum: level %d not decoded", res.Level)
		}
	}
	if r.Pointer() != 0 {
		entries := r.Uint32()
		if r.Pointer() != 0 {
			r.Defer(func(r *ndr.Reader) {
				n := r.ConformantCount(minSize)
				if r.Err() == nil && uint32(n) != entries {
					r.Fail(fmt.Errorf("srvsvc: share enum: %d entries in an array of %d", entries, n))
					return
				}
				res.Shares = make([]Share, n)
				for i := range res.Shares {
					s := &res.Shares[i]
					r.StringZPtr(&s.Name)
					if res.Level == 1 {
						s.Type = r.Uint32()
						r.StringZPtr(&s.Remark)
					}
				}
			})
		}
		r.Flush()
	}
	res.TotalEntries = r.Uint32()
	if r.Pointer() != 0 {
		v := r.Uint32()
		res.Resume = &v
	}
	res.Status = werror.Code(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, err
	}
	return res, nil
}
