package smb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/nullsweep/nullsweep/internal/ntlmssp"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb2"
)

// conn2 adapts an smb2.Conn to Conn.
type conn2 struct {
	c    *smb2.Conn
	host string
	neg  NegotiateInfo
	resp *smb2.NegotiateResponse
}

func newConn2(ctx context.Context, nc net.Conn, host string, dialects []uint16) (*conn2, error) {
	c := smb2.NewConn(nc)
	r, err := c.Negotiate(ctx, dialects)
	if err != nil {
		c.Close() // ends the connection's reader before the caller goes on
		return nil, fmt.Errorf("smb: %s: %w", host, err)
	}
	return &conn2{
		c:    c,
		host: host,
		resp: r,
		neg: NegotiateInfo{
			Dialect:         Dialect(r.Dialect),
			SigningEnabled:  r.SecurityMode&smb2.SigningEnabled != 0,
			SigningRequired: r.SecurityMode&smb2.SigningRequired != 0,
			ServerGUID:      r.ServerGUID,
			Capabilities:    r.Capabilities,
			MaxTransact:     r.MaxTransactSize,
			MaxRead:         r.MaxReadSize,
			MaxWrite:        r.MaxWriteSize,
			SystemTime:      r.SystemTime,
		},
	}, nil
}

func (c *conn2) Negotiated() NegotiateInfo { return c.neg }
func (c *conn2) Close() error              { return c.c.Close() }

// SMB2Negotiate gives the full NEGOTIATE response (3.1.1 contexts, server
// start time) to callers that want more than NegotiateInfo.
func (c *conn2) SMB2Negotiate() *smb2.NegotiateResponse { return c.resp }

// SessionSetup runs the NTLMSSP exchange (ntlmExchange). A null or guest
// session is never signed: it has no key to sign with. A logon with a
// password or NT hash signs every request from then on and verifies every
// response ([MS-SMB2] 3.2.5.3.1), the final SESSION_SETUP response first
// when the server signed it (3.1.1 always does, 3.3.5.5.3).
func (c *conn2) SessionSetup(ctx context.Context, creds Credentials) (Session, SessionInfo, error) {
	info := SessionInfo{Form: "ntlmv2"}
	if creds.Anonymous() {
		info.Form = "ntlmssp-anonymous"
	}
	var id uint64
	var last *smb2.Message
	pre := c.c.Preauth()
	key, err := ntlmExchange(ctx, creds, &info, func(ctx context.Context, blob []byte) (ntstatus.Status, []byte, error) {
		m, r, err := c.c.SessionSetupPreauth(ctx, id, blob, &pre)
		if m == nil {
			return 0, nil, err
		}
		id, last = m.SessionID, m
		if r != nil {
			info.Flags = r.SessionFlags
			return m.Status(), r.SecurityBuffer, err
		}
		return m.Status(), nil, err
	})
	if err != nil {
		return nil, info, fmt.Errorf("smb: session setup: %w", err)
	}
	// IS_GUEST or IS_NULL: the server did not log the user on with the
	// key (3.2.5.3.1 signs neither).
	if key != nil && info.Flags&(smb2.SessionFlagIsGuest|smb2.SessionFlagIsNull) == 0 {
		if err := c.c.StartSigning(id, key, &pre); err != nil {
			return nil, info, fmt.Errorf("smb: session setup: %w", err)
		}
		if last.Flags&smb2.FlagSigned != 0 || c.neg.Dialect == SMB311 {
			if err := c.c.Verify(last); err != nil {
				return nil, info, fmt.Errorf("smb: session setup: final response: %w", err)
			}
		}
	}
	return &session2{c: c, s: &smb2.Session{Conn: c.c, ID: id}}, info, nil
}

