package enum

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ldap"
	"github.com/nullsweep/nullsweep/internal/msrpc/epm"
)

// The doors beside SMB: the endpoint mapper on TCP 135 (-E), RPC over TCP
// (ncacn_ip_tcp) to the ports it names when SMB is closed or refuses the
// null session, and LDAP (-D).

// Transports of the RPC checks (Options.Transport).
const (
	TransportAuto = "auto" // named pipes; TCP when SMB gave no IPC$ and 135 answers
	TransportSMB  = "smb"  // named pipes only
	TransportTCP  = "tcp"  // ncacn_ip_tcp only
)

// Protocol sequences a check's Transport names ([MS-RPCE] 2.1.1).
const (
	NCACNNP    = "ncacn_np"
	NCACNIPTCP = "ncacn_ip_tcp"
)

// Interface names of the doors' checks.
const (
	IfaceEPM  = "epm"
	IfaceLDAP = "ldap"
)

// LayerLDAP is the layer of the LDAP probes: connect, TLS, anonymous bind,
// rootDSE and search on one port (internal/ldap).
const LayerLDAP Layer = "ldap"

// EPMPort is the endpoint mapper's TCP port.
const EPMPort = "135"

// Endpoints is the endpoint mapper's list (-E).
type Endpoints struct {
	Entries []Endpoint `json:"entries"`
	// Truncated: the list ended at nullsweep's cap, not at the server's end.
	Truncated bool `json:"truncated,omitempty"`
}

// Endpoint is one entry of the list.
type Endpoint struct {
	Object     string `json:"object"`
	Interface  string `json:"interface"`
	Version    string `json:"version"`
	Name       string `json:"name,omitempty"`            // well-known interface name
	Transfer   string `json:"transfer_syntax,omitempty"` // floor 2: UUID and version ("… v2.0" is NDR 2.0)
	Protocol   string `json:"protocol"`                  // ncacn_ip_tcp, ncacn_np, ncalrpc, ncacn_http, ...
	Endpoint   string `json:"endpoint"`                  // port, pipe or LRPC name
	Host       string `json:"host,omitempty"`
	Annotation string `json:"annotation,omitempty"`
	Binding    string `json:"binding,omitempty"`
	TowerError string `json:"tower_error,omitempty"`
}

func endpointOf(e epm.Entry) Endpoint {
	out := Endpoint{Object: e.Object.String(), Annotation: e.Annotation}
	if e.Tower == nil {
		if e.TowerErr != nil {
			out.TowerError = e.TowerErr.Error()
		}
		return out
	}
	t := e.Tower
	out.Interface = t.Interface.UUID.String()
	out.Version = fmt.Sprintf("%d.%d", t.Interface.Major, t.Interface.Minor)
	out.Transfer = fmt.Sprintf("%s v%d.%d", t.Transfer.UUID, t.Transfer.Major, t.Transfer.Minor)
	if n, ok := epm.InterfaceName(t.Interface.UUID); ok {
		out.Name = n.Name
	}
	out.Protocol, out.Endpoint, out.Host, out.Binding = t.Protocol, t.Endpoint, t.Host, t.Binding()
	return out
}

// doors runs after the SMB layers: the endpoint list, the RPC checks over
// TCP when the named pipes could not carry them, and LDAP.
func (h *host) doors(ctx context.Context) {
	o := h.Opt.Checks
	if o.Has(CheckEndpoints) && ctx.Err() == nil {
		h.endpointList(ctx)
	}
	// The SMB path stopped before its RPC checks (closed ports, no
	// negotiate, no null session): the same checks go over TCP if 135 answers.
	if !h.rpcRan && h.Opt.Transport != TransportSMB && ctx.Err() == nil && h.useTCP(ctx) {
		h.runRPCChecks(ctx)
	}
	if o.Has(CheckLDAP) && ctx.Err() == nil {
		h.ldapProbe(ctx)
	}
}

