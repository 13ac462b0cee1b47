package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/msrpc/epm"
	"github.com/nullsweep/nullsweep/internal/msrpc/lsa"
	"github.com/nullsweep/nullsweep/internal/msrpc/samr"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/msrpc/wkssvc"
	"github.com/nullsweep/nullsweep/internal/ndr"
)

// LSA method names ([MS-LSAD] 3.1.4, [MS-LSAT] 3.1.4) of the opnums read.
var lsaNames = map[uint16]string{
	lsa.OpClose:                     "LsarClose",
	lsa.OpOpenPolicy:                "LsarOpenPolicy",
	lsa.OpQueryInformationPolicy:    "LsarQueryInformationPolicy",
	lsa.OpEnumerateTrustedDomains:   "LsarEnumerateTrustedDomains",
	lsa.OpLookupNames:               "LsarLookupNames",
	lsa.OpLookupSids:                "LsarLookupSids",
	lsa.OpOpenPolicy2:               "LsarOpenPolicy2",
	lsaQueryInformationPolicy2:      "LsarQueryInformationPolicy2",
	lsa.OpEnumerateTrustedDomainsEx: "LsarEnumerateTrustedDomainsEx",
	45:                              "LsarGetUserName",
	57:                              "LsarLookupSids2",
	58:                              "LsarLookupNames2",
	76:                              "LsarLookupSids3",
	77:                              "LsarLookupNames4",
}

// lsaQueryInformationPolicy2 answers as QueryInformationPolicy does
// ([MS-LSAD] 3.1.4.4.3).
const lsaQueryInformationPolicy2 = 46

var srvsvcNames = map[uint16]string{15: "NetrShareEnum", 16: "NetrShareGetInfo", 21: "NetrServerGetInfo", 28: "NetrRemoteTOD"}
var wkssvcNames = map[uint16]string{0: "NetrWkstaGetInfo", 2: "NetrWkstaUserEnum"}
var epmNames = map[uint16]string{epm.OpLookup: "ept_lookup", epm.OpMap: "ept_map", epm.OpLookupHandleFree: "ept_lookup_handle_free"}

func callName(id dcerpc.UUID, opnum uint16) string {
	var m map[uint16]string
	switch id {
	case dcerpc.SAMR.UUID:
		return samr.CallName(opnum)
	case dcerpc.LSARPC.UUID:
		m = lsaNames
	case dcerpc.SRVSVC.UUID:
		m = srvsvcNames
	case dcerpc.WKSSVC.UUID:
		m = wkssvcNames
	case dcerpc.EPM.UUID:
		m = epmNames
	}
	if n, ok := m[opnum]; ok {
		return n
	}
	return "opnum " + strconv.Itoa(int(opnum))
}

// decodeCall decodes a response by its request's interface and opnum with
// the scanner's packages, and merges what it disclosed.
func (c *conv) decodeCall(frame int, id dcerpc.UUID, call *rpcCall, cl *Call) {
	var err error
	layer := tsharkLayer[id]
	f := map[string][]string{layer + ".opnum": {strconv.Itoa(int(call.opnum))}}
	switch id {
	case dcerpc.SAMR.UUID:
		err = c.samrCall(f, call, cl)
	case dcerpc.LSARPC.UUID:
		err = c.lsaCall(f, call, cl)
	case dcerpc.SRVSVC.UUID:
		err = c.srvsvcCall(f, call, cl)
	case dcerpc.WKSSVC.UUID:
		err = c.wkssvcCall(f, call, cl)
	case dcerpc.EPM.UUID:
		err = c.epmCall(f, call, cl)
	default:
		err = errNoDecoder
	}
	if err != nil {
		cl.Note = err.Error()
		return
	}
	cl.Decoded = true
	for k, v := range f {
		if len(v) == 0 {
			delete(f, k)
		}
	}
	c.d.message(frame, layer, f)
}

var errNoDecoder = errors.New("no decoder for this call")