// ntlmExchange runs the two NTLMSSP legs of a session setup ([MS-NLMP]
// 3.1.1): NEGOTIATE, then AUTHENTICATE, anonymous for zero credentials or
// NTLMv2 otherwise, SPNEGO-wrapped as Windows clients send them ([RFC
// 4178]); a server answering with a bare NTLMSSP CHALLENGE is answered
// bare. leg sends one SESSION_SETUP with a security blob and returns the
// status and the server's blob; info gets the status of each leg and what
// the CHALLENGE named. With a password or NT hash the logon offers SIGN
// and KEY_EXCH and the session key comes back; otherwise the key is nil.
func ntlmExchange(ctx context.Context, creds Credentials, info *SessionInfo, leg func(ctx context.Context, blob []byte) (ntstatus.Status, []byte, error)) ([]byte, error) {
	neg := ntlmssp.Negotiate()
	if creds.HasSecret() {
		neg = ntlmssp.NegotiateAuth()
	}
	st, blob, err := leg(ctx, ntlmssp.WrapInit(neg))
	if st != 0 || err == nil {
		info.Status = st
	}
	if err != nil {
		return nil, err
	}
	if st != ntstatus.MoreProcessingRequired {
		return nil, fmt.Errorf("server finished after NEGOTIATE with %v", st)
	}
	raw := bytes.HasPrefix(blob, []byte("NTLMSSP\x00"))
	if !raw {
		tok, err := ntlmssp.ParseResp(blob)
		if err != nil {
			return nil, err
		}
		blob = tok.Token
	}
	ch, err := ntlmssp.ParseChallenge(blob)
	if err != nil {
		return nil, err
	}
	info.NTLM = ntlmInfo(ch)
	var auth, key []byte
	switch {
	case creds.Anonymous():
		auth = ntlmssp.Anonymous(ch)
	case creds.HasSecret():
		h := creds.NTHash
		if len(h) == 0 {
			h = ntlmssp.NTHash(creds.Password)
		}
		a, err := ntlmssp.NTLMv2Hash(ch, creds.User, creds.Domain, h, ntlmssp.Options{})
		if err != nil {
			return nil, err
		}
		auth, key = a.Message, a.SessionKey
	default:
		if auth, err = ntlmssp.NTLMv2(ch, creds.User, creds.Domain, "", ntlmssp.Options{}); err != nil {
			return nil, err
		}
	}
	if !raw {
		auth = ntlmssp.WrapResp(auth)
	}
	st, _, err = leg(ctx, auth)
	if st != 0 || err == nil {
		info.Status = st
	}
	if err != nil {
		return nil, err
	}
	if st != ntstatus.Success {
		return nil, fmt.Errorf("unexpected %w", st) // a third leg is not part of NTLMSSP
	}
	return key, nil
}

