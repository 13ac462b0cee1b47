package audit

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/msrpc/srvsvc"
	"github.com/nullsweep/nullsweep/internal/ntstatus"
)

// liveShareNames are tried on every posture: the standalone shares, the
// DC's, and one that exists nowhere.
var liveShareNames = []string{"public", "data", "backup$", "sysvol", "netlogon", "nosuchshare"}

func liveAudit(t *testing.T, addr string, expect *Prediction) (*enum.Result, *Report) {
	t.Helper()
	// Generous bounds: the lab shares two CPUs with every other test.
	r := enum.Run(context.Background(), addr, enum.Options{Timeout: 60 * time.Second})
	if r.Layer == enum.LayerNegotiate {
		t.Fatalf("enum could not negotiate with %s: %s", addr, r.Error)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	probes, err := ProbeShares(ctx, addr, ProbeOptions{Names: liveShareNames})
	if err != nil {
		t.Fatalf("share probe: %v", err)
	}
	return r, Assess(r, Options{Probes: probes, Expect: expect})
}

func setting(rep *Report, name string) SettingState {
	for _, s := range rep.Settings {
		if s.Name == name {
			return s
		}
	}
	return SettingState{}
}

// hasFinding: a finding of that ID, with that key when one is given.
func hasFinding(rep *Report, id FindingID, key ...string) bool {
	for _, f := range rep.Findings {
		if f.ID == id && (len(key) == 0 || f.Key == key[0]) {
			return true
		}
	}
	return false
}

// oracleRestrictAnonymous asks Samba's own rpcclient what a null session
// gets: IPC$ refused ⇒ 2, enumdomusers denied ⇒ 1, users listed ⇒ 0.
func oracleRestrictAnonymous(t *testing.T, addr string) string {
	t.Helper()
	if _, err := exec.LookPath("rpcclient"); err != nil {
		labtest.OracleMissing(t, "rpcclient not installed")
	}
	var s string
	for range 3 { // a loaded lab box makes rpcclient time out now and then
		out, _ := exec.Command("rpcclient", "--option=client min protocol=NT1", "-U", "", "-N", addr, "-c", "enumdomusers").CombinedOutput()
		if s = string(out); !strings.Contains(s, "TIMEOUT") {
			break
		}
	}
	switch {
	case strings.Contains(s, "user:["):
		return "0"
	case strings.Contains(s, "Cannot connect") && strings.Contains(s, "ACCESS_DENIED"):
		return "2"
	case strings.Contains(s, "ACCESS_DENIED"):
		return "1"
	}
	t.Fatalf("rpcclient said %q", s)
	return ""
}

// oracleShare asks smbclient for an anonymous listing of a share.
func oracleShare(t *testing.T, addr, share string) enum.Outcome {
	t.Helper()
	out, err := exec.Command("smbclient", "--option=client min protocol=NT1", "-U", "%", "//"+addr+"/"+share, "-c", "ls").CombinedOutput()
	s := string(out)
	switch {
	case err == nil:
		return enum.OK
	case strings.Contains(s, "NT_STATUS_BAD_NETWORK_NAME"):
		return badNetworkName
	case strings.Contains(s, "NT_STATUS_ACCESS_DENIED"):
		return enum.StatusOutcome(ntstatus.AccessDenied.String())
	}
	return enum.Outcome("smbclient: " + s)
}

// oracleGuest logs on as a random unknown user with impacket.
func oracleGuest(t *testing.T, addr string) string {
	t.Helper()
	const py = `import sys
from impacket.smbconnection import SMBConnection
c = SMBConnection(sys.argv[1], sys.argv[1], timeout=5)
try:
    c.login('nullsweeporacle7', 'x')
    print('guest' if c.isGuestSession() else 'user')
except Exception as e:
    print('denied', e)`
	out, err := exec.Command("/usr/bin/python3", "-c", py, addr).CombinedOutput()
	if err != nil {
		labtest.OracleMissing(t, "impacket oracle unavailable: %v %s", err, out)
	}
	return strings.Fields(string(out))[0]
}

func TestLivePostures(t *testing.T) {
	if testing.Short() {
		t.Skip("live lab test")
	}
	postures := []string{"open", "restricted", "restricted1", "smb1only", "smb2only", "dc"}
	addrs := labtest.Require(t, postures...)
	for _, posture := range postures {
		t.Run(posture, func(t *testing.T) {
			t.Parallel() // each posture is its own server
			addr := addrs[posture]
			r, rep := liveAudit(t, addr, nil)
			if !rep.Host.Samba() {
				t.Fatalf("not recognised as Samba: %+v", rep.Host)
			}
			wantRole := RoleStandalone
			if posture == "dc" {
				wantRole = RoleDC
			}
			if rep.Host.Role != wantRole {
				t.Errorf("role %s, want %s (%v)", rep.Host.Role, wantRole, rep.Host.RoleEvidence)
			}

			// restrict anonymous against rpcclient.
			ra := setting(rep, SambaRestrictAnonymous)
			oracle := oracleRestrictAnonymous(t, addr)
			switch ra.State {
			case StateObserved:
				if ra.Value != oracle {
					t.Errorf("restrict anonymous observed %s, rpcclient says %s (%v)", ra.Value, oracle, ra.Evidence)
				}
			case StateConsistent:
				// Until enum's SAMR checks decide it, 0 and 1 look alike.
				if !strings.Contains(ra.Value, oracle) {
					t.Errorf("restrict anonymous consistent with %s, rpcclient says %s", ra.Value, oracle)
				}
			default:
				t.Errorf("restrict anonymous %s: %v", ra.State, ra.Evidence)
			}
			// Once enum's SRVSVC/SAMR calls ran, 0 and 1 are told apart.
			if len((&view{r: r}).calls(enum.IfaceSRVSVC, srvsvc.OpNetrShareEnum)) > 0 && ra.State != StateObserved {
				t.Errorf("restrict anonymous only %s %q although srvsvc.NetrShareEnum ran", ra.State, ra.Value)
			}
			if posture == "restricted" && (ra.State != StateObserved || ra.Value != "2") {
				t.Errorf("restricted: restrict anonymous %s %q, want observed 2", ra.State, ra.Value)
			}
			if posture == "restricted1" && ra.Value == "2" {
				t.Errorf("restricted1 taken for restrict anonymous = 2")
			}

			// Guest mapping against impacket, when enum recorded the probe.
			g := setting(rep, SambaMapToGuest)
			if r.Sessions["guest"] != nil {
				switch oracleGuest(t, addr) {
				case "guest":
					if g.Value != "Bad User or Bad Password" {
						t.Errorf("map to guest %s %q, impacket got a guest logon", g.State, g.Value)
					}
					if !hasFinding(rep, FindGuestLogon) {
						t.Error("no guest-logon finding")
					}
				default:
					if !strings.HasPrefix(g.Value, "Never") {
						t.Errorf("map to guest %q, impacket was refused", g.Value)
					}
				}
			} else {
				t.Errorf("enum recorded no guest probe result; map to guest is %s", g.State)
			}

			// Every share probe against smbclient, and the control.
			if rep.Probes == nil || rep.Probes.Control == nil || rep.Probes.Control.Connect != badNetworkName {
				t.Errorf("control probe %+v", rep.Probes)
			}
			for _, sp := range rep.Probes.Shares {
				if want := oracleShare(t, addr, sp.Name); sp.Connect != want {
					t.Errorf("share %s: probe %s, smbclient %s", sp.Name, sp.Connect, want)
				}
			}
			guestOK := setting(rep, SambaGuestOK)
			switch posture {
			case "dc":
				if guestOK.State != StateConsistent || !strings.HasPrefix(guestOK.Value, "no on the shares tried") {
					t.Errorf("dc guest ok %s %q", guestOK.State, guestOK.Value)
				}
				pre := setting(rep, PreWindows2000)
				if pre.State != StateNotObservable || !strings.Contains(strings.Join(pre.Evidence, " "), "docs/samba.md") {
					t.Errorf("dc Pre-Windows 2000: %+v", pre)
				}
				if s := setting(rep, SambaServerSigning); !strings.HasPrefix(s.Value, "mandatory") {
					t.Errorf("dc signing %+v", s)
				}
			default:
				if guestOK.State != StateObserved || guestOK.Value != "yes on public" {
					t.Errorf("guest ok %s %q, want observed yes on public", guestOK.State, guestOK.Value)
				}
				if !hasFinding(rep, FindShareAnonymous, ShareKey("public")) {
					t.Error("no finding for the anonymous public share")
				}
			}

			// SMB1 and the minimum protocol.
			minP := setting(rep, SambaServerMinProtocol)
			switch posture {
			case "smb2only", "dc":
				if minP.State != StateObserved || minP.Value != "SMB2_02" || hasFinding(rep, FindSMB1Enabled) {
					t.Errorf("min protocol %+v", minP)
				}
			default:
				if !strings.HasPrefix(minP.Value, "NT1") || !hasFinding(rep, FindSMB1Enabled) {
					t.Errorf("min protocol %+v", minP)
				}
			}
			// Windows rows are never asserted for Samba.
			for _, s := range rep.Settings {
				if row, _ := Lookup(s.Name); row.Platform == "windows" && s.State != StateNotObservable {
					t.Errorf("Windows setting %s asserted on Samba: %s %q", s.Name, s.State, s.Value)
				}
			}
		})
	}
}

// --expect with a lab smb.conf: the posture's own file gives no drift on
// what both sides decide; another posture's file gives the drifts that
// tell them apart.
func TestLiveExpect(t *testing.T) {
	if testing.Short() {
		t.Skip("live lab test")
	}
	addrs := labtest.Require(t, "open", "restricted")
	own := Predict(readTestConfig(t, "lab-restricted.smb.conf"))
	_, rep := liveAudit(t, addrs["restricted"], own)
	if len(rep.Drifts) != 0 || rep.Compared < 5 {
		t.Errorf("restricted vs its own smb.conf: %d compared, drifts %+v", rep.Compared, rep.Drifts)
	}
	_, rep = liveAudit(t, addrs["open"], own)
	found := false
	for _, d := range rep.Drifts {
		if d.Exposure == ExpIPC && d.Expected == No && d.Observed == Yes {
			found = true
		}
	}
	if !found || !hasFinding(rep, FindDrift, ExpIPC) {
		t.Errorf("open vs restricted's smb.conf: no IPC$ drift: %+v", rep.Drifts)
	}
}