func (c *conv) samrCall(f map[string][]string, call *rpcCall, cl *Call) error {
	r, err := samr.DecodeReply(call.opnum, call.req, call.resp)
	if err != nil {
		if errors.Is(err, samr.ErrNotDecoded) {
			return errNoDecoder
		}
		return err
	}
	cl.Status = r.Status.String()
	f["samr.status"] = []string{u32(uint32(r.Status))}
	dom := c.samrDomain(call)
	add := func(kind string, list *[]Account, e samr.RIDName) {
		a := Account{Name: e.Name, RID: e.RID}
		if dom != nil {
			a.SID = dom.Append(e.RID).String()
		}
		c.addAccount(kind, list, a)
		cl.Disclosed++
		f["samr.samr_SamEntry.idx"] = append(f["samr.samr_SamEntry.idx"], u32(e.RID))
		f["samr.samr_SamEntry.name"] = append(f["samr.samr_SamEntry.name"], e.Name)
	}
	switch call.opnum {
	case 6: // EnumerateDomainsInSamServer
		for _, e := range r.Entries {
			c.rep.Disclosed.Domains = appendDomain(c.rep.Disclosed.Domains, Domain{Name: e.Name})
			cl.Disclosed++
			f["samr.samr_SamEntry.idx"] = append(f["samr.samr_SamEntry.idx"], u32(e.RID))
			f["samr.samr_SamEntry.name"] = append(f["samr.samr_SamEntry.name"], e.Name)
		}
	case 5: // LookupDomainInSamServer
		if r.DomainSID != nil {
			name := samrLookupName(call.req)
			c.rep.Disclosed.Domains = appendDomain(c.rep.Disclosed.Domains, Domain{Name: name, SID: r.DomainSID.String()})
			cl.Disclosed++
			f["nt.sid"] = []string{r.DomainSID.String()}
		}
	case 7: // OpenDomain: remember which domain the handle is
		if r.Handle != nil {
			if sid, ok := openDomainSID(call.req); ok && len(c.handles) < maxOutstanding {
				c.handles[*r.Handle] = sid
			}
		}
	case 13:
		for _, e := range r.Entries {
			add("user", &c.rep.Disclosed.Users, e)
		}
	case 11:
		for _, e := range r.Entries {
			add("group", &c.rep.Disclosed.Groups, e)
		}
	case 15:
		for _, e := range r.Entries {
			add("alias", &c.rep.Disclosed.Aliases, e)
		}
	case samr.OpQueryDisplayInformation, samr.OpQueryDisplayInformation2, samr.OpQueryDisplayInformation3:
		for _, u := range r.Users {
			a := Account{Name: u.Name, RID: u.RID, FullName: u.FullName, Description: u.Description}
			if dom != nil {
				a.SID = dom.Append(u.RID).String()
			}
			c.addAccount("user", &c.rep.Disclosed.Users, a)
			cl.Disclosed++
			f["samr.rid"] = append(f["samr.rid"], u32(u.RID))
			f["samr.samr_DispEntryGeneral.account_name"] = append(f["samr.samr_DispEntryGeneral.account_name"], u.Name)
		}
	case 18: // LookupIdsInDomain
		for _, l := range r.Lookups {
			if l.Name == "" {
				continue
			}
			n := Name{Name: l.Name, Type: l.Use.String()}
			if dom != nil {
				n.SID = dom.Append(l.RID).String()
			}
			c.addName(n)
			cl.Disclosed++
		}
	case 8, 46, 56:
		pol := c.policy()
		if d := r.Domain; d != nil {
			if d.Password != nil {
				pol.MinLength = ptr(d.Password.MinLength)
				pol.HistoryLength = ptr(d.Password.HistoryLength)
				pol.Properties = samr.PasswordPropertyNames(d.Password.Properties)
			}
			if d.Lockout != nil {
				pol.LockoutThreshold = ptr(d.Lockout.Threshold)
			}
			cl.Disclosed++
		}
		if p := r.PasswordInfo; p != nil {
			pol.MinLength = ptr(p.MinLength)
			pol.Properties = samr.PasswordPropertyNames(p.Properties)
			cl.Disclosed++
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func (c *conv) policy() *PasswordPolicy {
	if c.rep.Disclosed.Policy == nil {
		c.rep.Disclosed.Policy = &PasswordPolicy{}
	}
	return c.rep.Disclosed.Policy
}

// samrDomain is the domain SID of the handle a request starts with, when
// the conversation opened it.
func (c *conv) samrDomain(call *rpcCall) *ndr.SID {
	if len(call.req) < 20 {
		return nil
	}
	if sid, ok := c.handles[ndr.Handle(call.req[:20])]; ok {
		return &sid
	}
	return nil
}

// openDomainSID reads SamrOpenDomain's request: handle, access, and the
// domain SID ([MS-SAMR] 3.1.5.1.5).
func openDomainSID(req []byte) (ndr.SID, bool) {
	r := ndr.NewReader(req)
	r.Handle()
	r.Uint32()
	sid := r.SID()
	return sid, r.Err() == nil
}

// samrLookupName reads SamrLookupDomainInSamServer's request name.
func samrLookupName(req []byte) string {
	r := ndr.NewReader(req)
	r.Handle()
	var s string
	r.UnicodeString(&s)
	r.Flush()
	return s
}

func (c *conv) lsaCall(f map[string][]string, call *rpcCall, cl *Call) error {
	status := func(st uint32) { f["lsarpc.status"] = []string{u32(st)} }
	refs := func(ds []lsa.TrustInfo) {
		for _, d := range ds {
			if d.SID != nil {
				f["nt.sid"] = append(f["nt.sid"], d.SID.String())
			}
		}
	}
	switch call.opnum {
	case lsa.OpClose, lsa.OpOpenPolicy, lsa.OpOpenPolicy2:
		_, st, err := lsa.DecodeHandleStatus(call.resp)
		if err != nil {
			return err
		}
		cl.Status = st.String()
		status(uint32(st))
	case lsa.OpQueryInformationPolicy, lsaQueryInformationPolicy2:
		info, st, err := lsa.DecodeQueryInformationPolicy(call.resp)
		if err != nil {
			return err
		}
		cl.Status = st.String()
		status(uint32(st))
		if info == nil || st.IsError() {
			return nil
		}
		for _, d := range []*lsa.DomainInfo{info.Primary, info.Account} {
			if d == nil || d.Name == "" && d.SID == nil {
				continue
			}
			dm := Domain{Name: d.Name}
			if d.SID != nil {
				dm.SID = d.SID.String()
				f["nt.sid"] = append(f["nt.sid"], dm.SID)
			}
			c.rep.Disclosed.Domains = appendDomain(c.rep.Disclosed.Domains, dm)
			cl.Disclosed++
		}
		if d := info.DNS; d != nil && (d.Name != "" || d.SID != nil) {
			dm := Domain{Name: d.Name}
			if d.SID != nil {
				dm.SID = d.SID.String()
			}
			c.rep.Disclosed.Domains = appendDomain(c.rep.Disclosed.Domains, dm)
			cl.Disclosed++
		}
	case lsa.OpLookupSids, lsa.OpLookupNames:
		var res *lsa.LookupResult
		if call.opnum == lsa.OpLookupSids {
			sids, err := lookupSidsRequest(call.req)
			if err != nil {
				return err
			}
			res, err = lsa.DecodeLookupSids(call.resp, sids)
			if err != nil {
				return err
			}
		} else {
			names, err := lookupNamesRequest(call.req)
			if err != nil {
				return err
			}
			res, err = lsa.DecodeLookupNames(call.resp, names)
			if err != nil {
				return err
			}
		}
		cl.Status = res.Status.String()
		status(uint32(res.Status))
		refs(res.Domains)
		for _, t := range res.Translations {
			if !t.Mapped() {
				continue
			}
			// A name as asked may carry its domain ("DOM\user").
			name := t.Name
			if i := strings.LastIndexByte(name, '\\'); i >= 0 && strings.EqualFold(name[:i], t.Domain) {
				name = name[i+1:]
			}
			c.addName(Name{SID: t.SID.String(), Name: name, Domain: t.Domain, Type: t.Use.String()})
			cl.Disclosed++
		}
	case lsa.OpEnumerateTrustedDomains:
		res, err := lsa.DecodeEnumerateTrustedDomains(call.resp)
		if err != nil {
			return err
		}
		cl.Status = res.Status.String()
		status(uint32(res.Status))
		for _, t := range res.Domains {
			d := Domain{Name: t.Name}
			if t.SID != nil {
				d.SID = t.SID.String()
			}
			c.rep.Disclosed.TrustedDoms = appendDomain(c.rep.Disclosed.TrustedDoms, d)
			cl.Disclosed++
		}
	case lsa.OpEnumerateTrustedDomainsEx:
		res, err := lsa.DecodeEnumerateTrustedDomainsEx(call.resp)
		if err != nil {
			return err
		}
		cl.Status = res.Status.String()
		status(uint32(res.Status))
		for _, t := range res.Domains {
			d := Domain{Name: t.FlatName}
			if t.SID != nil {
				d.SID = t.SID.String()
			}
			c.rep.Disclosed.TrustedDoms = appendDomain(c.rep.Disclosed.TrustedDoms, d)
			cl.Disclosed++
		}
	default:
		return errNoDecoder
	}
	return nil
}

// lookupSidsRequest reads LsarLookupSids' SidEnumBuffer ([MS-LSAT]
// 3.1.4.11): the handle, Entries and a pointer to an array of SID
// pointers.
func lookupSidsRequest(req []byte) ([]ndr.SID, error) {
	r := ndr.NewReader(req)
	r.Handle()
	entries := r.Uint32()
	var sids []*ndr.SID
	if r.Pointer() != 0 {
		r.Defer(func(r *ndr.Reader) {
			n := r.ConformantCount(4)
			if r.Err() == nil && (uint32(n) != entries || n > lsa.MaxLookupSids) {
				r.Fail(fmt.Errorf("%d SIDs in an array of %d", entries, n))
				return
			}
			sids = make([]*ndr.SID, n)
			for i := range sids {
				r.SIDPtr(&sids[i])
			}
		})
	}
	r.Flush()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("lsa: LsarLookupSids request: %w", err)
	}
	out := make([]ndr.SID, len(sids))
	for i, s := range sids {
		if s == nil {
			return nil, fmt.Errorf("lsa: LsarLookupSids request: null SID %d", i)
		}
		out[i] = *s
	}
	return out, nil
}

// lookupNamesRequest reads LsarLookupNames' names ([MS-LSAT] 3.1.4.8).
func lookupNamesRequest(req []byte) ([]string, error) {
	r := ndr.NewReader(req)
	r.Handle()
	count := r.Uint32()
	n := r.ConformantCount(8)
	if r.Err() == nil && (uint32(n) != count || n > lsa.MaxLookupNames) {
		r.Fail(fmt.Errorf("%d names in an array of %d", count, n))
	}
	names := make([]string, n)
	for i := range names {
		r.UnicodeString(&names[i])
	}
	r.Flush()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("lsa: LsarLookupNames request: %w", err)
	}
	return names, nil
}

func (c *conv) srvsvcCall(f map[string][]string, call *rpcCall, cl *Call) error {
	switch call.opnum {
	case srvsvc.OpNetrShareEnum:
		res, err := srvsvc.DecodeShareEnum(call.resp)
		if err != nil {
			return err
		}
		cl.Status = res.Status.String()
		f["srvsvc.werror"] = []string{u32(uint32(res.Status))}
		info := fmt.Sprintf("srvsvc.srvsvc_NetShareInfo%d.", res.Level)
		for _, s := range res.Shares {
			c.addShare(Share{Name: s.Name, Type: s.Type, Remark: s.Remark})
			cl.Disclosed++
			f[info+"name"] = append(f[info+"name"], s.Name)
			if res.Level == 1 {
				f[info+"type"] = append(f[info+"type"], u32(s.Type))
			}
		}
	case srvsvc.OpNetrServerGetInfo:
		info, code, err := srvsvc.DecodeServerGetInfo(call.resp)
		if err != nil {
			return err
		}
		cl.Status = code.String()
		f["srvsvc.werror"] = []string{u32(uint32(code))}
		if info != nil {
			c.rep.Disclosed.Server = &RPCServer{Name: info.Name, Platform: info.PlatformID,
				Version: fmt.Sprintf("%d.%d", info.VersionMajor, info.VersionMinor), Comment: info.Comment}
			cl.Disclosed++
		}
	default:
		return errNoDecoder
	}
	return nil
}

func (c *conv) wkssvcCall(f map[string][]string, call *rpcCall, cl *Call) error {
	if call.opnum != wkssvc.OpNetrWkstaGetInfo {
		return errNoDecoder
	}
	info, code, err := wkssvc.DecodeWkstaGetInfo(call.resp)
	if err != nil {
		return err
	}
	cl.Status = code.String()
	f["wkssvc.werror"] = []string{u32(uint32(code))}
	if info != nil {
		c.rep.Disclosed.Server = &RPCServer{Name: info.ComputerName, Domain: info.LanGroup, Platform: info.PlatformID,
			Version: fmt.Sprintf("%d.%d", info.VersionMajor, info.VersionMinor)}
		cl.Disclosed++
	}
	return nil
}

// epmCall decodes ept_lookup and ept_map replies with package epm. The
// request's last field is what it asked for at most (max_ents,
// max_towers), which the decoders hold the reply to.
func (c *conv) epmCall(f map[string][]string, call *rpcCall, cl *Call) error {
	if len(call.req) < 4 {
		return fmt.Errorf("epm: request of %d bytes", len(call.req))
	}
	max := binary.LittleEndian.Uint32(call.req[len(call.req)-4:])
	var bindings []string
	switch call.opnum {
	case epm.OpLookup:
		rep, err := epm.DecodeLookup(call.resp, max)
		if err != nil {
			return err
		}
		cl.Status = epm.StatusName(rep.Status)
		f["epm.num_ents"] = []string{strconv.Itoa(len(rep.Entries))}
		for _, e := range rep.Entries {
			if b := e.Binding(); b != "" {
				if e.Annotation != "" {
					b += " " + e.Annotation
				}
				bindings = append(bindings, b)
			}
		}
	case epm.OpMap:
		towers, st, err := epm.DecodeMap(call.resp, max)
		if err != nil {
			return err
		}
		cl.Status = epm.StatusName(st)
		f["epm.num_towers"] = []string{strconv.Itoa(len(towers))}
		for _, raw := range towers {
			t, err := epm.ParseTower(raw)
			if err != nil {
				return err
			}
			bindings = append(bindings, t.Binding())
			if t.Protocol == "ncacn_ip_tcp" {
				f["epm.proto.tcp_port"] = append(f["epm.proto.tcp_port"], t.Endpoint)
			}
		}
	default:
		return errNoDecoder
	}
	for _, b := range bindings {
		c.rep.Disclosed.Endpoints = appendBounded(c.rep.Disclosed.Endpoints, b)
		cl.Disclosed++
	}
	return nil
}

func (c *conv) addShare(s Share) {
	k := "share\x00" + s.Name
	if _, ok := c.accounts[k]; ok {
		return
	}
	if len(c.rep.Disclosed.Shares) >= c.d.lim.MaxRecords {
		c.d.rep.Stats.NotListed++
		return
	}
	c.accounts[k] = len(c.rep.Disclosed.Shares)
	c.rep.Disclosed.Shares = append(c.rep.Disclosed.Shares, s)
}

func (c *conv) addName(n Name) {
	c.rep.Disclosed.Names = bounded(c.d, c.rep.Disclosed.Names, n)
}

func appendDomain(list []Domain, d Domain) []Domain {
	for i, o := range list {
		if o.Name == d.Name && (o.SID == d.SID || o.SID == "" || d.SID == "") {
			if list[i].SID == "" {
				list[i].SID = d.SID
			}
			return list
		}
	}
	if len(list) >= 4096 {
		return list
	}
	return append(list, d)
}

// addAccount adds an account to list (kind names which), or fills in the
// one listed already with its RID and name. The index keeps this linear
// in the number of accounts a capture lists.
func (c *conv) addAccount(kind string, list *[]Account, a Account) {
	k := fmt.Sprintf("%s\x00%d\x00%s", kind, a.RID, a.Name)
	if i, ok := c.accounts[k]; ok {
		o := &(*list)[i]
		if o.FullName == "" {
			o.FullName = a.FullName
		}
		if o.Description == "" {
			o.Description = a.Description
		}
		if o.SID == "" {
			o.SID = a.SID
		}
		return
	}
	if len(*list) >= c.d.lim.MaxRecords {
		c.d.rep.Stats.NotListed++
		return
	}
	c.accounts[k] = len(*list)
	*list = append(*list, a)
}

func appendBounded(list []string, s string) []string {
	if len(list) >= 4096 {
		return list
	}
	return append(list, s)
}

// findings reports a null session (or an unauthenticated TCP bind) that
// got something out of an enumeration call, once per conversation and
// call name.
func findings(c *Conversation) []Finding {
	type key struct{ name string }
	seen := map[string]*Finding{}
	counts := map[string]int{}
	var out []Finding
	for _, cl := range c.Calls {
		if cl.Disclosed == 0 || (cl.Logon != LogonNull && cl.Logon != LogonAnonymous) {
			continue
		}
		if cl.Interface == "epm" || cl.rootDSE {
			continue // the endpoint mapper and the rootDSE answer anyone by design
		}
		name := cl.Interface + " " + cl.Name
		counts[name] += cl.Disclosed
		if seen[name] == nil {
			out = append(out, Finding{ID: FindingNullEnumeration, Client: c.Client, Server: c.Server, Frame: cl.Frame, Call: name})
			seen[name] = &out[len(out)-1]
		}
	}
	for i := range out {
		f := &out[i]
		via := "a null session"
		switch c.Transport {
		case "dcerpc-tcp":
			via = "an unauthenticated DCE/RPC bind"
		case "ldap":
			via = "an anonymous LDAP session"
		}
		f.Text = fmt.Sprintf("%s from %s to %s read %d item(s) with %s", via, c.Client, c.Server, counts[f.Call], f.Call)
	}
	return out
}
