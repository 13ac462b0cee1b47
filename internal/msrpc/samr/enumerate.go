package samr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ndr"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// BuiltinSID is the SID of the Builtin domain.
var BuiltinSID = ndr.SID{Revision: 1, Authority: 5, SubAuthority: []uint32{32}}

// Bind binds SAMR on a transport (an smb.Pipe opened on "samr", or TCP).
func Bind(ctx context.Context, t dcerpc.Transport) (*Client, error) {
	rpc, err := dcerpc.Bind(ctx, t, dcerpc.SAMR)
	if err != nil {
		return nil, fmt.Errorf("samr: bind: %w", err)
	}
	return New(rpc), nil
}

// Options choose what Enumerate reads.
type Options struct {
	Users  bool // -U: users (display information merged with the user list)
	Groups bool // -G: domain groups, aliases and Builtin aliases, with members
	Policy bool // -P: password, lockout and logoff policy
	// AccountFlags reads each user's account-control bits with
	// QueryInformationUser class 16 (three calls per user). Samba AD's
	// display information carries 0 for every user; this gives the real
	// bits.
	AccountFlags bool
	// MissingFlags, when AccountFlags is off, reads the bits with class
	// 16 anyway where the display information carried none for any user
	// (Samba AD), if there are at most this many users: three calls a
	// user is cheap for a few and not for thousands. 0: never.
	MissingFlags int
	// Details reads each user's SAMPR_USER_ALL_INFORMATION (class 21:
	// home, profile, logon times and counts, the real account bits),
	// falling back to class 16 for the bits when class 21 is refused.
	Details bool
	// DomainSID, when set, names the account domain (from LSA); otherwise
	// it is the one domain whose SID is not S-1-5-32.
	DomainSID string
	// DomainSIDFunc, when set (and DomainSID is not), gives DomainSID
	// only where it decides something: the domain list was refused, or
	// it holds more than one domain besides Builtin. It may wait (for
	// an LSA answer being read beside Enumerate); in the usual case it is
	// never called, so nothing waits.
	DomainSIDFunc func() string
	// Lane, when set, returns another Client on an association of its own
	// (a second pipe) and a func that releases it; with Lanes > 1,
	// Enumerate reads the members of groups and aliases on up to Lanes-1
	// of them beside c at once (one association serves one call at a
	// time; a server serves several associations in parallel). Each lane
	// connects and opens the domains itself: context handles belong to
	// their association. Calls lists every job's calls in job order
	// whichever lane ran it, then each lane's own calls in lane order.
	Lane  func(ctx context.Context, i int) (*Client, func(), error)
	Lanes int
}

// DomainRef is a domain the server hosts.
type DomainRef struct {
	Name string
	SID  ndr.SID
}

// User is an account of the account domain, merged by RID from the
// display information and the user enumeration.
type User struct {
	RID         uint32
	Name        string
	FullName    string
	Description string
	ACB         uint32
	// ACBSource says where ACB came from: "display", "user_info" (class
	// 16 or 21), or "" when neither call gave it.
	ACBSource string
	// Details is class 21, when Options.Details asked for it and the
	// server answered.
	Details *UserDetails
}

// Group is a domain group (Kind "domain"), an alias of the account domain
// ("alias") or of Builtin ("builtin").
type Group struct {
	RID     uint32
	Name    string
	Kind    string
	Members []Member // nil when they could not be read; see MembersErr
	// MembersErr is why the members are missing (open or read refused).
	MembersErr error
}

// Member is one member of a group or alias. Name is empty and Resolved
// false when SAMR could not translate it (a SID outside the account and
// Builtin domains, or an RID the server does not map); LSA may still.
type Member struct {
	SID      string
	RID      uint32
	Name     string
	Domain   string
	Use      SIDUse
	Resolved bool
}

// Policy is the account domain's policy, raw. Durations are relative
// times; turn them into seconds with Duration.
type Policy struct {
	Password    *PasswordInfo
	Lockout     *LockoutInfo
	ForceLogoff *int64
	// Fallback is GetDomainPasswordInformation's answer, read when the
	// password class could not be.
	Fallback *DomainPasswordInfo
}

