// Package dcerpctest gives live tests a bound DCE/RPC client on a named
// pipe of a lab server over a null session, and records response stubs
// for the fuzz seeds and golden tests of the msrpc packages.
package dcerpctest

import (
	"context"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// Pipe dials host (SMB2/3, null session), connects IPC$, opens pipe and
// binds abstract. Everything is closed when the test ends.
func Pipe(t testing.TB, host, pipe string, abstract dcerpc.SyntaxID) *dcerpc.Client {
	t.Helper()
	return PipeOpt(t, host, smb.Options{}, pipe, abstract)
}

// PipeOpt is Pipe with SMB options (SMB1 only, port 139, ...).
func PipeOpt(t testing.TB, host string, opt smb.Options, pipe string, abstract dcerpc.SyntaxID) *dcerpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := smb.Dial(ctx, host, opt)
	if err != nil {
		t.Fatalf("dcerpctest: dial %s: %v", host, err)
	}
	t.Cleanup(func() { conn.Close() })
	sess, _, err := conn.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		t.Fatalf("dcerpctest: null session to %s: %v", host, err)
	}
	tree, err := sess.TreeConnect(ctx, "IPC$")
	if err != nil {
		t.Fatalf("dcerpctest: %s IPC$: %v", host, err)
	}
	c, p, err := dcerpc.OpenPipe(ctx, tree, pipe, abstract)
	if err != nil {
		t.Fatalf("dcerpctest: %s: %v", host, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return c
}

// Caller is what the msrpc clients call through; *dcerpc.Client is one.
type Caller interface {
	Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error)
}

// Recorder wraps a Caller and, when Dir is set, writes every response stub
// to Dir/<Prefix>_opnum<N>_<i>.hex (for `go test -update`).
type Recorder struct {
	Caller
	Dir    string
	Prefix string
	n      int
}

// Call forwards the call and records the reply.
func (r *Recorder) Call(ctx context.Context, opnum uint16, stub []byte) ([]byte, error) {
	out, err := r.Caller.Call(ctx, opnum, stub)
	if err == nil && r.Dir != "" {
		r.n++
		name := filepath.Join(r.Dir, r.Prefix+"_opnum"+itoa(int(opnum))+"_"+itoa(r.n)+".hex")
		os.WriteFile(name, []byte(hex.EncodeToString(out)+"\n"), 0o644)
	}
	return out, err
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// Rpcclient runs Samba's rpcclient anonymously (-U "" -N) against host with
// the given commands and returns its output: the oracle of the live
// differential tests. The test is skipped when rpcclient is not installed.
func Rpcclient(t testing.TB, host, commands string, extraArgs ...string) string {
	t.Helper()
	path, err := exec.LookPath("rpcclient")
	if err != nil {
		t.Skip("dcerpctest: rpcclient not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, append(append([]string{"-U", "", "-N"}, extraArgs...), host, "-c", commands)...).CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("dcerpctest: rpcclient %s %q: %v", host, commands, err)
	}
	return string(out)
}

// TCP dials host:port (ncacn_ip_tcp) and binds abstract. The connection is
// closed when the test ends.
func TCP(t testing.TB, host, port string, abstract dcerpc.SyntaxID) *dcerpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := dcerpc.DialTCP(ctx, net.JoinHostPort(host, port))
	if err != nil {
		t.Fatalf("dcerpctest: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	c, err := dcerpc.Bind(ctx, tr, abstract)
	if err != nil {
		t.Fatalf("dcerpctest: %s:%s: %v", host, port, err)
	}
	return c
}
