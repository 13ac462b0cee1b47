package enum

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/nullsweep/nullsweep/internal/dcerpc"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/werror"
)

// Outcome is the result of one step, spelled in JSON as docs/json.md says.
// Pipe and share probes that the server refused carry the refusing status's
// name instead of Denied (see StatusOutcome), as enum.exe showed them.
type Outcome string

// Outcomes. A port is Open, Closed or Filtered; a logon Allowed, Guest,
// Denied or Error; IPC$ Allowed, Denied, Error or Skipped; a call OK,
// Denied, Error or Skipped; a pipe Open, Skipped or a status name; a share
// probe OK, Skipped or a status name.
const (
	OK       Outcome = "ok"
	Allowed  Outcome = "allowed"
	Guest    Outcome = "guest"
	Denied   Outcome = "denied"
	Error    Outcome = "error"
	Skipped  Outcome = "skipped"
	Open     Outcome = "open"
	Closed   Outcome = "closed"
	Filtered Outcome = "filtered"
)

// StatusOutcome is the outcome of a pipe or share probe the server refused
// with a status: its name ("STATUS_ACCESS_DENIED").
func StatusOutcome(status string) Outcome { return Outcome(status) }

// IsDenied reports whether o says the server refused: Denied, or the name
// of a status that means "no".
func (o Outcome) IsDenied() bool { return o == Denied || deniedName(string(o)) }

// Keys of Result.Sessions: the null session, the guest probe (a random
// unknown user, empty password), or the user's own logon.
const (
	SessionNull  = "null"
	SessionGuest = "guest"
	SessionUser  = "user" // a logon with credentials given by the user
)

// Layer names where a check ran, or where a host's examination stopped.
type Layer string

// Layers, in the order a host is examined.
const (
	LayerResolve      Layer = "resolve"
	LayerReachability Layer = "reachability"
	LayerNegotiate    Layer = "negotiate"
	LayerSession      Layer = "session"
	LayerIPC          Layer = "ipc"
	LayerPipe         Layer = "pipe"
	LayerBind         Layer = "bind"
	LayerCall         Layer = "call"
	LayerShare        Layer = "share"
)

// Interfaces a check's Interface names.
const (
	IfaceDNS    = "dns"
	IfaceTCP    = "tcp"
	IfaceNBNS   = "nbns"
	IfaceSMB    = "smb"
	IfaceDCERPC = "dcerpc"
	IfaceLSA    = "lsa"
	IfaceSAMR   = "samr"
	IfaceSRVSVC = "srvsvc"
	IfaceWKSSVC = "wkssvc"
	IfaceRAP    = "rap"
	IfaceEnum   = "enum" // nullsweep's own decisions (RID cycling's cap)
)

// Check is the evidence for one call: what was asked and what came back.
// Name is for people and may be reworded; decisions read the other fields.
type Check struct {
	Name string `json:"name"` // e.g. "samr.QueryDisplayInformation"
	// Interface and Method name the call ("samr", "QueryDisplayInformation");
	// Opnum is its operation number where the protocol has one.
	Interface string  `json:"interface,omitempty"`
	Method    string  `json:"method,omitempty"`
	Opnum     *uint16 `json:"opnum,omitempty"`
	// Arg is what the call was about: a pipe, a share, a domain, an
	// access mask, an information class.
	Arg    string  `json:"arg,omitempty"`
	Layer  Layer   `json:"layer"`
	Result Outcome `json:"result"` // ok | denied | error | skipped
	// Status is the NTSTATUS, WERROR or fault name; StatusCode its value.
	Status     string `json:"status,omitempty"`
	StatusCode uint32 `json:"status_code,omitempty"`
	MS         int64  `json:"ms"`
	Detail     string `json:"detail,omitempty"`
	// Transport is the RPC protocol sequence that carried a bind or call:
	// ncacn_np (a named pipe over SMB) or ncacn_ip_tcp.
	Transport string `json:"transport,omitempty"`

	// cut: the call ended because the host's deadline ran out or the run
	// was cancelled (noteDeadline reports the layer of the first such).
	cut bool
}

// Call describes a check before it runs.
func Call(layer Layer, iface, method, arg string) Check {
	return Check{Interface: iface, Method: method, Arg: arg, Layer: layer}
}

// Op sets the operation number.
func (c Check) Op(opnum uint16) Check {
	c.Opnum = &opnum
	return c
}

// Named sets the display name.
func (c Check) Named(name string) Check {
	c.Name = name
	return c
}

// Done fills the outcome of a call that took d and returned err: ok,
// denied (a status that means "no"), or error, with the status when there
// is one and the error text when there is none.
func (c Check) Done(d time.Duration, err error) Check {
	c.MS = d.Milliseconds()
	c.Result = OK
	if err == nil {
		return c
	}
	c.cut = cutShort(err)
	var st Status
	c.Result, st = Classify(err)
	c.Status, c.StatusCode = st.Name, st.Code
	if c.Status == "" {
		c.Detail = err.Error()
	}
	return c
}

// cutShort: err says a deadline or a cancel ended the call, not the
// server (a socket deadline reads as the context's, ctxio.Err).
func cutShort(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Is reports whether c is a call of iface with one of the operation numbers.
func (c Check) Is(iface string, opnums ...uint16) bool {
	if c.Interface != iface || c.Opnum == nil {
		return false
	}
	for _, o := range opnums {
		if *c.Opnum == o {
			return true
		}
	}
	return false
}

// Status is a wire status: its name and value. The zero Status is "none".
type Status struct {
	Name string
	Code uint32
}

// deniedStatuses are the statuses that mean "the server said no".
var deniedStatuses = []error{
	ntstatus.AccessDenied,
	ntstatus.LogonFailure,
	ntstatus.NetworkAccessDenied,
	ntstatus.AccountDisabled,
	ntstatus.AccountRestriction,
	werror.AccessDenied,
	&dcerpc.Fault{Status: dcerpc.FaultAccessDenied},
}

// deniedName reports whether a recorded status name is one of deniedStatuses.
func deniedName(name string) bool {
	for _, s := range deniedStatuses {
		if statusOf(s).Name == name {
			return true
		}
	}
	return false
}

// statusOf finds the wire status an error carries.
func statusOf(err error) Status {
	var st ntstatus.Status
	var we werror.Code
	var fault *dcerpc.Fault
	switch {
	case errors.As(err, &st):
		return Status{st.String(), uint32(st)}
	case errors.As(err, &fault):
		return Status{fault.Name(), fault.Status}
	case errors.As(err, &we):
		return Status{we.String(), uint32(we)}
	}
	return Status{}
}

// Classify maps an error to a check outcome and the status it carries.
func Classify(err error) (Outcome, Status) {
	if err == nil {
		return OK, Status{}
	}
	st := statusOf(err)
	if st.Name != "" && deniedName(st.Name) {
		return Denied, st
	}
	return Error, st
}
