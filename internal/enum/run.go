package enum

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nullsweep/nullsweep/internal/ctxio"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// WellKnownPipes are opened anonymously at layer 5; which of
// them open is what NullSessionPipes controls on Windows.
var WellKnownPipes = []string{
	"lsarpc", "samr", "netlogon", "srvsvc", "wkssvc", "spoolss", "browser",
	"epmapper", "winreg", "eventlog", "ntsvcs", "atsvc",
}

// Options select what Run does for one host.
type Options struct {
	// Timeout bounds the whole host (default 10s).
	Timeout time.Duration
	// Port forces the SMB port (445 or 139); 0 picks 445, or 139 when 445 is closed.
	Port int
	// NoGuest turns off the guest probe (a random unknown user, empty password).
	NoGuest bool
	// SMB1 forces SMB1 for the session and the checks.
	SMB1 bool
	// Checks selects the RPC checks (enum.exe letters); zero means all.
	Checks Checks
	// RID cycling settings (-R).
	RIDs RIDOptions
	// Logger receives debug logs; nil discards.
	Logger *slog.Logger
	// Resolver looks up a target given by name (nil: net.DefaultResolver).
	Resolver *net.Resolver
	// Transport of the RPC checks: TransportAuto (""), TransportSMB or
	// TransportTCP (doors.go).
	Transport string
	// Credentials, when not zero, make every check authenticated: the
	// session is the user's (Result.Sessions["user"], Result.Account) and
	// no null session or guest probe is tried. The logon is tried once; a
	// refusal ends the host at the session layer and is never retried.
	Credentials smb.Credentials

	// sequential runs the RPC checks one after another even where they
	// could run beside each other (tests: a recorded server replays one
	// request order).
	sequential bool
}

// Checks is a set of enum.exe check letters.
type Checks uint32

// Check letters, as enum.exe names them.
const (
	CheckUsers    Checks = 1 << iota // -U
	CheckMachines                    // -M
	CheckShares                      // -S
	CheckPolicy                      // -P
	CheckGroups                      // -G
	CheckLSA                         // -L
	CheckNetBIOS                     // -N
	CheckRIDs                        // -R
	CheckDetailed                    // -d: per-user details
	// CheckPipes opens every well-known pipe (layer 5). -A and the default
	// include it; a selection of letters opens only the pipes its checks use,
	// since a pipe the server lacks can cost Samba a second to refuse.
	CheckPipes
	// CheckDialects negotiates each dialect on a connection of its own
	// (layer 2). -A and the default include it; with a letter selection only
	// the dialect the checks use is reported, since six more connections
	// cost a forking server (Samba) more than the checks themselves.
	CheckDialects
	CheckEndpoints // -E: the endpoint mapper's list (TCP 135)
	CheckLDAP      // -D: LDAP rootDSE, anonymous search, LDAPS certificate
	CheckAll       = CheckUsers | CheckMachines | CheckShares | CheckPolicy | CheckGroups | CheckLSA | CheckNetBIOS | CheckRIDs | CheckPipes | CheckDialects | CheckEndpoints | CheckLDAP
)

// Has reports whether c includes all of x; the zero set means all.
func (c Checks) Has(x Checks) bool {
	if c&CheckAll == 0 {
		c |= CheckAll
	}
	return c&x == x
}

// RIDOptions tune RID cycling.
type RIDOptions struct {
	Ranges   []RIDRange // explicit ranges; nil = 500-550 then 1000+ adaptive
	Batch    int        // SIDs per LookupSids call (default 1000)
	Stop     int        // empty batches in a row that end the adaptive scan
	UnixSIDs bool       // also S-1-22-1 / S-1-22-2 (Samba)
	Names    []string   // LookupNames for these
	// Lanes is how many pipes RID cycling keeps in flight (default 4,
	// measured on the lab: scripts/bench.sh).
	Lanes int
	// MaxFound bounds the names one host may hand us (default 65,536): a
	// server that maps every RID would otherwise keep the open-ended scan
	// going until the host's deadline, growing the result all the while.
	// 65,536 names of the longest kind lsa accepts hold about 60 MiB,
	// ordinary ones 8 MiB (docs/bounds.md); a larger domain is reported as
	// stopped, not complete.
	MaxFound int
}

