package smb

import (
	"context"
	"net"

	"github.com/nullsweep/nullsweep/internal/netbios"
)

// NetBIOSTransport gives an Options.Transport for TCP 139: it connects to
// host:139 and asks for a NetBIOS session, first as *SMBSERVER, then with
// each of names (the server's NetBIOS name, from NBNS or the NTLM
// CHALLENGE) after a refusal.
func NetBIOSTransport(host string, names ...string) func(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(host, "139")
	called := append([]string{netbios.SMBServerName}, names...)
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		dial := func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
		return netbios.DialSession(ctx, dial, "", called...)
	}
}