// pipeName normalises a named pipe's name: "lsarpc", `\lsarpc`,
// `\PIPE\lsarpc` and "/PIPE/lsarpc" all name lsarpc.
func pipeName(name string) string {
	n := strings.TrimLeft(strings.ReplaceAll(name, "/", `\`), `\`)
	if len(n) > 5 && strings.EqualFold(n[:5], `PIPE\`) {
		n = n[5:]
	}
	return n
}

func ntlmInfo(ch *ntlmssp.Challenge) *NTLMInfo {
	return &NTLMInfo{
		NetBIOSComputer: ch.NetBIOSComputer,
		NetBIOSDomain:   ch.NetBIOSDomain,
		DNSComputer:     ch.DNSComputer,
		DNSDomain:       ch.DNSDomain,
		DNSTree:         ch.DNSTree,
		TargetName:      ch.TargetName,
		OSVersion:       ch.Version(),
		Flags:           ch.Flags,
		Timestamp:       ch.Timestamp,
	}
}

type session2 struct {
	c *conn2
	s *smb2.Session
}

func (s *session2) TreeConnect(ctx context.Context, share string) (Tree, error) {
	share = strings.TrimLeft(share, `\/`)
	t, err := s.s.TreeConnect(ctx, `\\`+s.c.host+`\`+share)
	if err != nil {
		return nil, fmt.Errorf("smb: %w", err)
	}
	return &tree2{t: t}, nil
}

func (s *session2) Logoff(ctx context.Context) error {
	if err := s.s.Logoff(ctx); err != nil {
		return fmt.Errorf("smb: %w", err)
	}
	return nil
}

type tree2 struct{ t *smb2.Tree }

// pipeAccess is what Windows asks for when it opens a named pipe for RPC:
// read/write data, EA and attributes, READ_CONTROL, SYNCHRONIZE.
const pipeAccess = smb2.FileReadData | smb2.FileWriteData | smb2.FileAppendData |
	smb2.FileReadEA | smb2.FileWriteEA | smb2.FileReadAttributes | smb2.FileWriteAttributes |
	smb2.ReadControl | smb2.Synchronize

// OpenPipe opens a named pipe on IPC$; name may be "lsarpc", `\lsarpc` or `\PIPE\lsarpc`.
func (t *tree2) OpenPipe(ctx context.Context, name string) (Pipe, error) {
	r, err := t.t.Create(ctx, &smb2.CreateRequest{
		DesiredAccess:     pipeAccess,
		ShareAccess:       smb2.FileShareRead | smb2.FileShareWrite,
		CreateDisposition: smb2.FileOpen,
		CreateOptions:     smb2.FileNonDirectoryFile,
		Name:              pipeName(name),
	})
	if err != nil {
		return nil, fmt.Errorf("smb: open pipe: %w", err)
	}
	return &pipe2{t: t.t, id: r.FileID}, nil
}

func (t *tree2) List(ctx context.Context, dir string) ([]DirEntry, error) {
	dir = strings.Trim(strings.ReplaceAll(dir, "/", `\`), `\`)
	es, err := t.t.List(ctx, dir)
	out := make([]DirEntry, 0, len(es))
	for _, e := range es {
		out = append(out, DirEntry{Name: e.Name, IsDir: e.Attributes&smb2.FileAttributeDirectory != 0, Size: e.EndOfFile})
	}
	if err != nil {
		return out, fmt.Errorf("smb: list: %w", err)
	}
	return out, nil
}

func (t *tree2) Disconnect(ctx context.Context) error {
	if err := t.t.Disconnect(ctx); err != nil {
		return fmt.Errorf("smb: %w", err)
	}
	return nil
}

type pipe2 struct {
	t  *smb2.Tree
	id smb2.FileID
}

// more maps STATUS_BUFFER_OVERFLOW to ErrMore.
func more(b []byte, err error) ([]byte, error) {
	if errors.Is(err, ntstatus.BufferOverflow) {
		return b, ErrMore
	}
	if err != nil {
		return b, fmt.Errorf("smb: %w", err)
	}
	return b, nil
}

func (p *pipe2) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	return more(p.t.Transceive(ctx, p.id, in, maxOut))
}

func (p *pipe2) Read(ctx context.Context, max int) ([]byte, error) {
	return more(p.t.Read(ctx, p.id, 0, max))
}

func (p *pipe2) ReadAhead(ctx context.Context, n, max int) (AheadReads, error) {
	r, err := p.t.ReadAhead(ctx, p.id, n, max)
	if err != nil {
		err = fmt.Errorf("smb: %w", err)
	}
	return aheadReads{r}, err
}

type aheadReads struct{ r *smb2.Reads }

func (a aheadReads) Next(ctx context.Context) ([]byte, error) { return more(a.r.Next(ctx)) }
func (a aheadReads) Left() int                                { return a.r.Left() }
func (a aheadReads) Drop()                                    { a.r.Drop() }

func (p *pipe2) Write(ctx context.Context, b []byte) (int, error) {
	n, err := p.t.Write(ctx, p.id, 0, b)
	if err != nil {
		return n, fmt.Errorf("smb: %w", err)
	}
	return n, nil
}

func (p *pipe2) Close(ctx context.Context) error {
	if err := p.t.Close(ctx, p.id); err != nil {
		return fmt.Errorf("smb: %w", err)
	}
	return nil
}