// RIDRange is an inclusive range of RIDs.
type RIDRange struct{ First, Last uint32 }

// host is the state shared by the checks of one host: one session, reused.
type host struct {
	Target  string
	Opt     Options
	Result  *Result
	Conn    smb.Conn
	Session smb.Session
	IPC     smb.Tree
	log     *slog.Logger
	// mu guards Result.Checks and rpcTransport: RID-cycling lanes record
	// from goroutines of their own. Every other field of Result is written
	// by the run goroutine only; probes beside it hand their values back
	// (beside, portProbe).
	mu sync.Mutex
	// rpcRan says the RPC checks ran; rpcTransport is the protocol
	// sequence record stamps on their binds and calls (doors.go).
	rpcRan       bool
	rpcTransport string
	// closing holds the pipe closes under way (closeBeside); close waits
	// for them.
	closing []chan struct{}
}

// record appends one piece of evidence, and logs it at debug level as it
// happens (nullsweep -v).
func (h *host) record(c Check) {
	h.mu.Lock()
	if c.Transport == "" && h.rpcTransport != "" && (c.Layer == LayerBind || c.Layer == LayerCall) && c.Interface != IfaceRAP && c.Interface != IfaceEnum {
		c.Transport = h.rpcTransport
	}
	h.Result.Checks = append(h.Result.Checks, c)
	h.mu.Unlock()
	logCheck(h.log, c)
}

// logCheck logs a check at debug level as it happens (nullsweep -v).
func logCheck(log *slog.Logger, c Check) {
	if log != nil {
		log.Debug("call", "layer", c.Layer, "call", c.Name, "result", c.Result, "status", c.Status, "ms", c.MS)
	}
}

// note records c, a call that took since start and returned err.
func (h *host) note(c Check, start time.Time, err error) {
	h.record(c.Done(time.Since(start), err))
}

// Run examines one host, layer by layer, and never fails as a whole: what
// was learned before a failure stays in the Result, and Error/Layer say
// where it stopped.
func Run(ctx context.Context, target string, opt Options) *Result {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &host{Target: target, Opt: opt, log: log.With("target", target),
		Result: &Result{Schema: Schema, Target: target, Ports: map[string]Outcome{},
			Sessions: map[string]*SessionResult{}, Checks: []Check{}}}
	if !opt.Credentials.Anonymous() {
		h.Result.Account = opt.Credentials.Account()
	}
	defer h.close()
	h.run(ctx)
	if h.Result.Layer != LayerResolve {
		// A name that did not resolve leaves no address to knock on:
		// 135 and LDAP would only repeat the failed lookup, per port.
		h.doors(ctx)
	}
	h.noteDeadline(ctx)
	return h.Result
}

// noteDeadline reports a host deadline that ran out in the RPC checks
// (which record each call's failure but go on) as the host's error, at
// the layer of the last step taken.
func (h *host) noteDeadline(ctx context.Context) {
	err := ctx.Err()
	if err == nil && ctxio.Ended(ctx) {
		// The socket deadline fired a moment before ctx's own timer.
		err = context.DeadlineExceeded
	}
	if err == nil || h.Result.Error != "" {
		return
	}
	h.mu.Lock()
	layer := deadlineLayer(h.Result.Checks)
	h.mu.Unlock()
	h.fail(layer, err)
}

// deadlineLayer is the layer the examination had reached when the
// deadline ran out: that of the first check, in the evidence's order, the
// deadline cut short. Checks beside each other are merged in the order of
// a sequential run, so this is where a sequential run would have been
// stopped. Without such a check (the deadline fell between calls), it is
// the layer of the last RPC or share step taken.
func deadlineLayer(checks []Check) Layer {
	rpcLayer := func(l Layer) bool { return l == LayerPipe || l == LayerBind || l == LayerCall || l == LayerShare }
	for _, c := range checks {
		if c.cut && rpcLayer(c.Layer) {
			return c.Layer
		}
	}
	for i := len(checks) - 1; i >= 0; i-- {
		if rpcLayer(checks[i].Layer) {
			return checks[i].Layer
		}
	}
	return LayerCall
}

func (h *host) fail(layer Layer, err error) {
	h.Result.Layer = layer
	h.Result.Error = err.Error()
}