// epmState is the reachability of 135, probed once per host.
func (h *host) epmOpen(ctx context.Context) bool {
	h.mu.Lock()
	st, probed := h.Result.Ports[EPMPort]
	h.mu.Unlock()
	if !probed {
		p := h.probeAndNote(ctx, EPMPort)
		if p.conn != nil {
			p.conn.Close()
		}
		st = p.state
	}
	return st == Open
}

// dialEPM connects to 135 and binds the endpoint mapper, recording both.
func (h *host) dialEPM(ctx context.Context) (*epm.Client, *dcerpc.TCP, error) {
	start := time.Now()
	tr, err := dcerpc.DialTCP(ctx, net.JoinHostPort(h.Target, EPMPort))
	if err != nil {
		h.note(tcpBindCall("epmapper", EPMPort), start, err)
		return nil, nil, err
	}
	c, err := dcerpc.Bind(ctx, tr, dcerpc.EPM)
	h.note(tcpBindCall("epmapper", EPMPort), start, err)
	if err != nil {
		tr.Close()
		return nil, nil, err
	}
	return epm.New(c), tr, nil
}

// tcpBindCall is the evidence of connecting to a port and binding an
// interface there; Arg stays the pipe name the SMB path would use, so
// both paths' checks compare.
func tcpBindCall(pipe, port string) Check {
	c := Call(LayerBind, IfaceDCERPC, "Bind", pipe).Named("dcerpc.Bind(" + NCACNIPTCP + ":" + port + " " + pipe + ")")
	c.Transport = NCACNIPTCP
	return c
}

// endpointList reads the whole endpoint list (-E).
func (h *host) endpointList(ctx context.Context) {
	if !h.epmOpen(ctx) {
		return
	}
	c, tr, err := h.dialEPM(ctx)
	if err != nil {
		return
	}
	defer tr.Close()
	start := time.Now()
	es, err := c.Lookup(ctx)
	ch := Call(LayerCall, IfaceEPM, "ept_lookup", "all").Op(epm.OpLookup).Named("epm.ept_lookup")
	ch.Transport = NCACNIPTCP
	truncated := errors.Is(err, epm.ErrTruncated)
	if truncated {
		err = nil
	}
	ch = ch.Done(time.Since(start), err)
	ch.Detail = joinWords(fmt.Sprintf("%d entries", len(es)), ch.Detail)
	h.record(ch)
	if err != nil {
		return
	}
	eps := &Endpoints{Entries: make([]Endpoint, 0, len(es)), Truncated: truncated}
	for _, e := range es {
		eps.Entries = append(eps.Entries, endpointOf(e))
	}
	h.mu.Lock()
	h.Result.Endpoints = eps
	h.mu.Unlock()
}

// useTCP decides the transport of the RPC checks: TCP when asked, or in
// auto mode when SMB gave no IPC$ (closed, no null session, IPC$ refused)
// and the endpoint mapper answers.
func (h *host) useTCP(ctx context.Context) bool {
	switch h.Opt.Transport {
	case TransportTCP:
		return h.epmOpen(ctx)
	case TransportSMB:
		return false
	}
	return h.IPC == nil && h.epmOpen(ctx)
}

// tcpPipe is a TCP connection where the RPC code expects a pipe.
type tcpPipe struct{ *dcerpc.TCP }

func (p tcpPipe) Close(context.Context) error { return p.TCP.Close() }

