package audit

import (
	"context"
	"log/slog"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/smb"
)

// ExamineOptions tune Examine.
type ExamineOptions struct {
	// Shares are names to tree-connect besides the listed ones (--shares).
	Shares []string
	// NoProbe skips audit's own share and control probes.
	NoProbe bool
	// SMB1 forces NT LM 0.12 for the probes (as --smb1 did for enum).
	SMB1 bool
	// Port is the SMB port asked for (0: the one enum used).
	Port int
	// Expect is the prediction from policy files (--expect).
	Expect *Prediction
	// Logger receives debug logs; nil discards.
	Logger *slog.Logger
}

// Examine completes one host's audit from its enum result: when the null
// session allows it, audit's own share and control probes run (over the
// dialect family, address and port enum used), then Assess. ctx bounds the
// probes. A probe that failed is a note, never a "no".
func Examine(ctx context.Context, res *enum.Result, opt ExamineOptions) *Report {
	aopt := Options{Expect: opt.Expect}
	var probeErr error
	if null := res.Sessions[enum.SessionNull]; !opt.NoProbe && ctx.Err() == nil && null != nil && null.Result != enum.Denied && null.Result != enum.Error {
		popt := ProbeOptions{Names: opt.Shares, SMB: smb.Options{Port: opt.Port}}
		for _, s := range res.Shares {
			popt.Listed = append(popt.Listed, s.Name)
		}
		if opt.SMB1 || (res.SMB != nil && res.SMB.Dialect == smb.SMB1.String()) {
			popt.SMB.Dialects = []smb.Dialect{smb.SMB1}
		}
		addr := res.Target
		if res.Address != "" {
			addr = res.Address
		}
		if res.Port != 0 {
			popt.SMB.Port = res.Port
		}
		if popt.SMB.Port == 139 {
			// TCP 139 needs the NetBIOS session request first.
			popt.SMB.Transport = smb.NetBIOSTransport(addr)
		}
		probes, err := ProbeShares(ctx, addr, popt)
		if err != nil {
			if opt.Logger != nil {
				opt.Logger.Debug("share probe", "target", res.Target, "err", err)
			}
			probeErr = err
		}
		aopt.Probes = probes
	}
	rep := Assess(res, aopt)
	if probeErr != nil {
		rep.Notes = append(rep.Notes, "the share probe stopped: "+probeErr.Error())
	}
	return rep
}