func (h *host) close() {
	// A short, fresh deadline: the host's own may be spent already.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	for _, done := range h.closing {
		<-done
	}
	if h.IPC != nil {
		_ = h.IPC.Disconnect(ctx)
	}
	if h.Session != nil {
		_ = h.Session.Logoff(ctx)
	}
	if h.Conn != nil {
		_ = h.Conn.Close()
	}
}

// run examines the host layer by layer, each layer a function that
// returns what it learned. Probes that run beside the main sequence (the
// dialect probe, the guest logon, NetBIOS, a second port) get nothing of
// the Result: they hand their values and evidence back, and this goroutine
// merges them.
func (h *host) run(ctx context.Context) {
	r := h.Result
	if err := h.resolve(ctx); err != nil {
		h.fail(LayerResolve, err)
		return
	}
	r.Address = h.Target

	// Layer 1: reachability.
	port, kept, later, err := h.reach(ctx)
	if later != "" {
		// The other port is probed after the checks (see probePorts).
		defer h.probeLater(ctx, later)
	}
	if err != nil {
		h.fail(LayerReachability, err)
		return
	}
	r.Port = port
	sopt, mainOpt, closeKept := h.transports(port, kept)
	defer closeKept()

	// NetBIOS node status runs beside the SMB layers: UDP, independent.
	if h.Opt.Checks.Has(CheckNetBIOS) {
		nb := goBeside(h, func(rec *recorder) *NetBIOS { return h.netbios(ctx, rec) })
		defer func() { r.NetBIOS = nb.wait(h) }()
	}

	// Layer 2: negotiate. The per-dialect probe (one connection per
	// dialect) runs beside the connection the checks use: slow servers
	// (Samba AD forks per connection) would otherwise cost twice.
	r.SMB = &SMBInfo{}
	dialects := h.probeDialects(ctx, sopt)
	defer dialects()
	conn, err := h.negotiate(ctx, mainOpt, sopt, dialects)
	if err != nil {
		dialects()
		if r.SMB.Dialects == nil {
			r.SMB = nil // nothing was learned at layer 2
		}
		h.fail(LayerNegotiate, err)
		return
	}
	h.Conn = conn
	neg := conn.Negotiated()
	h.noteNegotiated(neg)
	// The guest probe gets its own connection, in the same dialect family,
	// so that it runs beside the null session's checks without sharing state.
	if !h.Opt.NoGuest && h.Opt.Credentials.Anonymous() {
		smb1 := neg.Dialect == smb.SMB1
		g := goBeside(h, func(rec *recorder) *SessionResult { return h.guestProbe(ctx, rec, sopt, smb1) })
		defer func() { r.Sessions[SessionGuest] = g.wait(h) }()
	}

	// Layer 3: the null session, or the user's.
	sess, sr, err := h.nullSession(ctx, neg.Dialect)
	r.Sessions[h.sessionKind()] = sr
	if err != nil {
		h.fail(LayerSession, err)
		return
	}
	h.Session = sess

	// Layer 4: IPC$.
	ipc, step, err := h.connectIPC(ctx, sess)
	r.IPC = step
	if err != nil {
		r.Pipes = map[string]Outcome{}
		for _, p := range WellKnownPipes {
			r.Pipes[p] = Skipped
		}
		if step.Result != Denied {
			h.fail(LayerIPC, err)
		}
		// Disk shares may still answer a denied IPC$ (restrict anonymous = 2
		// blocks IPC$ only): the share checks try them if they know names.
		dialects()
		h.runRPCChecks(ctx)
		return
	}
	h.IPC = ipc

	// Layer 5: which well-known pipes open anonymously.
	pipes, err := h.openPipes(ctx, ipc)
	r.Pipes = pipes
	if err != nil {
		h.fail(LayerPipe, err)
		return
	}

	// Layers 6–7: the RPC checks. The browse check needs to know whether
	// SMB1 is offered, so the dialect probe is collected first.
	dialects()
	h.runRPCChecks(ctx)
}

// recorder collects the evidence of a probe that runs beside the main
// sequence; it logs each check as it happens, like record.
type recorder struct {
	log    *slog.Logger
	checks []Check
}

func (rec *recorder) note(c Check, start time.Time, err error) {
	c = c.Done(time.Since(start), err)
	logCheck(rec.log, c)
	rec.checks = append(rec.checks, c)
}

