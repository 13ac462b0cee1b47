package smb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/nullsweep/nullsweep/internal/ntstatus"
	"github.com/nullsweep/nullsweep/internal/smb1"
)

// SMB1Conn adapts an smb1.Client to Conn. Checks reach the SMB1-only facts
// (both null session forms, NativeOS, RAP) by type assertion on Conn.
type SMB1Conn struct {
	c    *smb1.Client
	host string
	neg  *smb1.NegotiateResponse
	info NegotiateInfo
}

// DialSMB1Conn dials host as opt says (port, or a Transport such as
// NetBIOSTransport) and negotiates NT LM 0.12. extendedSecurity false asks
// for the pre-NTLMSSP negotiate that the "empty-password" logon needs.
func DialSMB1Conn(ctx context.Context, host string, opt Options, extendedSecurity bool) (*SMB1Conn, error) {
	nc, err := opt.connect(ctx, host)
	if err != nil {
		return nil, err
	}
	c, err := NewSMB1Conn(ctx, nc, host, extendedSecurity)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewSMB1Conn negotiates NT LM 0.12 on a connected stream.
func NewSMB1Conn(ctx context.Context, nc net.Conn, host string, extendedSecurity bool) (*SMB1Conn, error) {
	c := smb1.NewClient(nc)
	n, err := c.Negotiate(ctx, extendedSecurity)
	if err != nil {
		return nil, fmt.Errorf("smb: %s: %w", host, err)
	}
	maxRead, maxWrite := n.MaxBufferSize, n.MaxBufferSize
	if n.Capabilities&smb1.CapLargeReadX != 0 {
		maxRead = 0xFFFF
	}
	if n.Capabilities&smb1.CapLargeWriteX != 0 {
		maxWrite = 0xFFFF
	}
	return &SMB1Conn{c: c, host: host, neg: n, info: NegotiateInfo{
		Dialect:          SMB1,
		SigningEnabled:   n.SigningEnabled(),
		SigningRequired:  n.SigningRequired(),
		ServerGUID:       n.ServerGUID,
		Capabilities:     n.Capabilities,
		MaxTransact:      n.MaxBufferSize,
		MaxRead:          maxRead,
		MaxWrite:         maxWrite,
		SystemTime:       n.SystemTime,
		ExtendedSecurity: n.ExtendedSecurity,
	}}, nil
}

// Negotiated implements Conn.
func (c *SMB1Conn) Negotiated() NegotiateInfo { return c.info }

// SMB1Negotiate gives the whole NEGOTIATE response (challenge, domain and
// server names of a non-extended negotiate).
func (c *SMB1Conn) SMB1Negotiate() *smb1.NegotiateResponse { return c.neg }

// Client gives the underlying SMB1 client.
func (c *SMB1Conn) Client() *smb1.Client { return c.c }

// Close implements Conn.
func (c *SMB1Conn) Close() error { return c.c.Close() }

// SessionSetup logs on in the form the negotiate allows: NTLMSSP
// ("ntlmssp-anonymous" or "ntlmv2") when the server offered extended
// security, else "empty-password".
func (c *SMB1Conn) SessionSetup(ctx context.Context, creds Credentials) (Session, SessionInfo, error) {
	form := "empty-password"
	if c.neg.ExtendedSecurity {
		form = "ntlmssp-anonymous"
		if !creds.Anonymous() {
			form = "ntlmv2"
		}
	}
	return c.SessionSetupForm(ctx, creds, form)
}

// SessionSetupForm logs on in the given form: "empty-password" (the
// non-extended SESSION_SETUP_ANDX with zero-length passwords; user and
// domain as given, no password may be given), "ntlmssp-anonymous" or
// "ntlmv2" (extended security; the negotiate must have offered it).
func (c *SMB1Conn) SessionSetupForm(ctx context.Context, creds Credentials, form string) (Session, SessionInfo, error) {
	info := SessionInfo{Form: form}
	var r *smb1.SessionSetupResponse
	var err error
	switch form {
	case "empty-password":
		if creds.HasSecret() {
			return nil, info, errors.New("smb: the SMB1 empty-password logon sends no password")
		}
		r, err = c.c.SessionSetupEmpty(ctx, creds.User, creds.Domain)
	case "ntlmssp-anonymous", "ntlmv2":
		if !c.neg.ExtendedSecurity {
			return nil, info, errors.New("smb: server did not offer extended security")
		}
		if (form == "ntlmssp-anonymous") != creds.Anonymous() {
			return nil, info, fmt.Errorf("smb: form %s does not fit the credentials", form)
		}
		r, err = c.ntlmssp(ctx, creds, &info)
	default:
		return nil, info, fmt.Errorf("smb: unknown session form %q", form)
	}
	if r != nil {
		info.Status = r.Status
		info.Flags = r.Action
		info.NativeOS, info.NativeLanMan, info.PrimaryDomain = r.NativeOS, r.NativeLanMan, r.PrimaryDomain
	}
	if err != nil {
		return nil, info, fmt.Errorf("smb: session setup: %w", err)
	}
	return &session1{c: c, uid: r.UID}, info, nil
}

// ntlmssp runs the extended-security exchange (ntlmExchange) with
// SESSION_SETUP_ANDX; the last response carries the logon's outcome. When
// the server requires signing and the logon has a key (a password or NT
// hash, not guest), the connection signs from then on ([MS-SMB] 3.2.5.3);
// servers that only allow signing get unsigned requests, as before.
func (c *SMB1Conn) ntlmssp(ctx context.Context, creds Credentials, info *SessionInfo) (*smb1.SessionSetupResponse, error) {
	var r *smb1.SessionSetupResponse
	var uid uint16
	key, err := ntlmExchange(ctx, creds, info, func(ctx context.Context, blob []byte) (ntstatus.Status, []byte, error) {
		resp, err := c.c.SessionSetupBlob(ctx, uid, blob)
		r = resp // the caller reads the outcome from the last response, if any
		if resp == nil {
			return 0, nil, err
		}
		uid = resp.UID
		return resp.Status, resp.SecurityBlob, err
	})
	if err == nil && key != nil && c.neg.SigningRequired() && r != nil && r.Action&0x1 == 0 {
		if err := c.c.StartSigning(key, r.Raw); err != nil {
			return r, err
		}
	}
	return r, err
}

type session1 struct {
	c   *SMB1Conn
	uid uint16
}

// UID is the SMB1 user id the server gave the session.
func (s *session1) UID() uint16 { return s.uid }

func (s *session1) TreeConnect(ctx context.Context, share string) (Tree, error) {
	share = strings.TrimLeft(share, `\/`)
	r, err := s.c.c.TreeConnect(ctx, s.uid, `\\`+s.c.host+`\`+share)
	if err != nil {
		return nil, fmt.Errorf("smb: %w", err)
	}
	return &tree1{s: s, tid: r.TID, service: r.Service}, nil
}

func (s *session1) Logoff(ctx context.Context) error {
	if err := s.c.c.Logoff(ctx, s.uid); err != nil {
		return fmt.Errorf("smb: %w", err)
	}
	return nil
}

type tree1 struct {
	s       *session1
	tid     uint16
	service string
}

// OpenPipe opens a named pipe on IPC$; name may be "lsarpc", `\lsarpc` or
// `\PIPE\lsarpc`.
func (t *tree1) OpenPipe(ctx context.Context, name string) (Pipe, error) {
	r, err := t.s.c.c.NTCreate(ctx, t.s.uid, t.tid, `\`+pipeName(name), smb1.AccessPipeReadWrite)
	if err != nil {
		return nil, fmt.Errorf("smb: open pipe: %w", err)
	}
	return &pipe1{t: t, fid: r.FID}, nil
}

// listLimit bounds a root listing; a share check needs names, not all of them.
const listLimit = 10000

// List reads dir ("" = root) with TRANS2 FIND_FIRST2/FIND_NEXT2, without
// "." and "..".
func (t *tree1) List(ctx context.Context, dir string) ([]DirEntry, error) {
	dir = strings.Trim(strings.ReplaceAll(dir, "/", `\`), `\`)
	pattern := `\*`
	if dir != "" {
		pattern = `\` + dir + `\*`
	}
	fs, err := t.s.c.c.FindAll(ctx, t.s.uid, t.tid, pattern, listLimit+2)
	out := make([]DirEntry, 0, len(fs))
	for _, f := range fs {
		if f.Name != "." && f.Name != ".." {
			out = append(out, DirEntry{Name: f.Name, IsDir: f.IsDir(), Size: f.Size})
		}
	}
	if err != nil {
		return out, fmt.Errorf("smb: list: %w", err)
	}
	return out, nil
}

// Lanman runs a RAP call on \PIPE\LANMAN; it makes an IPC$ tree over SMB1
// a rap.Transport.
func (t *tree1) Lanman(ctx context.Context, params []byte, maxParam, maxData int) ([]byte, []byte, error) {
	p, d, err := t.s.c.c.Lanman(ctx, t.s.uid, t.tid, params, maxParam, maxData)
	if err != nil {
		return nil, nil, fmt.Errorf("smb: %w", err)
	}
	return p, d, nil
}

func (t *tree1) Disconnect(ctx context.Context) error {
	if err := t.s.c.c.TreeDisconnect(ctx, t.s.uid, t.tid); err != nil {
		return fmt.Errorf("smb: %w", err)
	}
	return nil
}

type pipe1 struct {
	t   *tree1
	fid uint16
}

func more1(b []byte, err error) ([]byte, error) {
	if errors.Is(err, smb1.ErrMoreData) {
		return b, ErrMore
	}
	if err != nil {
		return b, fmt.Errorf("smb: %w", err)
	}
	return b, nil
}

func (p *pipe1) Transact(ctx context.Context, in []byte, maxOut int) ([]byte, error) {
	return more1(p.t.s.c.c.TransactNmPipe(ctx, p.t.s.uid, p.t.tid, p.fid, in, maxOut))
}

func (p *pipe1) Read(ctx context.Context, max int) ([]byte, error) {
	return more1(p.t.s.c.c.Read(ctx, p.t.s.uid, p.t.tid, p.fid, max))
}

func (p *pipe1) Write(ctx context.Context, b []byte) (int, error) {
	n, err := p.t.s.c.c.Write(ctx, p.t.s.uid, p.t.tid, p.fid, b)
	if err != nil {
		return n, fmt.Errorf("smb: %w", err)
	}
	return n, nil
}

func (p *pipe1) Close(ctx context.Context) error {
	if err := p.t.s.c.c.CloseFile(ctx, p.t.s.uid, p.t.tid, p.fid); err != nil {
		return fmt.Errorf("smb: %w", err)
	}
	return nil
}
