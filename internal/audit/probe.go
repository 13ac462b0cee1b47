package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// ProbeOptions say where and how the share probe connects.
type ProbeOptions struct {
	SMB smb.Options
	// Names are share names to try besides the listed ones (--shares).
	Names []string
	// Listed are the names enum's share list returned.
	Listed []string
}

// ProbeShares logs on anonymously (empty user, domain and password: the
// zero smb.Credentials), tree-connects a random control name first (a
// proper STATUS_BAD_NETWORK_NAME shows the server tells 'absent' from
// 'denied'), then each share, and lists the root of those that open. It
// also opens a random pipe name on IPC$ as the pipe control. Read only:
// nothing is created, written or deleted.
func ProbeShares(ctx context.Context, host string, opt ProbeOptions) (*Probes, error) {
	conn, err := smb.Dial(ctx, host, opt.SMB)
	if err != nil && opt.SMB.Dialects == nil && ctx.Err() == nil {
		// An SMB1-only server refuses every SMB2 dialect: try NT LM 0.12.
		sopt := opt.SMB
		sopt.Dialects = []smb.Dialect{smb.SMB1}
		conn, err = smb.Dial(ctx, host, sopt)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: share probe: %w", err)
	}
	defer conn.Close()
	sess, _, err := conn.SessionSetup(ctx, smb.Credentials{})
	if err != nil {
		return nil, fmt.Errorf("audit: share probe: null session: %w", err)
	}
	defer func() { _ = sess.Logoff(ctx) }()

	p := &Probes{}
	control := "NULLSWEEP-" + randomHex(4)
	c := probeOne(ctx, sess, control, false)
	p.Control = &c

	if ipc, err := sess.TreeConnect(ctx, "IPC$"); err == nil {
		pipe, err := ipc.OpenPipe(ctx, "nullsweep-"+randomHex(4))
		p.ControlPipe = statusOf(err)
		if err == nil {
			_ = pipe.Close(ctx)
		}
		_ = ipc.Disconnect(ctx)
	}

	seen := map[string]bool{"ipc$": true}
	listed := map[string]bool{}
	for _, n := range opt.Listed {
		listed[strings.ToLower(n)] = true
	}
	for _, n := range append(append([]string{}, opt.Listed...), opt.Names...) {
		if n == "" || seen[strings.ToLower(n)] {
			continue
		}
		seen[strings.ToLower(n)] = true
		p.Shares = append(p.Shares, probeOne(ctx, sess, n, listed[strings.ToLower(n)]))
		if ctx.Err() != nil {
			return p, fmt.Errorf("audit: share probe: %w", ctx.Err())
		}
	}
	return p, nil
}

func probeOne(ctx context.Context, sess smb.Session, name string, listed bool) ShareProbe {
	sp := ShareProbe{Name: name, Listed: listed}
	tree, err := sess.TreeConnect(ctx, name)
	sp.Connect = statusOf(err)
	if err != nil {
		return sp
	}
	defer func() { _ = tree.Disconnect(ctx) }()
	entries, err := tree.List(ctx, "")
	sp.List = statusOf(err)
	sp.Entries = len(entries)
	return sp
}

// statusOf names an outcome the way enum's share results do.
func statusOf(err error) enum.Outcome { return enum.ProbeOutcome(err) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}