// beside is a probe running in its own goroutine. wait, called on the
// run goroutine, merges its evidence into the Result (once) and returns
// its value.
type beside[T any] struct {
	done   chan struct{}
	v      T
	rec    recorder
	merged bool
}

func goBeside[T any](h *host, f func(rec *recorder) T) *beside[T] {
	b := &beside[T]{done: make(chan struct{}), rec: recorder{log: h.log}}
	go func() {
		defer close(b.done)
		b.v = f(&b.rec)
	}()
	return b
}

func (b *beside[T]) wait(h *host) T {
	<-b.done
	if !b.merged {
		b.merged = true
		h.mu.Lock()
		h.Result.Checks = append(h.Result.Checks, b.rec.checks...)
		h.mu.Unlock()
	}
	return b.v
}

// resolve turns a host name into the address every connection goes to.
// A name that does not resolve is the caller's error, not the host's.
func (h *host) resolve(ctx context.Context) error {
	if net.ParseIP(h.Target) != nil {
		return nil
	}
	start := time.Now()
	res := h.Opt.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	addrs, err := res.LookupHost(ctx, h.Target)
	h.note(Call(LayerResolve, IfaceDNS, "LookupHost", h.Target).Named("dns.LookupHost"), start, err)
	if err != nil {
		return err
	}
	// Every connection goes to the address shown, not to whatever a later
	// lookup of the name returns.
	h.Target = addrs[0]
	return nil
}

// reach is layer 1: it probes the SMB ports and picks the one the checks
// use, with the connection that probe opened; later is the port to probe
// after the checks.
func (h *host) reach(ctx context.Context) (port int, kept net.Conn, later string, err error) {
	later, probes := h.probePorts(ctx)
	for _, p := range probes {
		h.notePort(p)
	}
	r := h.Result
	port = h.Opt.Port
	if port == 0 {
		port = 445
		if r.Ports["445"] != Open && r.Ports["139"] == Open {
			port = 139
		}
	}
	name := strconv.Itoa(port)
	kept = probes[name].conn
	for _, p := range probes {
		if p.conn != nil && p.conn != kept {
			p.conn.Close()
		}
	}
	if st, ok := r.Ports[name]; !ok {
		// No port state: the host's deadline (or an interrupt) ended the
		// probe before the port answered or its own bound ran out.
		return port, nil, later, fmt.Errorf("tcp/%d: no answer before the host's deadline: %w", port, probes[name].err)
	} else if st != Open {
		return port, nil, later, fmt.Errorf("tcp/%d %s", port, st)
	}
	return port, kept, later, nil
}

// probeLater probes the port left for the end. Past the host's deadline
// it still gets a short bound of its own.
func (h *host) probeLater(ctx context.Context, port string) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if p := h.probeAndNote(pctx, port); p.conn != nil {
		p.conn.Close()
	}
}

// transports are the SMB options of the extra connections (dialect probe,
// guest probe) and of the main one, which starts from the connection
// layer 1 opened; closeKept drops that connection if nobody took it.
func (h *host) transports(port int, kept net.Conn) (sopt, mainOpt smb.Options, closeKept func()) {
	sopt = smb.Options{Port: port}
	var d net.Dialer
	addr := net.JoinHostPort(h.Target, strconv.Itoa(port))
	dial := func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	k := &keptConn{c: kept, dial: dial}
	mainOpt = smb.Options{Port: port, Transport: k.Dial}
	if port == 139 {
		sopt.Transport = netbiosTransport(h.Target)
		mainOpt.Transport = netbiosSession(k.Dial)
	}
	return sopt, mainOpt, k.Close
}

// probeDialects starts the per-dialect probe when -A asked for it. The
// returned function waits for it (the first time), records the dialects
// the server answered for and returns them; nil when not probed. One
// that was not probed, or whose probe got no answer, is absent, never "no".
func (h *host) probeDialects(ctx context.Context, sopt smb.Options) func() map[smb.Dialect]bool {
	if !h.Opt.Checks.Has(CheckDialects) {
		return func() map[smb.Dialect]bool { return nil }
	}
	b := goBeside(h, func(rec *recorder) map[smb.Dialect]bool {
		start := time.Now()
		d, err := smb.ProbeDialects(ctx, h.Target, sopt)
		rec.note(Call(LayerNegotiate, IfaceSMB, "ProbeDialects", "").Named("smb.ProbeDialects"), start, err)
		return d
	})
	return func() map[smb.Dialect]bool {
		first := !b.merged
		d := b.wait(h)
		if first && len(d) > 0 && h.Result.SMB != nil {
			m := make(map[string]bool, len(d))
			for x, ok := range d {
				m[x.String()] = ok
			}
			h.Result.SMB.Dialects = m
		}
		return d
	}
}