// mapPort asks the endpoint mapper where iface listens over TCP.
func (h *host) mapPort(ctx context.Context, st *rpcState, pipe string, iface dcerpc.SyntaxID) (string, error) {
	if st.epm == nil {
		if st.epmErr != nil {
			return "", st.epmErr
		}
		c, tr, err := h.dialEPM(ctx)
		if err != nil {
			st.epmErr = err
			return "", err
		}
		st.epm = c
		st.addPipe(tcpPipe{tr})
	}
	start := time.Now()
	towers, err := st.epm.Map(ctx, iface, 4)
	port := ""
	for _, t := range towers {
		if t.Protocol == NCACNIPTCP && t.Endpoint != "" && t.Endpoint != "0" {
			port = t.Endpoint
			break
		}
	}
	if err == nil && port == "" {
		err = fmt.Errorf("epm: map %s: no ncacn_ip_tcp tower", pipe)
	}
	ch := Call(LayerCall, IfaceEPM, "ept_map", pipe).Op(epm.OpMap).Named("epm.ept_map(" + pipe + ")")
	ch.Transport = NCACNIPTCP
	ch = ch.Done(time.Since(start), err)
	var se *epm.StatusError
	if errors.As(err, &se) {
		ch.Status, ch.StatusCode = epm.StatusName(se.Status), se.Status
	}
	if port != "" {
		ch.Detail = joinWords("port "+port, ch.Detail)
	}
	h.record(ch)
	return port, err
}

// openTCP maps iface to its port, connects and binds, recording each step.
func (h *host) openTCP(ctx context.Context, st *rpcState, pipe string, iface dcerpc.SyntaxID, detail string) (tcpPipe, *dcerpc.Client, error) {
	port, err := h.mapPort(ctx, st, pipe, iface)
	if err != nil {
		return tcpPipe{}, nil, err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return tcpPipe{}, nil, fmt.Errorf("epm: map %s: port %q", pipe, port)
	}
	start := time.Now()
	tr, err := dcerpc.DialTCP(ctx, net.JoinHostPort(h.Target, port))
	var c *dcerpc.Client
	if err == nil {
		c, err = dcerpc.Bind(ctx, tr, iface)
		if err != nil {
			tr.Close()
		}
	}
	ch := tcpBindCall(pipe, port).Done(time.Since(start), err)
	ch.Detail = joinWords(detail, ch.Detail)
	h.record(ch)
	if err != nil {
		return tcpPipe{}, nil, err
	}
	return tcpPipe{tr}, c, nil
}

// bindTCP is bind over ncacn_ip_tcp.
func (h *host) bindTCP(ctx context.Context, st *rpcState, pipe string, iface dcerpc.SyntaxID) (*dcerpc.Client, error) {
	p, c, err := h.openTCP(ctx, st, pipe, iface, "")
	if err != nil {
		return nil, err
	}
	st.addPipe(p)
	return c, nil
}

// tcpLane opens one RID-cycling lane over TCP.
func (c *cycler) tcpLane(ctx context.Context, name string, iface dcerpc.SyntaxID, detail string) (*gatedPipe, *dcerpc.Client, error) {
	p, rpc, err := c.h.openTCP(ctx, c.st, name, iface, detail)
	if err != nil {
		return nil, nil, err
	}
	return &gatedPipe{Pipe: p}, rpc, nil
}

// ldapProbe examines the LDAP ports (-D).
func (h *host) ldapProbe(ctx context.Context) {
	res := ldap.Probe(ctx, h.Target, ldap.Options{})
	for _, p := range res.Ports {
		ch := Call(LayerLDAP, IfaceLDAP, "Probe", strconv.Itoa(p.Port)).Named("ldap.Probe(" + strconv.Itoa(p.Port) + ")")
		// As tcp/445's check: a port that is not open is not a success;
		// the ldap section says closed without an error.
		ch.Result, ch.Status, ch.MS = OK, p.State, p.MS
		switch {
		case p.Error != "":
			ch.Result, ch.Detail = Error, p.Layer+": "+p.Error
		case p.State != ldap.Open:
			ch.Result = Error
		case p.Search != nil:
			ch.Detail = "anonymous search: " + p.Search.Result.Name
		}
		h.record(ch)
	}
	h.mu.Lock()
	h.Result.LDAP = res
	h.mu.Unlock()
}