// Enumeration is what Enumerate learned. A nil field was not read (not
// asked, or refused: Calls says which); an empty non-nil list means "read,
// none".
type Enumeration struct {
	Connect string // "Connect5" or "Connect2"
	Domains []DomainRef
	Account *DomainRef
	Builtin *DomainRef
	Users   []User
	Groups  []Group
	Policy  *Policy
	Calls   []Call
}

// Enumerate does the whole anonymous SAMR enumeration that `enum -U -G -P`
// needs and records every call made. It returns what it learned even when
// a step fails; the error is the first failure that stopped a whole part
// (connect, the account domain, users, groups, policy).
func (c *Client) Enumerate(ctx context.Context, opt Options) (*Enumeration, error) {
	e := &Enumeration{}
	prev := c.OnCall
	c.OnCall = func(call Call) {
		e.Calls = append(e.Calls, call)
		if prev != nil {
			prev(call)
		}
	}
	defer func() { c.OnCall = prev }()

	server, which, err := c.Connect(ctx, ServerConnect|ServerEnumerateDomains|ServerLookupDomain)
	if err != nil {
		return e, err
	}
	e.Connect = which
	defer func() {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		c.Close(cctx, server)
	}()

	if err := c.findDomains(ctx, server, e, opt.DomainSID, opt.DomainSIDFunc); err != nil {
		return e, err
	}

	var errs []error
	dom := &domainHandles{c: c, server: server, sid: e.Account.SID}
	defer func() {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		dom.close(cctx)
	}()

	if opt.Users {
		if err := c.readUsers(ctx, dom, e, opt); err != nil {
			errs = append(errs, err)
		}
	}
	if opt.Groups {
		if err := c.readGroups(ctx, dom, e, opt); err != nil {
			errs = append(errs, err)
		}
	}
	if opt.Policy {
		if err := c.readPolicy(ctx, dom, e); err != nil {
			errs = append(errs, err)
		}
	}
	return e, errors.Join(errs...)
}

// cleanupContext gives handle closing a few seconds of its own, even when
// ctx is already done: an unclosed handle costs the server, not us, but a
// polite client closes what it opened.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
}