// negotiate is layer 2: the connection the session and the checks use.
// Without SMB2 (an NT4/2000/XP/2003-era host, or SMB1-only Samba), SMB1
// is tried when the dialect probe says only SMB1 answers, or when there
// was no probe.
func (h *host) negotiate(ctx context.Context, mainOpt, sopt smb.Options, dialects func() map[smb.Dialect]bool) (smb.Conn, error) {
	start := time.Now()
	if h.Opt.SMB1 {
		conn, err := dialSMB1(ctx, h.Target, mainOpt)
		h.note(Call(LayerNegotiate, IfaceSMB, "Negotiate", "").Named("smb.Negotiate"), start, err)
		return conn, err
	}
	conn, err := smb.Dial(ctx, h.Target, mainOpt)
	// The socket deadline can fire a moment before ctx's own timer: a
	// timed-out negotiate is no reason to try SMB1.
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		if d := dialects(); d == nil || d[smb.SMB1] && !anySMB2(d) {
			h.note(Call(LayerNegotiate, IfaceSMB, "Negotiate", "SMB2").Named("smb.Negotiate(SMB2)"), start, err)
			start = time.Now()
			conn, err = dialSMB1(ctx, h.Target, sopt)
		}
	}
	h.note(Call(LayerNegotiate, IfaceSMB, "Negotiate", "").Named("smb.Negotiate"), start, err)
	return conn, err
}

// noteNegotiated records the NEGOTIATE response's facts.
func (h *host) noteNegotiated(neg smb.NegotiateInfo) {
	s := h.Result.SMB
	s.Dialect = neg.Dialect.String()
	s.SigningEnabled = neg.SigningEnabled
	s.SigningRequired = neg.SigningRequired
	s.Capabilities = neg.Capabilities
	if neg.ServerGUID != ([16]byte{}) {
		s.ServerGUID = formatGUID(neg.ServerGUID)
	}
}

// sessionKind is the Result.Sessions key of the main session: "null", or
// "user" when the run has credentials.
func (h *host) sessionKind() string {
	if h.Opt.Credentials.Anonymous() {
		return SessionNull
	}
	return SessionUser
}

// nullSession is layer 3: no user, no domain, no password; or, with
// credentials, the user's logon (its evidence names the account, never
// the secret).
func (h *host) nullSession(ctx context.Context, d smb.Dialect) (smb.Session, *SessionResult, error) {
	start := time.Now()
	creds := h.Opt.Credentials
	sess, info, err := h.Conn.SessionSetup(ctx, creds)
	arg := "null"
	if !creds.Anonymous() {
		arg = "user " + creds.Account()
	}
	h.note(Call(LayerSession, IfaceSMB, "SessionSetup", arg).Named("smb.SessionSetup("+arg+")"), start, err)
	h.noteSessionInfo(info)
	return sess, sessionResult(info, err, d), err
}

// connectIPC is layer 4: the anonymous IPC$ tree connect.
func (h *host) connectIPC(ctx context.Context, sess smb.Session) (smb.Tree, *Step, error) {
	start := time.Now()
	ipc, err := sess.TreeConnect(ctx, "IPC$")
	h.note(Call(LayerIPC, IfaceSMB, "TreeConnect", "IPC$").Named("smb.TreeConnect(IPC$)"), start, err)
	res, status := Classify(err)
	if res == OK {
		res, status = Allowed, Status{Name: ntstatus.Success.String()}
	}
	step := &Step{Result: res, Status: status.Name}
	if err != nil && status.Name == "" {
		step.Error = err.Error()
	}
	return ipc, step, err
}

