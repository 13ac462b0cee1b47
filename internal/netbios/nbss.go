package netbios

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// NBSS packet types (RFC 1002 4.3.1).
const (
	TypeMessage          byte = 0x00
	TypeSessionRequest   byte = 0x81
	TypePositiveResponse byte = 0x82
	TypeNegativeResponse byte = 0x83
	TypeRetarget         byte = 0x84
	TypeKeepAlive        byte = 0x85
)

// MaxFrame is the largest frame length the 4-byte header can carry
// (a 17-bit length on 139, 24 bits on direct-hosted 445).
const MaxFrame = 1<<24 - 1

// SMBServerName is the called name every SMB server answers to.
const SMBServerName = "*SMBSERVER"

// SessionError is a NEGATIVE SESSION RESPONSE, or a RETARGET the client
// does not follow.
type SessionError struct {
	Called string
	Code   byte // RFC 1002 4.3.4 error code; 0 for a retarget
	Type   byte
}

func (e *SessionError) Error() string {
	if e.Type == TypeRetarget {
		return fmt.Sprintf("netbios: session request to %q: retargeted", e.Called)
	}
	return fmt.Sprintf("netbios: session request to %q refused: %s (0x%02x)", e.Called, sessionCodeText(e.Code), e.Code)
}

func sessionCodeText(c byte) string {
	switch c {
	case 0x80:
		return "not listening on called name"
	case 0x81:
		return "not listening for calling name"
	case 0x82:
		return "called name not present"
	case 0x83:
		return "insufficient resources"
	case 0x8F:
		return "unspecified error"
	}
	return "unknown error"
}

// WriteFrame writes one frame of type TypeMessage.
func WriteFrame(w io.Writer, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("netbios: frame of %d bytes too large", len(payload))
	}
	b := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	copy(b[4:], payload)
	_, err := w.Write(b)
	return err
}

// ReadFrame reads the next session message, skipping keep-alives. A frame
// announcing more than max bytes is refused before anything is allocated.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	for {
		typ, n, err := readHeader(r)
		if err != nil {
			return nil, err
		}
		if typ == TypeKeepAlive {
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return nil, fmt.Errorf("netbios: keep-alive: %w", err)
			}
			continue
		}
		if typ != TypeMessage {
			return nil, fmt.Errorf("netbios: unexpected packet type 0x%02x", typ)
		}
		if n > max {
			return nil, fmt.Errorf("netbios: frame of %d bytes exceeds limit %d", n, max)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("netbios: frame body: %w", err)
		}
		return b, nil
	}
}

// readHeader reads the type and a 24-bit length; RFC 1002 gives the low
// flag bit to the length and Windows uses the whole 24 bits on 445.
func readHeader(r io.Reader) (byte, int, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, 0, fmt.Errorf("netbios: frame header: %w", err)
	}
	return h[0], int(h[1])<<16 | int(h[2])<<8 | int(h[3]), nil
}

// EncodeSessionRequest builds a SESSION REQUEST packet for called (with
// suffix 0x20, the file server) from calling (suffix 0x00).
func EncodeSessionRequest(called, calling string) []byte {
	cd := EncodeName(RawName(called, SuffixFileServer))
	cg := EncodeName(RawName(calling, SuffixWorkstation))
	b := []byte{TypeSessionRequest, 0, 0, byte(len(cd) + len(cg))}
	b = append(b, cd...)
	return append(b, cg...)
}

// SessionRequest sends a session request on conn and reads the answer; nil
// means the session is established and frames can follow. The deadline
// comes from ctx.
func SessionRequest(ctx context.Context, conn net.Conn, called, calling string) error {
	stop := setDeadline(ctx, conn)
	defer stop()
	if _, err := conn.Write(EncodeSessionRequest(called, calling)); err != nil {
		return fmt.Errorf("netbios: session request: %w", ctxErr(ctx, err))
	}
	for {
		typ, n, err := readHeader(conn)
		if err != nil {
			return ctxErr(ctx, err)
		}
		if n > 64 { // answers are 0 to 6 bytes
			return fmt.Errorf("netbios: session response of %d bytes", n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(conn, body); err != nil {
			return fmt.Errorf("netbios: session response: %w", ctxErr(ctx, err))
		}
		switch typ {
		case TypeKeepAlive:
			continue
		case TypePositiveResponse:
			return nil
		case TypeNegativeResponse:
			if len(body) < 1 {
				return fmt.Errorf("netbios: negative session response: %w", ErrShort)
			}
			return &SessionError{Called: called, Code: body[0], Type: typ}
		case TypeRetarget:
			return &SessionError{Called: called, Type: typ}
		default:
			return fmt.Errorf("netbios: unexpected session response type 0x%02x", typ)
		}
	}
}

// DialSession connects to addr (host:port, normally port 139) and asks for a
// session with each called name in turn (default: *SMBSERVER), reconnecting
// after a refusal as a server closes the connection after a negative
// answer. calling is our name; empty gives "NULLSWEEP".
func DialSession(ctx context.Context, dial func(ctx context.Context) (net.Conn, error), calling string, called ...string) (net.Conn, error) {
	if len(called) == 0 {
		called = []string{SMBServerName}
	}
	if calling == "" {
		calling = "NULLSWEEP"
	}
	var errs []error
	for _, name := range called {
		if name == "" {
			continue
		}
		conn, err := dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("netbios: dial: %w", err)
		}
		err = SessionRequest(ctx, conn, name, calling)
		if err == nil {
			return conn, nil
		}
		conn.Close()
		errs = append(errs, err)
		var se *SessionError
		if !errors.As(err, &se) {
			break // a transport failure: another name will not help
		}
	}
	return nil, errors.Join(errs...)
}

// setDeadline applies ctx's deadline to conn and makes cancellation unblock
// pending I/O; the returned func clears both.
func setDeadline(ctx context.Context, conn net.Conn) func() {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		conn.SetDeadline(time.Time{})
	}
}

// ctxErr reports an I/O error caused by ctx as ctx's error. The conn
// deadline can fire a moment before ctx's own timer does.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	var ne net.Error
	if _, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}
