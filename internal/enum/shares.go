package enum

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/rap"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// serverTypeNames names the SV_TYPE_* bits ([MS-RAP] 2.5.5.2.1, [MS-SRVS] 2.2.2.7).
func serverTypeNames(t uint32) []string { return rap.TypeNames(t) }

// shareEnum lists the shares with SRVSVC NetrShareEnum (level 1, falling
// back to 0), hidden ones included.
func (h *host) shareEnum(ctx context.Context, c *dcerpc.Client) {
	start := time.Now()
	shares, level, err := srvsvc.New(c, h.Target).Shares(ctx)
	ch := Call(LayerCall, IfaceSRVSVC, "NetrShareEnum", "").Op(srvsvc.OpNetrShareEnum).Named("srvsvc.NetrShareEnum").Done(time.Since(start), err)
	if err == nil {
		ch.Detail = fmt.Sprintf("level %d", level)
	}
	h.record(ch)
	if err != nil {
		return
	}
	out := make([]Share, 0, len(shares))
	for _, s := range shares {
		out = append(out, Share{Name: s.Name, Type: srvsvc.TypeString(s.Type), TypeRaw: s.Type, Comment: s.Remark,
			Anonymous: ShareAnonymous{Connect: Skipped, List: Skipped}})
	}
	h.Result.Shares = out
}

// shareChecks tries each listed share anonymously: a tree connect and a
// root listing, read only. Nothing is created or changed on the target.
func (h *host) shareChecks(ctx context.Context, st *rpcState) {
	if h.Session == nil || h.Result.Shares == nil {
		return
	}
	kept := 0 // bytes of listed names this host holds
	for i := range h.Result.Shares {
		s := &h.Result.Shares[i]
		if s.TypeRaw&0xff != 0 { // print queues, devices and IPC: no files to list
			if s.TypeRaw&0xff == 3 {
				s.Anonymous.Connect = StatusOutcome(h.Result.IPC.Status)
				if h.Result.IPC.Result == Allowed {
					s.Anonymous.Connect = OK
				}
			}
			continue
		}
		start := time.Now()
		t, err := h.Session.TreeConnect(ctx, s.Name)
		h.note(Call(LayerShare, IfaceSMB, "TreeConnect", s.Name).Named("smb.TreeConnect("+s.Name+")"), start, err)
		s.Anonymous.Connect = ProbeOutcome(err)
		if err != nil {
			continue
		}
		if kept >= maxListedBytes {
			// Not listed, and said so: absent entries are entries not read.
			s.Anonymous.List = ProbeOutcome(errListBudget)
			_ = t.Disconnect(ctx)
			continue
		}
		start = time.Now()
		entries, err := t.List(ctx, "")
		h.note(Call(LayerShare, IfaceSMB, "List", s.Name).Named("smb.List("+s.Name+")"), start, err)
		s.Anonymous.List = ProbeOutcome(err)
		if err == nil {
			s.Anonymous.Entries = entryNames(entries)
			for _, n := range s.Anonymous.Entries {
				kept += 16 + len(n)
			}
		}
		_ = t.Disconnect(ctx)
	}
}

// maxListedBytes bounds the listed names one host's shares may hold
// together (a listing holds at most 10,000 entries or 1 MiB of names, and
// a host may have 10,000 shares): once spent, further shares are connected
// but not listed (docs/bounds.md).
const maxListedBytes = 4 << 20

var errListBudget = errors.New("not listed: this host's listings already hold 4 MiB of names")

