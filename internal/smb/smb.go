// Package smb is what the checks use: Dial → Session → Tree → Pipe, over
// either SMB1 (internal/smb1) or SMB2/3 (internal/smb2). The dialect
// packages hold the wire formats; this package adapts them to one API.
package smb

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// Dialect is an SMB2 dialect revision; SMB1 (NT LM 0.12) is 0x0001.
type Dialect uint16

// Dialects nullsweep speaks.
const (
	SMB1   Dialect = 0x0001
	SMB202 Dialect = 0x0202
	SMB21  Dialect = 0x0210
	SMB30  Dialect = 0x0300
	SMB302 Dialect = 0x0302
	SMB311 Dialect = 0x0311
)

// AllDialects lists every dialect in the order reports show them.
var AllDialects = []Dialect{SMB1, SMB202, SMB21, SMB30, SMB302, SMB311}

// String gives the name used in reports and JSON ("SMB 3.1.1").
func (d Dialect) String() string {
	switch d {
	case SMB1:
		return "SMB 1.0"
	case SMB202:
		return "SMB 2.0.2"
	case SMB21:
		return "SMB 2.1"
	case SMB30:
		return "SMB 3.0"
	case SMB302:
		return "SMB 3.0.2"
	case SMB311:
		return "SMB 3.1.1"
	}
	return "SMB 0x" + hex16(uint16(d))
}

func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12&0xf], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf]})
}

// NegotiateInfo is what the server said in its NEGOTIATE response.
type NegotiateInfo struct {
	Dialect         Dialect
	SigningEnabled  bool
	SigningRequired bool
	ServerGUID      [16]byte // SMB2; SMB1 extended security also carries one
	Capabilities    uint32
	MaxTransact     uint32
	MaxRead         uint32
	MaxWrite        uint32
	SystemTime      time.Time
	// SMB1 only: whether the server offered extended security (NTLMSSP).
	ExtendedSecurity bool
}

// Credentials for a session. The zero value is a null session: no user,
// no domain, no password. Nothing else is ever sent unless the user gave it.
// The secret (Password or NTHash) never leaves this value in text: String,
// GoString and LogValue name the account only, so that a %v, a %#v or a
// log line cannot print it.
type Credentials struct {
	User     string
	Domain   string
	Password string
	// NTHash is NTOWFv1 of the password ([MS-NLMP] 3.3.1), given instead
	// of Password; 16 bytes.
	NTHash []byte
}

// Anonymous reports whether these credentials make a null session.
func (c Credentials) Anonymous() bool {
	return c.User == "" && c.Password == "" && c.Domain == "" && len(c.NTHash) == 0
}

// HasSecret reports whether a password or an NT hash was given: such a
// logon derives a session key (and can sign); the guest probe's empty
// password does not.
func (c Credentials) HasSecret() bool { return c.Password != "" || len(c.NTHash) != 0 }

// Account is DOMAIN\user (user alone without a domain): the name reports
// may show.
func (c Credentials) Account() string {
	if c.Domain == "" {
		return c.User
	}
	return c.Domain + `\` + c.User
}

// String names the account only.
func (c Credentials) String() string { return c.Account() }

// GoString names the account only (%#v).
func (c Credentials) GoString() string { return "smb.Credentials{" + c.Account() + "}" }

// LogValue names the account only.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.Account()) }

// NTLMInfo is what the NTLMSSP CHALLENGE revealed about the server, even
// when the logon later fails.
type NTLMInfo struct {
	NetBIOSComputer string
	NetBIOSDomain   string
	DNSComputer     string
	DNSDomain       string
	DNSTree         string
	TargetName      string
	OSVersion       string // "major.minor.build", empty when the server sent no version
	Flags           uint32
	Timestamp       time.Time
}

// SessionInfo describes one SESSION_SETUP exchange as seen on the wire.
type SessionInfo struct {
	Status ntstatus.Status
	// Flags is the SMB2 SessionFlags field (IS_GUEST 0x1, IS_NULL 0x2) or
	// the SMB1 Action field (0x1 = logged on as guest), as the server sent it.
	Flags uint16
	// Form of logon sent: "ntlmssp-anonymous", "empty-password" (SMB1
	// non-extended security), or "ntlmv2" (the guest probe, user credentials).
	Form          string
	NTLM          *NTLMInfo // nil when no CHALLENGE was seen
	NativeOS      string    // SMB1 only
	NativeLanMan  string    // SMB1 only
	PrimaryDomain string    // SMB1 non-extended security only
}

// Guest reports whether the server says it mapped the logon to guest.
func (s SessionInfo) Guest() bool { return s.Flags&0x1 != 0 }

// Conn is one negotiated connection to a server.
type Conn interface {
	Negotiated() NegotiateInfo
	// SessionSetup logs on. On an authentication failure it returns a nil
	// Session, the SessionInfo with the server's status, and an error that
	// wraps that ntstatus.Status.
	SessionSetup(ctx context.Context, creds Credentials) (Session, SessionInfo, error)
	Close() error
}

// Session is an authenticated (or null, or guest) logon.
type Session interface {
	TreeConnect(ctx context.Context, share string) (Tree, error)
	Logoff(ctx context.Context) error
}

// DirEntry is one name from a read-only directory listing.
type DirEntry struct {
	Name  string
	IsDir bool
	Size  int64
}

// Tree is a connected share.
type Tree interface {
	OpenPipe(ctx context.Context, name string) (Pipe, error)
	// List reads the names in dir ("" = root) without changing anything.
	List(ctx context.Context, dir string) ([]DirEntry, error)
	Disconnect(ctx context.Context) error
}

// ErrMore comes with partial data from Pipe.Transact or Pipe.Read when the
// pipe message was larger than the buffer (STATUS_BUFFER_OVERFLOW): the
// rest of the message is read with Read.
var ErrMore = errors.New("smb: more data in pipe message")

// Pipe is an open named pipe on IPC$.
type Pipe interface {
	// Transact writes in and reads one reply message (FSCTL_PIPE_TRANSCEIVE
	// on SMB2, TransactNmPipe on SMB1). maxOut bounds the reply.
	Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error)
	Write(ctx context.Context, b []byte) (int, error)
	// Read returns up to max bytes of the next message.
	Read(ctx context.Context, max int) ([]byte, error)
	Close(ctx context.Context) error
}

// ReadAheader is a Pipe that can have several reads outstanding at once
// (SMB2: the connection multiplexes). A reply of many fragments then
// costs one round trip rather than one a fragment.
type ReadAheader interface {
	// ReadAhead sends n reads of up to max bytes each, in order, before
	// waiting for any.
	ReadAhead(ctx context.Context, n, max int) (AheadReads, error)
}

// AheadReads are reads a ReadAheader sent.
type AheadReads interface {
	// Next returns the next read's data in the order sent (ErrMore as
	// Read says it).
	Next(ctx context.Context) ([]byte, error)
	// Left is how many reads have not been taken.
	Left() int
	// Drop gives up the reads not taken: their answers are discarded.
	Drop()
}
