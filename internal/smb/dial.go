package smb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/nullsweep/nullsweep/internal/ntlmssp"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb1"
	"github.com/nullsweep/nullsweep/internal/smb2"
)

// Options control Dial and ProbeDialects.
type Options struct {
	Port     int       // 445 when 0
	Dialects []Dialect // SMB2+ dialects to offer; nil = all
	// Transport, when set, supplies a pre-connected stream instead of a TCP
	// dial to host:Port (NetBIOS on 139 plugs in here).
	Transport func(ctx context.Context) (net.Conn, error)
}

func (o Options) connect(ctx context.Context, host string) (net.Conn, error) {
	if o.Transport != nil {
		nc, err := o.Transport(ctx)
		if err != nil {
			return nil, fmt.Errorf("smb: transport to %s: %w", host, err)
		}
		return nc, nil
	}
	port := o.Port
	if port == 0 {
		port = 445
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("smb: dial: %w", err)
	}
	return nc, nil
}

// Dial connects to host and negotiates. With SMB2 dialects in
// opt.Dialects (or none given: all of them) it speaks SMB2/3; with SMB1
// alone it negotiates NT LM 0.12; with both it tries SMB2 first and falls
// back to SMB1 on a new connection when the server refuses SMB2.
func Dial(ctx context.Context, host string, opt Options) (Conn, error) {
	var offer []uint16
	smb1 := false
	for _, d := range opt.Dialects {
		if d == SMB1 {
			smb1 = true
		} else {
			offer = append(offer, uint16(d))
		}
	}
	if smb1 && len(offer) == 0 {
		return dialSMB1(ctx, host, opt)
	}
	nc, err := opt.connect(ctx, host)
	if err != nil {
		return nil, err
	}
	c, err := newConn2(ctx, nc, host, offer)
	if err != nil {
		nc.Close()
		if smb1 && ctx.Err() == nil {
			if c1, err1 := dialSMB1(ctx, host, opt); err1 == nil {
				return c1, nil
			}
		}
		return nil, err
	}
	return c, nil
}

// dialSMB1 negotiates NT LM 0.12 with extended security, as current
// Windows does.
func dialSMB1(ctx context.Context, host string, opt Options) (Conn, error) {
	nc, err := opt.connect(ctx, host)
	if err != nil {
		return nil, err
	}
	c, err := NewSMB1Conn(ctx, nc, host, true)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// ProbeDialects opens one connection per SMB2 dialect, each offering only
// that dialect, and one offering only the SMB1 dialect "NT LM 0.12". A
// dialect is true when the server picked it, false when it refused: chose
// another, answered an error status, or closed the connection while it
// accepted some other dialect (Windows resets an SMB1 negotiate when SMB1
// is off). A dialect that got no answer (a timeout, or a closed connection
// from a server that accepted nothing) is absent from the map, and the
// error says why; the map is empty when no probe got an answer.
func ProbeDialects(ctx context.Context, host string, opt Options) (map[Dialect]bool, error) {
	type outcome struct {
		ok       bool
		answered bool // the server spoke SMB: accepted, chose another, or an error status
		err      error
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		got = map[Dialect]outcome{}
	)
	probe := func(d Dialect) {
		defer wg.Done()
		var o outcome
		nc, err := opt.connect(ctx, host)
		if err == nil {
			if d == SMB1 {
				o.ok, err = probeSMB1(ctx, nc)
			} else {
				var r *smb2.NegotiateResponse
				c := smb2.NewConn(nc)
				r, err = c.Negotiate(ctx, []uint16{uint16(d)})
				o.ok = err == nil && r.Dialect == uint16(d)
				c.Close() // and its reader
			}
			nc.Close()
			var st ntstatus.Status
			o.answered = err == nil || errors.As(err, &st)
		}
		if !o.answered {
			o.err = fmt.Errorf("smb: probe %v: %w", d, err)
		}
		mu.Lock()
		got[d] = o
		mu.Unlock()
	}
	for _, d := range AllDialects {
		wg.Add(1)
		go probe(d)
	}
	wg.Wait()
	acceptedAny := false
	for _, o := range got {
		acceptedAny = acceptedAny || o.ok
	}
	out := map[Dialect]bool{}
	var firstErr error
	for _, d := range AllDialects {
		o := got[d]
		switch {
		case o.answered:
			out[d] = o.ok
		case acceptedAny && !isTimeout(ctx, o.err):
			out[d] = false // dropped by a server that speaks another dialect
		case firstErr == nil:
			firstErr = o.err
		}
	}
	return out, firstErr
}

// isTimeout tells a silent or cancelled peer from one that refused.
func isTimeout(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// probeSMB1 negotiates offering only "NT LM 0.12" ([MS-CIFS] 2.2.4.52)
// and reports whether the server selected it; a reply that selects none
// of ours is an answer too.
func probeSMB1(ctx context.Context, nc net.Conn) (ok bool, err error) {
	_, err = smb1.NewClient(nc).Negotiate(ctx, true)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, smb1.ErrNoDialect):
		return false, nil
	}
	return false, fmt.Errorf("smb: smb1 probe: %w", err)
}

// GuestCredentials returns credentials for the guest probe: a fresh random
// user name that exists nowhere, with no password and no domain.
func GuestCredentials() (Credentials, error) {
	u, err := ntlmssp.RandomUser(nil)
	if err != nil {
		return Credentials{}, fmt.Errorf("smb: %w", err)
	}
	return Credentials{User: u}, nil
}