// openPipes is layer 5: which well-known pipes open anonymously (-A
// only; a letter selection opens the pipes its checks use). The error is
// the host's deadline or an interrupt.
func (h *host) openPipes(ctx context.Context, ipc smb.Tree) (map[string]Outcome, error) {
	pipes := map[string]Outcome{}
	if !h.Opt.Checks.Has(CheckPipes) {
		return pipes, nil
	}
	for _, p := range WellKnownPipes {
		start := time.Now()
		pipe, err := ipc.OpenPipe(ctx, p)
		h.note(openPipeCall(p), start, err)
		pipes[p] = pipeState(err)
		if err != nil {
			if ctx.Err() != nil {
				return pipes, ctx.Err()
			}
			continue
		}
		_ = pipe.Close(ctx)
	}
	return pipes, nil
}

// openPipeCall is the evidence of opening a named pipe.
func openPipeCall(pipe string) Check {
	return Call(LayerPipe, IfaceSMB, "OpenPipe", pipe).Named("smb.OpenPipe(" + pipe + ")")
}

// pipeState is Open, the status name, or the error.
func pipeState(err error) Outcome {
	if err == nil {
		return Open
	}
	return refusal(err)
}

// refusal is the outcome of a pipe or share probe that failed: the
// status's name, or the error.
func refusal(err error) Outcome {
	if _, st := Classify(err); st.Name != "" {
		return StatusOutcome(st.Name)
	}
	return Outcome(string(Error) + ": " + err.Error())
}

func anySMB2(d map[smb.Dialect]bool) bool {
	for k, v := range d {
		if v && k != smb.SMB1 {
			return true
		}
	}
	return false
}

func (h *host) noteSessionInfo(info smb.SessionInfo) {
	r := h.Result
	if info.NTLM != nil && r.SMB.NTLM == nil {
		n := info.NTLM
		r.SMB.NTLM = &NTLM{NetBIOSComputer: n.NetBIOSComputer, NetBIOSDomain: n.NetBIOSDomain,
			DNSComputer: n.DNSComputer, DNSDomain: n.DNSDomain, DNSTree: n.DNSTree, OSVersion: n.OSVersion}
	}
	if info.NativeOS != "" && r.SMB.NativeOS == "" {
		r.SMB.NativeOS = info.NativeOS
	}
	if info.NativeLanMan != "" && r.SMB.NativeLanMan == "" {
		r.SMB.NativeLanMan = info.NativeLanMan
	}
}

// sessionResult reports a logon as seen: a null logon the server accepted is
// "allowed" (we sent no user and no password), one it mapped to guest is
// "guest", whatever we sent.
func sessionResult(info smb.SessionInfo, err error, d smb.Dialect) *SessionResult {
	sr := &SessionResult{Dialect: d.String(), Form: info.Form}
	if err != nil {
		res, st := Classify(err)
		if st.Name == "" {
			sr.Result, sr.Error = Error, err.Error()
			return sr
		}
		sr.Status = st.Name
		if res == Denied || info.Status.IsError() {
			sr.Result = Denied
		} else {
			sr.Result = Error
		}
		return sr
	}
	flags := info.Flags
	sr.SessionFlags = &flags
	sr.Status = info.Status.String()
	if info.Guest() {
		sr.Result = Guest
	} else {
		sr.Result = Allowed
	}
	return sr
}

// guestProbe logs on with a freshly random user name and an empty password:
// no credential of anyone's, only a test of the server's guest mapping.
func (h *host) guestProbe(ctx context.Context, rec *recorder, sopt smb.Options, smb1 bool) *SessionResult {
	var b [6]byte
	_, _ = rand.Read(b[:])
	user := "nullsweep-" + hex.EncodeToString(b[:])
	start := time.Now()
	var conn smb.Conn
	var err error
	if smb1 {
		conn, err = dialSMB1(ctx, h.Target, sopt)
	} else {
		conn, err = smb.Dial(ctx, h.Target, sopt)
	}
	if err != nil {
		rec.note(Call(LayerNegotiate, IfaceSMB, "Negotiate", "guest").Named("smb.Negotiate(guest probe)"), start, err)
		return &SessionResult{Result: Error, Error: err.Error()}
	}
	defer conn.Close()
	start = time.Now()
	sess, info, err := conn.SessionSetup(ctx, smb.Credentials{User: user})
	rec.note(Call(LayerSession, IfaceSMB, "SessionSetup", "guest").Named("smb.SessionSetup(guest probe)"), start, err)
	sr := sessionResult(info, err, conn.Negotiated().Dialect)
	if sr.Result == Allowed {
		// An unknown user that logs on without the guest flag is still not a
		// null session; say what the server did.
		sr.Result = Guest
	}
	if sess != nil {
		_ = sess.Logoff(ctx)
	}
	return sr
}

