package enum

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/rap"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// ServerTypeNames names the SV_TYPE_* bits ([MS-RAP] 2.5.5.2.1, [MS-SRVS] 2.2.2.7).
func ServerTypeNames(t uint32) []string { return rap.TypeNames(t) }

// shareEnum lists the shares with SRVSVC NetrShareEnum (level 1, falling
// back to 0), hidden ones included.
func (h *Host) shareEnum(ctx context.Context, c *dcerpc.Client) {
	start := time.Now()
	shares, level, err := srvsvc.New(c, h.Target).Shares(ctx)
	ch := CheckOf("srvsvc.NetrShareEnum", "call", time.Since(start), err)
	if err == nil {
		ch.Detail = fmt.Sprintf("level %d", level)
	}
	h.Record(ch)
	if err != nil {
		return
	}
	out := make([]Share, 0, len(shares))
	for _, s := range shares {
		out = append(out, Share{Name: s.Name, Type: srvsvc.TypeString(s.Type), TypeRaw: s.Type, Comment: s.Remark,
			Anonymous: ShareAnonymous{Connect: "skipped", List: "skipped"}})
	}
	h.Result.Shares = out
}

// shareChecks tries each listed share anonymously: a tree connect and a
// root listing, read only. Nothing is created or changed on the target.
func (h *Host) shareChecks(ctx context.Context, st *rpcState) {
	if h.Session == nil || h.Result.Shares == nil {
		return
	}
	for i := range h.Result.Shares {
		s := &h.Result.Shares[i]
		if s.TypeRaw&0xff != 0 { // print queues, devices and IPC: no files to list
			if s.TypeRaw&0xff == 3 {
				s.Anonymous.Connect = h.Result.IPC.Status
				if h.Result.IPC.Result == "allowed" {
					s.Anonymous.Connect = "ok"
				}
			}
			continue
		}
		start := time.Now()
		t, err := h.Session.TreeConnect(ctx, s.Name)
		h.Evidence("smb.TreeConnect("+s.Name+")", "share", start, err)
		s.Anonymous.Connect = outcome(err)
		if err != nil {
			continue
		}
		start = time.Now()
		entries, err := t.List(ctx, "")
		h.Evidence("smb.List("+s.Name+")", "share", start, err)
		s.Anonymous.List = outcome(err)
		if err == nil {
			s.Anonymous.Entries = entryNames(entries)
		}
		_ = t.Disconnect(ctx)
	}
}

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

// outcome is "ok", the status name, or the error text.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if _, st := Classify(err); st != "" {
		return st
	}
	return "error: " + err.Error()
}

// lanmanTree is an SMB1 IPC$ tree that can carry RAP calls.
type lanmanTree interface {
	smb.Tree
	rap.Transport
}

// browse reads the browse list (RAP NetServerEnum2 over \PIPE\LANMAN): it
// exists only over SMB1, on a connection of its own when the checks run
// over SMB2.
func (h *Host) browse(ctx context.Context) {
	r := h.Result
	if r.SMB == nil {
		return
	}
	tree, closeFn, why := h.lanman(ctx)
	if tree == nil {
		r.Browse = &Browse{Unavailable: why, Servers: []BrowseServer{}, Domains: []BrowseServer{}}
		h.Record(Check{Name: "rap.NetServerEnum2", Layer: "call", Result: "skipped", Detail: why})
		return
	}
	defer closeFn()
	b := &Browse{}
	start := time.Now()
	doms, err := rap.NetServerEnum2(ctx, tree, rap.SVTypeDomainEnum, "")
	h.Evidence("rap.NetServerEnum2(domains)", "call", start, err)
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
		h.Evidence("rap.NetServerEnum2(servers "+dom+")", "call", start, err)
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
func (h *Host) lanman(ctx context.Context) (lanmanTree, func(), string) {
	if t, ok := h.IPC.(lanmanTree); ok && h.IPC != nil {
		return t, func() {}, ""
	}
	const disabled = "browse list unavailable: SMB1 disabled on target"
	probed := h.Result.SMB.Dialects != nil
	if probed && !h.Result.SMB.Dialects[smb.SMB1.String()] {
		return nil, nil, disabled
	}
	sopt := smb.Options{Port: 445}
	if h.Opt.Port == 139 {
		sopt = smb.Options{Port: 139, Transport: netbiosTransport(h.Target)}
	}
	start := time.Now()
	conn, err := DialSMB1(ctx, h.Target, sopt)
	h.Evidence("smb.Negotiate(SMB1 for RAP)", "negotiate", start, err)
	if err != nil {
		if !probed && ctx.Err() == nil {
			// Without the dialect probe, a refused NT LM 0.12 negotiate is
			// how we learn SMB1 is off.
			return nil, nil, disabled + " (NT LM 0.12 negotiate: " + outcome(err) + ")"
		}
		return nil, nil, "browse list unavailable: SMB1 negotiate failed: " + outcome(err)
	}
	start = time.Now()
	sess, _, err := conn.SessionSetup(ctx, smb.Credentials{})
	h.Evidence("smb.SessionSetup(null, SMB1 for RAP)", "session", start, err)
	if err != nil {
		conn.Close()
		return nil, nil, "browse list unavailable: SMB1 null session: " + outcome(err)
	}
	start = time.Now()
	t, err := sess.TreeConnect(ctx, "IPC$")
	h.Evidence("smb.TreeConnect(IPC$, SMB1 for RAP)", "ipc", start, err)
	if err != nil {
		conn.Close()
		return nil, nil, "browse list unavailable: SMB1 IPC$: " + outcome(err)
	}
	lt, ok := t.(lanmanTree)
	if !ok {
		conn.Close()
		return nil, nil, "browse list unavailable: no RAP transport"
	}
	return lt, func() { _ = conn.Close() }, ""
}