func entryNames(es []smb.DirEntry) []string {
	out := []string{}
	for _, e := range es {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		n := e.Name
		if e.IsDir {
			n += "/"
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ProbeOutcome is a share probe's outcome: OK, the status name, or the
// error text.
func ProbeOutcome(err error) Outcome {
	if err == nil {
		return OK
	}
	return refusal(err)
}

// netServerEnum2Call is the evidence of one RAP NetServerEnum2.
func netServerEnum2Call(arg string) Check {
	return Call(LayerCall, IfaceRAP, "NetServerEnum2", arg).Op(rap.OpNetServerEnum2)
}

// lanmanTree is an SMB1 IPC$ tree that can carry RAP calls.
type lanmanTree interface {
	smb.Tree
	rap.Transport
}

// browse reads the browse list (RAP NetServerEnum2 over \PIPE\LANMAN): it
// exists only over SMB1, on a connection of its own when the checks run
// over SMB2.
func (h *host) browse(ctx context.Context) {
	r := h.Result
	if r.SMB == nil {
		return
	}
	tree, closeFn, why := h.lanman(ctx)
	if tree == nil {
		r.Browse = &Browse{Unavailable: why, Servers: []BrowseServer{}, Domains: []BrowseServer{}}
		c := netServerEnum2Call("").Named("rap.NetServerEnum2")
		c.Result, c.Detail = Skipped, why
		h.record(c)
		return
	}
	defer closeFn()
	b := &Browse{}
	start := time.Now()
	doms, err := rap.NetServerEnum2(ctx, tree, rap.SVTypeDomainEnum, "")
	h.note(netServerEnum2Call("domains").Named("rap.NetServerEnum2(domains)"), start, err)
	if err == nil {
		b.Domains = browseList(doms)
	}
	// Servers are asked with no domain (what smbclient -L shows) and then
	// per browsed domain, as `net view /domain:NAME` does: Samba answers
	// the empty domain with no servers and the named one with its list.
	names := []string{""}
	for _, d := range b.Domains {
		names = append(names, d.Name)
	}
	for _, dom := range names {
		start = time.Now()
		srv, err := rap.NetServerEnum2(ctx, tree, rap.SVTypeAll, dom)
		h.note(netServerEnum2Call(joinWords("servers", dom)).Named("rap.NetServerEnum2(servers "+dom+")"), start, err)
		if err != nil {
			continue
		}
		if b.Servers == nil {
			b.Servers = []BrowseServer{}
		}
		for _, x := range browseList(srv) {
			x.Domain = dom
			b.Servers = append(b.Servers, x)
		}
	}
	if b.Domains != nil || b.Servers != nil {
		r.Browse = b
	}
}

func browseList(in []rap.ServerInfo1) []BrowseServer {
	out := make([]BrowseServer, 0, len(in))
	for _, s := range in {
		out = append(out, BrowseServer{Name: s.Name, TypeFlags: s.Type, Comment: s.Comment})
	}
	return out
}

// lanman finds or makes an SMB1 IPC$ tree for RAP.
func (h *host) lanman(ctx context.Context) (lanmanTree, func(), string) {
	if t, ok := h.IPC.(lanmanTree); ok && h.IPC != nil {
		return t, func() {}, ""
	}
	const disabled = "browse list unavailable: SMB1 disabled on target"
	on, probed := h.Result.SMB.Dialects[smb.SMB1.String()]
	if probed && !on {
		return nil, nil, disabled
	}
	sopt := smb.Options{Port: 445}
	if h.Opt.Port == 139 {
		sopt = smb.Options{Port: 139, Transport: netbiosTransport(h.Target)}
	}
	start := time.Now()
	conn, err := dialSMB1(ctx, h.Target, sopt)
	h.note(Call(LayerNegotiate, IfaceSMB, "Negotiate", "SMB1 for RAP").Named("smb.Negotiate(SMB1 for RAP)"), start, err)
	if err != nil {
		if !probed && ctx.Err() == nil {
			// Without the dialect probe, a refused NT LM 0.12 negotiate is
			// how we learn SMB1 is off.
			return nil, nil, disabled + " (NT LM 0.12 negotiate: " + string(ProbeOutcome(err)) + ")"
		}
		return nil, nil, "browse list unavailable: SMB1 negotiate failed: " + string(ProbeOutcome(err))
	}
	start = time.Now()
	// The run's own logon (null, or the user's: it succeeded on the main
	// connection, so this is no second guess at a password).
	sess, _, err := conn.SessionSetup(ctx, h.Opt.Credentials)
	arg := h.sessionKind() + ", SMB1 for RAP"
	h.note(Call(LayerSession, IfaceSMB, "SessionSetup", arg).Named("smb.SessionSetup("+arg+")"), start, err)
	if err != nil {
		conn.Close()
		return nil, nil, "browse list unavailable: SMB1 null session: " + string(ProbeOutcome(err))
	}
	start = time.Now()
	t, err := sess.TreeConnect(ctx, "IPC$")
	h.note(Call(LayerIPC, IfaceSMB, "TreeConnect", "IPC$, SMB1 for RAP").Named("smb.TreeConnect(IPC$, SMB1 for RAP)"), start, err)
	if err != nil {
		conn.Close()
		return nil, nil, "browse list unavailable: SMB1 IPC$: " + string(ProbeOutcome(err))
	}
	lt, ok := t.(lanmanTree)
	if !ok {
		conn.Close()
		return nil, nil, "browse list unavailable: no RAP transport"
	}
	return lt, func() { _ = conn.Close() }, ""
}
