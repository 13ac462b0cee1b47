// Package srvsvc holds the SRVSVC calls nullsweep makes anonymously
// ([MS-SRVS]): NetrServerGetInfo and NetrShareEnum, over a DCE/RPC client
// bound to dcerpc.SRVSVC on \PIPE\srvsvc.
package srvsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// Opnums ([MS-SRVS] 3.1.4).
const (
	OpNetrShareEnum     = 15
	OpNetrServerGetInfo = 21
)

// Caller sends one request stub and returns the response stub;
// *dcerpc.Client is one.
type Caller interface {
	Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error)
}

// Client makes SRVSVC calls for one server.
type Client struct {
	c      Caller
	server string
}

// New returns a client. server is the host name or address; it is sent as
// the ServerName parameter ("\\host"), as Windows and Samba clients do.
func New(c Caller, server string) *Client {
	if !strings.HasPrefix(server, `\\`) {
		server = `\\` + server
	}
	return &Client{c: c, server: server}
}

// ServerInfo is SERVER_INFO_100 or SERVER_INFO_101 ([MS-SRVS] 2.2.4.40-41).
type ServerInfo struct {
	Level        uint32
	PlatformID   uint32
	Name         string
	VersionMajor uint32
	VersionMinor uint32
	Type         uint32 // SV_TYPE_* bits
	Comment      string
}

// ServerGetInfo calls NetrServerGetInfo ([MS-SRVS] 3.1.4.17) at level 100 or 101.
func (c *Client) ServerGetInfo(ctx context.Context, level uint32) (*ServerInfo, error) {
	out, err := c.c.Call(dcerpc.WithMaxResponse(ctx, dcerpc.SmallResponse), OpNetrServerGetInfo, EncodeServerGetInfo(c.server, level))
	if err != nil {
		return nil, fmt.Errorf("srvsvc: server get info %d: %w", level, err)
	}
	info, status, err := DecodeServerGetInfo(out)
	if err != nil {
		return nil, fmt.Errorf("srvsvc: server get info %d: %w", level, err)
	}
	if status != werror.Success {
		return nil, fmt.Errorf("srvsvc: server get info %d: %w", level, status)
	}
	return info, nil
}

// ServerInfo asks for level 101 and falls back to 100 when the server
// refuses the level or the access (level 100 needs no rights on Windows).
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	info, err := c.ServerGetInfo(ctx, 101)
	if err == nil {
		return info, nil
	}
	var code werror.Code
	if !errors.As(err, &code) || (code != werror.AccessDenied && code != werror.InvalidLevel) {
		return nil, err
	}
	info, err100 := c.ServerGetInfo(ctx, 100)
	if err100 != nil {
		return nil, errors.Join(err, err100)
	}
	return info, nil
}

// EncodeServerGetInfo builds the NetrServerGetInfo request stub.
func EncodeServerGetInfo(server string, level uint32) []byte {
	var w ndr.Writer
	w.UniqueStringZ(&server)
	w.Uint32(level)
	return w.Bytes()
}

// DecodeServerGetInfo decodes the response: the LPSERVER_INFO union and the
// NET_API_STATUS. On a failure status the info is nil.
func DecodeServerGetInfo(stub []byte) (*ServerInfo, werror.Code, error) {
	r := ndr.NewReader(stub)
	info := &ServerInfo{Level: r.Uint32()}
	ptr := r.Pointer()
	if ptr != 0 {
		switch info.Level {
		case 100:
			info.PlatformID = r.Uint32()
			r.StringZPtr(&info.Name)
		case 101:
			info.PlatformID = r.Uint32()
			r.StringZPtr(&info.Name)
			info.VersionMajor = r.Uint32()
			info.VersionMinor = r.Uint32()
			info.Type = r.Uint32()
			r.StringZPtr(&info.Comment)
		default:
			return nil, 0, fmt.Errorf("srvsvc: server info level %d not decoded", info.Level)
		}
		// The arm is itself a pointer; its struct's strings follow it.
		r.Flush()
	}
	status := werror.Code(r.Uint32())
	if err := r.Err(); err != nil {
		return nil, 0, err
	}
	if ptr == 0 {
		info = nil
		if status == werror.Success {
			return nil, 0, fmt.Errorf("srvsvc: server info: success with no data")
		}
	}
	return info, status, nil
}