// findDomains lists the server's domains and looks each up; the account
// domain is chosen by SID, never by position.
func (c *Client) findDomains(ctx context.Context, server Handle, e *Enumeration, hint string, hintFunc func() string) error {
	var want *ndr.SID
	wanted := func() error {
		if hint == "" && hintFunc != nil {
			hint, hintFunc = hintFunc(), nil
		}
		if hint != "" && want == nil {
			s, err := ndr.ParseSID(hint)
			if err != nil {
				return fmt.Errorf("samr: domain SID hint: %w", err)
			}
			want = &s
		}
		return nil
	}
	if hint != "" {
		if err := wanted(); err != nil {
			return err
		}
	}
	list, err := c.EnumerateDomains(ctx, server)
	if err != nil {
		if herr := wanted(); herr != nil {
			return herr
		}
		if want == nil {
			return err
		}
		// The domain list is refused but the caller knows the SID (from
		// LSA): open by SID, names unknown. The refusal stays in Calls.
		e.Domains = []DomainRef{{SID: *want}, {SID: BuiltinSID}}
		e.Account, e.Builtin = &e.Domains[0], &e.Domains[1]
		return nil
	}
	e.Domains = []DomainRef{}
	for _, d := range list {
		sid, err := c.LookupDomain(ctx, server, d.Name)
		if err != nil {
			continue // recorded; a domain we cannot look up is not the one we need
		}
		e.Domains = append(e.Domains, DomainRef{Name: d.Name, SID: sid})
	}
	others := 0
	for _, d := range e.Domains {
		if !d.SID.Equal(BuiltinSID) {
			others++
		}
	}
	if others > 1 {
		// Several domains besides Builtin: the hint picks.
		if err := wanted(); err != nil {
			return err
		}
	}
	var candidates []int
	for i, d := range e.Domains {
		switch {
		case d.SID.Equal(BuiltinSID):
			e.Builtin = &e.Domains[i]
		case want != nil && d.SID.Equal(*want):
			candidates = append([]int{i}, candidates...)
		case want == nil:
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		return fmt.Errorf("samr: no account domain among %d domains", len(e.Domains))
	}
	// With no hint and several non-Builtin domains (not seen on Windows or
	// Samba), prefer a machine/domain SID (S-1-5-21-…).
	pick := candidates[0]
	if want == nil {
		for _, i := range candidates {
			s := e.Domains[i].SID
			if s.Authority == 5 && len(s.SubAuthority) == 4 && s.SubAuthority[0] == 21 {
				pick = i
				break
			}
		}
	}
	e.Account = &e.Domains[pick]
	return nil
}

// domainHandles opens the account domain lazily with the rights each part
// needs, so a server that refuses one right still answers the others.
type domainHandles struct {
	c       *Client
	server  Handle
	sid     ndr.SID
	all     *Handle // list + lookup + policy
	list    *Handle // list + lookup only
	policy  *Handle
	builtin *Handle
	opened  []Handle
	allErr  error
}

const (
	accessList   = DomainListAccounts | DomainLookup
	accessPolicy = DomainReadPasswordParameters | DomainReadOtherParameters
)

func (d *domainHandles) open(ctx context.Context, sid ndr.SID, access uint32) (*Handle, error) {
	h, err := d.c.OpenDomain(ctx, d.server, access, sid)
	if err != nil {
		return nil, err
	}
	d.opened = append(d.opened, h)
	return &h, nil
}

// get returns a handle to the account domain with the rights in want
// (accessList or accessPolicy): first one handle for everything, then, if
// that is denied, one for just those rights.
func (d *domainHandles) get(ctx context.Context, want uint32) (Handle, error) {
	if d.all == nil && d.allErr == nil {
		d.all, d.allErr = d.open(ctx, d.sid, accessList|accessPolicy)
	}
	if d.all != nil {
		return *d.all, nil
	}
	if !errors.Is(d.allErr, ntstatus.AccessDenied) {
		return Handle{}, d.allErr
	}
	slot := &d.list
	if want == accessPolicy {
		slot = &d.policy
	}
	if *slot == nil {
		h, err := d.open(ctx, d.sid, want)
		if err != nil {
			return Handle{}, err
		}
		*slot = h
	}
	return **slot, nil
}

func (d *domainHandles) getBuiltin(ctx context.Context) (Handle, error) {
	if d.builtin == nil {
		h, err := d.open(ctx, BuiltinSID, accessList)
		if err != nil {
			return Handle{}, err
		}
		d.builtin = h
	}
	return *d.builtin, nil
}

func (d *domainHandles) close(ctx context.Context) {
	for _, h := range d.opened {
		d.c.Close(ctx, h)
	}
}

// readUsers merges QueryDisplayInformation (name, full name, description,
// ACB) with EnumerateUsersInDomain (name, RID) by RID. Either may be
// refused or partial; the union is kept.
func (c *Client) readUsers(ctx context.Context, dom *domainHandles, e *Enumeration, opt Options) error {
	h, err := dom.get(ctx, accessList)
	if err != nil {
		return err
	}
	byRID := map[uint32]*User{}
	var order []uint32
	get := func(rid uint32) *User {
		u, ok := byRID[rid]
		if !ok {
			u = &User{RID: rid}
			byRID[rid] = u
			order = append(order, rid)
		}
		return u
	}
	disp, dispErr := c.QueryDisplayUsers(ctx, h)
	for _, d := range disp {
		u := get(d.RID)
		u.Name, u.FullName, u.Description = d.Name, d.FullName, d.Description
		u.ACB, u.ACBSource = d.ACB, "display"
	}
	list, listErr := c.EnumerateUsers(ctx, h, 0)
	for _, l := range list {
		u := get(l.RID)
		if u.Name == "" {
			u.Name = l.Name
		}
	}
	if dispErr != nil && listErr != nil {
		return dispErr
	}
	slices.Sort(order)
	e.Users = make([]User, 0, len(order))
	for _, rid := range order {
		e.Users = append(e.Users, *byRID[rid])
	}
	if opt.Details {
		for i := range e.Users {
			c.readUserDetails(ctx, h, &e.Users[i], opt.AccountFlags)
		}
	} else if opt.AccountFlags || len(e.Users) <= opt.MissingFlags && noDisplayFlags(e.Users) {
		for i := range e.Users {
			c.readUserControl(ctx, h, &e.Users[i])
		}
	}
	return nil
}

// noDisplayFlags: the display information gave no user any account bit.
// No account lacks an account-type bit ([MS-SAMR] 2.2.1.12), so all zeros
// mean the call did not carry them.
func noDisplayFlags(us []User) bool {
	for _, u := range us {
		if u.ACB != 0 {
			return false
		}
	}
	return len(us) > 0
}

// readUserDetails reads class 21 for one user; when the open or the query
// is refused and flags were asked, it tries class 16 alone.
func (c *Client) readUserDetails(ctx context.Context, domain Handle, u *User, flags bool) {
	uh, err := c.OpenUser(ctx, domain, UserReadDetails, u.RID)
	if err == nil {
		var d UserDetails
		d, err = c.QueryUserDetails(ctx, uh)
		c.Close(ctx, uh)
		if err == nil {
			u.Details = &d
			u.ACB, u.ACBSource = d.ACB, "user_info"
			if u.FullName == "" {
				u.FullName = d.FullName
			}
			if u.Description == "" {
				u.Description = d.Description
			}
			return
		}
	}
	if flags && ctx.Err() == nil {
		c.readUserControl(ctx, domain, u)
	}
}

// readUserControl reads class 16 (account bits) for one user.
func (c *Client) readUserControl(ctx context.Context, domain Handle, u *User) {
	uh, err := c.OpenUser(ctx, domain, UserReadAccount, u.RID)
	if err != nil {
		return
	}
	if acb, err := c.QueryUserControl(ctx, uh); err == nil {
		u.ACB, u.ACBSource = acb, "user_info"
	}
	c.Close(ctx, uh)
}

// readGroups lists domain groups, account-domain aliases and Builtin
// aliases, reads their members and names them with LookupIdsInDomain in
// the member's own domain.
func (c *Client) readGroups(ctx context.Context, dom *domainHandles, e *Enumeration, opt Options) error {
	h, err := dom.get(ctx, accessList)
	if err != nil {
		return err
	}
	var errs []error
	var jobs []*memberJob
	groups, err := c.EnumerateGroups(ctx, h)
	if err != nil {
		errs = append(errs, err)
	}
	for _, g := range groups {
		jobs = append(jobs, &memberJob{grp: Group{RID: g.RID, Name: g.Name, Kind: "domain"}})
	}
	aliases, err := c.EnumerateAliases(ctx, h)
	if err != nil {
		errs = append(errs, err)
	}
	for _, a := range aliases {
		jobs = append(jobs, &memberJob{grp: Group{RID: a.RID, Name: a.Name, Kind: "alias"}, alias: true})
	}
	var bh Handle
	if e.Builtin != nil {
		bh, err = dom.getBuiltin(ctx)
		if err == nil {
			var bl []RIDName
			bl, err = c.EnumerateAliases(ctx, bh)
			for _, a := range bl {
				jobs = append(jobs, &memberJob{grp: Group{RID: a.RID, Name: a.Name, Kind: "builtin"}, alias: true, builtin: true})
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	c.readMembers(ctx, e, jobs, laneHandles{acct: h, builtin: bh}, opt)
	e.Groups = make([]Group, 0, len(jobs))
	for _, j := range jobs {
		e.Groups = append(e.Groups, j.grp)
	}
	c.resolveMembers(ctx, dom, e)
	return errors.Join(errs...)
}

// MaxMembers bounds the members read across all groups and aliases of one
// enumeration (each about 100 bytes held: its SID as text, its name); the
// groups left unread then carry ErrMemberCap (docs/bounds.md).
const MaxMembers = 1 << 17

// ErrMemberCap is the MembersErr of a group not read because MaxMembers
// members were already read.
var ErrMemberCap = errors.New("samr: members not read: 131,072 members already read for this host")

// memberJob is one group or alias whose members are read (open, get
// members, close), with the calls that took.
type memberJob struct {
	grp     Group
	alias   bool
	builtin bool
	calls   []Call
}

// laneHandles are the domain handles one association reads members with.
type laneHandles struct{ acct, builtin Handle }

// Member reads go on extra lanes only when there are enough of them to
// pay for a lane's setup (a pipe, a bind, connect, one or two opens).
const (
	minLaneJobs  = 8
	jobsPerLane  = 4
	maxLaneCount = 8
)

// readMembers runs the jobs on c and on the lanes opt offers; see
// Options.Lane for the order of the calls recorded.
func (c *Client) readMembers(ctx context.Context, e *Enumeration, jobs []*memberJob, main laneHandles, opt Options) {
	var mu sync.Mutex
	next, members := 0, 0
	take := func() *memberJob {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(jobs) || ctx.Err() != nil || members >= MaxMembers {
			return nil
		}
		next++
		return jobs[next-1]
	}
	work := func(cl *Client, hs laneHandles) {
		for j := take(); j != nil; j = take() {
			cl.OnCall = func(call Call) { j.calls = append(j.calls, call) }
			h := hs.acct
			if j.builtin {
				h = hs.builtin
			}
			cl.readMember(ctx, e.Account.SID, h, j)
			mu.Lock()
			members += len(j.grp.Members)
			mu.Unlock()
		}
	}
	lanes := 0
	if opt.Lane != nil && opt.Lanes > 1 && len(jobs) >= minLaneJobs {
		lanes = min(opt.Lanes-1, len(jobs)/jobsPerLane, maxLaneCount)
	}
	needBuiltin := slices.ContainsFunc(jobs, func(j *memberJob) bool { return j.builtin })
	laneCalls := make([][]Call, lanes)
	var wg sync.WaitGroup
	for i := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc, release, err := opt.Lane(ctx, i+1)
			if err != nil {
				return
			}
			defer release()
			record := func(call Call) { laneCalls[i] = append(laneCalls[i], call) }
			lc.OnCall = record
			hs, opened, err := lc.openLane(ctx, e.Account.SID, needBuiltin)
			if err == nil {
				work(lc, hs)
			}
			lc.OnCall = record
			cctx, cancel := cleanupContext(ctx)
			defer cancel()
			for k := len(opened) - 1; k >= 0; k-- {
				lc.Close(cctx, opened[k])
			}
		}()
	}
	saved := c.OnCall
	work(c, main)
	c.OnCall = saved
	wg.Wait()
	if members >= MaxMembers {
		for _, j := range jobs[next:] {
			j.grp.MembersErr = ErrMemberCap
		}
	}
	if saved == nil {
		return
	}
	for _, j := range jobs {
		for _, call := range j.calls {
			saved(call)
		}
	}
	for _, calls := range laneCalls {
		for _, call := range calls {
			saved(call)
		}
	}
}

// openLane connects a lane's association and opens the domains its jobs
// need; opened lists the handles to close, server last.
func (c *Client) openLane(ctx context.Context, acct ndr.SID, builtin bool) (hs laneHandles, opened []Handle, err error) {
	server, _, err := c.Connect(ctx, ServerConnect|ServerEnumerateDomains|ServerLookupDomain)
	if err != nil {
		return hs, nil, err
	}
	opened = append(opened, server)
	if hs.acct, err = c.OpenDomain(ctx, server, accessList, acct); err != nil {
		return hs, opened, err
	}
	opened = append(opened, hs.acct)
	if builtin {
		if hs.builtin, err = c.OpenDomain(ctx, server, accessList, BuiltinSID); err != nil {
			return hs, opened, err
		}
		opened = append(opened, hs.builtin)
	}
	return hs, opened, nil
}

// readMember reads one group's or alias's members on domain handle h.
func (c *Client) readMember(ctx context.Context, acct ndr.SID, h Handle, j *memberJob) {
	grp := &j.grp
	var err error
	if !j.alias {
		var gh Handle
		gh, err = c.OpenGroup(ctx, h, GroupListMembers, grp.RID)
		if err == nil {
			var m []GroupMember
			m, err = c.GetMembersInGroup(ctx, gh)
			c.Close(ctx, gh)
			if err == nil {
				// The domain's prefix is formatted once: a member is 8
				// bytes on the wire, and a SID built and formatted per
				// member allocated 22 bytes for each byte received.
				prefix := acct.String() + "-"
				grp.Members = make([]Member, len(m))
				var buf []byte
				for i, x := range m {
					buf = strconv.AppendUint(append(buf[:0], prefix...), uint64(x.RID), 10)
					grp.Members[i] = Member{SID: string(buf), RID: x.RID}
				}
			}
		}
	} else {
		var ah Handle
		ah, err = c.OpenAlias(ctx, h, AliasListMembers, grp.RID)
		if err == nil {
			var sids []ndr.SID
			sids, err = c.GetMembersInAlias(ctx, ah)
			c.Close(ctx, ah)
			if err == nil {
				grp.Members = make([]Member, len(sids))
				for i, s := range sids {
					grp.Members[i] = Member{SID: s.String(), RID: s.RID()}
				}
			}
		}
	}
	grp.MembersErr = err
}

// resolveMembers names members in the account domain and Builtin: from
// what was already enumerated, then LookupIdsInDomain for the rest (one
// batched call per domain). Others stay unresolved.
func (c *Client) resolveMembers(ctx context.Context, dom *domainHandles, e *Enumeration) {
	type key struct {
		dom string
		rid uint32
	}
	known := map[key]Lookup{}
	acct := e.Account.SID.String()
	for _, u := range e.Users {
		known[key{acct, u.RID}] = Lookup{RID: u.RID, Name: u.Name, Use: UseUser}
	}
	for _, g := range e.Groups {
		d, use := acct, UseGroup
		switch g.Kind {
		case "alias":
			use = UseAlias
		case "builtin":
			d, use = BuiltinSID.String(), UseAlias
		}
		known[key{d, g.RID}] = Lookup{RID: g.RID, Name: g.Name, Use: use}
	}
	// Which domain a member SID belongs to: its SID minus the RID.
	domOf := func(sid string) string {
		if i := strings.LastIndexByte(sid, '-'); i > 0 {
			return sid[:i]
		}
		return ""
	}
	missing := map[string][]uint32{}
	for _, g := range e.Groups {
		for _, m := range g.Members {
			d := domOf(m.SID)
			if d != acct && d != BuiltinSID.String() {
				continue
			}
			if _, ok := known[key{d, m.RID}]; !ok && !slices.Contains(missing[d], m.RID) {
				missing[d] = append(missing[d], m.RID)
			}
		}
	}
	for d, rids := range missing {
		var h Handle
		var err error
		if d == acct {
			h, err = dom.get(ctx, accessList)
		} else {
			h, err = dom.getBuiltin(ctx)
		}
		if err != nil {
			continue
		}
		res, _ := c.LookupIDs(ctx, h, rids)
		for _, r := range res {
			if r.Name != "" {
				known[key{d, r.RID}] = r
			}
		}
	}
	names := map[string]string{acct: e.Account.Name}
	if e.Builtin != nil {
		names[BuiltinSID.String()] = e.Builtin.Name
	}
	for gi := range e.Groups {
		for mi := range e.Groups[gi].Members {
			m := &e.Groups[gi].Members[mi]
			d := domOf(m.SID)
			if l, ok := known[key{d, m.RID}]; ok {
				m.Name, m.Use, m.Domain, m.Resolved = l.Name, l.Use, names[d], true
			}
		}
	}
}

// readPolicy reads classes 1, 3 and 12 of the account domain with
// QueryInformationDomain2, falling back to QueryInformationDomain (opnum
// 8) when opnum 46 faults, and to GetDomainPasswordInformation when the
// password class cannot be read at all.
func (c *Client) readPolicy(ctx context.Context, dom *domainHandles, e *Enumeration) error {
	h, err := dom.get(ctx, accessPolicy)
	p := &Policy{}
	var errs []error
	if err == nil {
		use2 := true
		for _, class := range []uint16{DomainPasswordInformation, DomainLogoffInformation, DomainLockoutInformation} {
			var info DomainInfo
			if use2 {
				info, err = c.QueryDomainInfo2(ctx, h, class)
				var f *dcerpc.Fault
				if errors.As(err, &f) {
					use2 = false // opnum 46 not served: use opnum 8 from now on
				}
			}
			if !use2 {
				info, err = c.QueryDomainInfo(ctx, h, class)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			switch {
			case info.Password != nil:
				p.Password = info.Password
			case info.Lockout != nil:
				p.Lockout = info.Lockout
			case info.ForceLogoff != nil:
				p.ForceLogoff = info.ForceLogoff
			}
		}
	} else {
		errs = append(errs, err)
	}
	if p.Password == nil {
		if fb, err := c.GetDomainPasswordInformation(ctx); err == nil {
			p.Fallback = &fb
		} else {
			errs = append(errs, err)
		}
	}
	if p.Password != nil || p.Lockout != nil || p.ForceLogoff != nil || p.Fallback != nil {
		e.Policy = p
		return nil
	}
	return errors.Join(errs...)
}
