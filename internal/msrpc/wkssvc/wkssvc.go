// Package wkssvc holds the WKSSVC call nullsweep makes anonymously
// ([MS-WKST]): NetrWkstaGetInfo level 100, over a DCE/RPC client bound to
// dcerpc.WKSSVC on \PIPE\wkssvc.
package wkssvc

import (
	"context"
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// OpNetrWkstaGetInfo is the opnum of NetrWkstaGetInfo ([MS-WKST] 3.2.4.1).
const OpNetrWkstaGetInfo = 0

// Caller sends one request stub and returns the response stub;
// *dcerpc.Client is one.
type Caller interface {
	Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error)
}

// Client makes WKSSVC calls for one server.
type Client struct {
	c      Caller
	server string
}

// New returns a client; server is sent as ServerName ("\\host").
func New(c Caller, server string) *Client {
	if !strings.HasPrefix(server, `\\`) {
		server = `\\` + server
	}
	return &Client{c: c, server: server}
}

// WkstaInfo100 is WKSTA_INFO_100 ([MS-WKST] 2.2.5.1).
type WkstaInfo100 struct {
	PlatformID   uint32
	ComputerName string
	LanGroup     string // domain or workgroup
	VersionMajor uint32
	VersionMinor uint32
}

// WkstaGetInfo calls NetrWkstaGetInfo at level 100.
func (c *Client) WkstaGetInfo(ctx context.Context) (*WkstaInfo100, error) {
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.SmallResponse), OpNetrWkstaGetInfo, EncodeWkstaGetInfo(c.server, 100))
	if err != nil {
		return nil, fmt.Errorf("wkssvc: wksta get info: %w", err)
	}
	info, status, err := DecodeWkstaGetInfo(out)
	if err != nil {
		return nil, fmt.Errorf("wkssvc: wksta get info: %w", err)
	}
	if status != werror.Success {
		return nil, fmt.Errorf("wkssvc: wksta get info: %w", status)
	}
	return info, nil
}

// EncodeWkstaGetInfo builds the request stub.
func EncodeWkstaGetInfo(server string, level uint32) []byte {
	var w ndr.Writer
	w.UniqueStringZ(&server)
	w.Uint32(level)
	return w.Bytes()
}

// DecodeWkstaGetInfo decodes a level-100 reply: the LPWKSTA_INFO union and
// the NET_API_STATUS. info is nil when the server sent no data.
func DecodeWkstaGetInfo(stub []byte) (*WkstaInfo100, werror.Code, error) {
	r := ndr.NewReader(stub)
	level := r.Uint32()
	var info *WkstaInfo100
	if r.Pointer() != 0 {
		if level != 100 {
			return nil, 0, fmt.Errorf("wkssvc: wksta info level %d not decoded", level)
		}
		info = &WkstaInfo100{PlatformID: r.Uint32()}
		r.StringZPtr(&info.ComputerName)
		r.StringZPtr(&info.LanGroup)
		info.VersionMajor = r.Uint32()
		info.VersionMinor = r.Uint32()
		r.Flush()
	}
	status := werror.Code(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, 0, err
	}
	if info == nil && status == werror.Success {
		return nil, 0, fmt.Errorf("wkssvc: wksta info: success with no data")
	}
	return info, status, nil
}
