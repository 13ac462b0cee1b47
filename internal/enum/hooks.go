package enum

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/nullsweep/nullsweep/internal/netbios"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// dialSMB1 connects with NT LM 0.12 only.
func dialSMB1(ctx context.Context, host string, opt smb.Options) (smb.Conn, error) {
	opt.Dialects = []smb.Dialect{smb.SMB1}
	return smb.Dial(ctx, host, opt)
}

// netbiosTransport reaches SMB over TCP 139 after a NetBIOS session request.
func netbiosTransport(host string) func(ctx context.Context) (net.Conn, error) {
	return smb.NetBIOSTransport(host)
}

// netbiosSession makes a TCP 139 transport from dial: the NetBIOS session
// request goes first on each connection it returns.
func netbiosSession(dial func(ctx context.Context) (net.Conn, error)) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		return netbios.DialSession(ctx, dial, "", netbios.SMBServerName)
	}
}

// netbios asks for the node status over UDP 137 (enum.exe -N); nil when
// it got no answer (the evidence says why).
func (h *host) netbios(ctx context.Context, rec *recorder) *NetBIOS {
	start := time.Now()
	ns, err := netbios.QueryNodeStatus(ctx, h.Target)
	rec.note(Call(LayerReachability, IfaceNBNS, "NodeStatus", "").Named("nbns.NodeStatus"), start, err)
	if err != nil {
		return nil
	}
	out := &NetBIOS{Names: []NetBIOSName{}}
	for _, n := range ns.Names {
		out.Names = append(out.Names, NetBIOSName{Name: n.Printable(), Suffix: fmt.Sprintf("<%02x>", n.Suffix), Type: n.Role(), Group: n.Group})
	}
	if len(ns.MAC) > 0 {
		out.MAC = ns.MAC.String()
	}
	return out
}