// portProbe is one TCP probe's outcome; an open connection is kept: the
// one the session uses saves a second connect, which on a forking server
// (smbd forks per connection) is most of a host's time.
type portProbe struct {
	port  string
	state Outcome // Error: no state (the host's deadline ended the probe)
	conn  net.Conn
	err   error
	check Check
}

// probePort probes one port; it touches nothing of the Result, so that
// probes can run side by side (notePort records one).
func (h *host) probePort(ctx context.Context, port string) portProbe {
	start := time.Now()
	state, conn, err := probeTCP(ctx, h.Target, port)
	c := Call(LayerReachability, IfaceTCP, "Connect", port).Named("tcp/"+port).Done(time.Since(start), nil)
	c.Status = string(state)
	if state != Open {
		c.Result = Error
		if err != nil {
			c.Detail = err.Error()
		}
	}
	logCheck(h.log, c)
	return portProbe{port, state, conn, err, c}
}

// notePort records a port probe: its state (none when the host's deadline
// ended it) and its evidence.
func (h *host) notePort(p portProbe) {
	if p.state != Error {
		h.Result.Ports[p.port] = p.state
	}
	h.mu.Lock()
	h.Result.Checks = append(h.Result.Checks, p.check)
	h.mu.Unlock()
}

// probeAndNote probes one port and records it.
func (h *host) probeAndNote(ctx context.Context, port string) portProbe {
	p := h.probePort(ctx, port)
	h.notePort(p)
	return p
}

// probePorts probes the preferred port (445, or the one asked for) and,
// when it does not answer quickly, the other one beside it. When the
// preferred port is open the other is probed only at the end (later): its
// connect would make the server fork a process in the middle of the
// checks, which costs a 2-core Samba box half the run.
func (h *host) probePorts(ctx context.Context) (later string, got map[string]portProbe) {
	pref, alt := "445", "139"
	if h.Opt.Port == 139 {
		pref, alt = "139", "445"
	}
	got = map[string]portProbe{}
	prefCh := make(chan portProbe, 1)
	go func() { prefCh <- h.probePort(ctx, pref) }()
	select {
	case p := <-prefCh:
		if p.state == Open {
			return alt, map[string]portProbe{pref: p}
		}
		got[pref] = p
	case <-time.After(250 * time.Millisecond):
	}
	altCh := make(chan portProbe, 1)
	go func() { altCh <- h.probePort(ctx, alt) }()
	if _, ok := got[pref]; !ok {
		got[pref] = <-prefCh
	}
	got[alt] = <-altCh
	return "", got
}

// probeTCP says open (with the connection), closed (refused) or filtered
// (no answer within its own 3 s). When the host's deadline or an interrupt
// ends it first, there is no port state: Error.
func probeTCP(ctx context.Context, host, port string) (Outcome, net.Conn, error) {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(pctx, "tcp", net.JoinHostPort(host, port))
	if err == nil {
		return Open, c, nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return Closed, nil, err
	}
	if ctxio.Ended(ctx) {
		return Error, nil, err
	}
	return Filtered, nil, err
}

// keptConn hands out the connection layer 1 opened once, then dials
// afresh; Close drops it if nobody took it.
type keptConn struct {
	mu   sync.Mutex
	c    net.Conn
	dial func(ctx context.Context) (net.Conn, error)
}

func (k *keptConn) take() net.Conn {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.c
	k.c = nil
	return c
}

func (k *keptConn) Dial(ctx context.Context) (net.Conn, error) {
	if c := k.take(); c != nil {
		return c, nil
	}
	return k.dial(ctx)
}

func (k *keptConn) Close() {
	if c := k.take(); c != nil {
		c.Close()
	}
}

func formatGUID(g [16]byte) string {
	// Microsoft GUID text form: the first three fields are little-endian.
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15])
}
