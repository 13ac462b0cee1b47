package pcap

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/enum"
	"github.com/nullsweep/nullsweep/internal/lab/labtest"
)

// capture runs dumpcap on the loopback interface for traffic to and from
// addr until stop is called, and returns the file it wrote.
func capture(t *testing.T, addr string) (file string, stop func()) {
	t.Helper()
	dumpcap, err := exec.LookPath("dumpcap")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dumpcap not installed (tshark's package brings it): %v", err)
		}
		t.Skip("dumpcap not installed")
	}
	file = filepath.Join(t.TempDir(), "run.pcapng")
	cmd := exec.Command(dumpcap, "-i", "lo", "-f", "host "+addr, "-w", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("dumpcap: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Capturing on") && !once {
				once = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("dumpcap did not start capturing")
	}
	// dumpcap says it is capturing a moment before its filter is in place;
	// a run started at once can lose its first SYN and session setup.
	time.Sleep(time.Second)
	stop = func() {
		// Let the last segments reach the capture before stopping it.
		time.Sleep(500 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("dumpcap did not stop")
		}
	}
	return file, stop
}

// TestLiveCaptureMatchesRun records nullsweep's own enum of each lab
// posture on loopback and reads the capture back: the users, groups,
// shares, SIDs and NetBIOS names the pcap report says the server disclosed are the ones
// the live run reported, and a null session that read any of them is a
// finding.
func TestLiveCaptureMatchesRun(t *testing.T) {
	postures := []string{"open", "restricted", "smb1only", "smb2only", "restricted1", "dc"}
	addrs := labtest.Require(t, postures...)
	for _, p := range postures {
		t.Run(p, func(t *testing.T) {
			addr := addrs[p]
			file, stop := capture(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			r := enum.Run(ctx, addr, enum.Options{Timeout: 2 * time.Minute, Checks: enum.CheckAll})
			stop()
			if r.Error != "" {
				t.Fatalf("enum stopped at %s: %s", r.Layer, r.Error)
			}
			rep, err := ReadFiles(context.Background(), []string{file}, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Files[0].Error != "" || rep.Stats.Gaps != 0 {
				t.Errorf("capture read: %+v, %d gaps", rep.Files[0], rep.Stats.Gaps)
			}
			var d Disclosed
			findings := 0
			for _, c := range rep.Conversations {
				if !strings.HasPrefix(c.Server, addr+":") || othersLogon(c) {
					continue
				}
				// Every call of the run is anonymous: on a null SMB session,
				// or over TCP with an unauthenticated bind.
				want := LogonNull
				if c.Transport == "dcerpc-tcp" {
					want = LogonAnonymous
				}
				for _, cl := range c.Calls {
					if cl.Logon != want {
						t.Errorf("%s frame %d: %s %s on a %s session, want %s", c.Client, cl.Frame, cl.Interface, cl.Name, cl.Logon, want)
						break
					}
				}
				d.Users = append(d.Users, c.Disclosed.Users...)
				d.Groups = append(d.Groups, c.Disclosed.Groups...)
				d.Aliases = append(d.Aliases, c.Disclosed.Aliases...)
				d.Shares = append(d.Shares, c.Disclosed.Shares...)
				d.Names = append(d.Names, c.Disclosed.Names...)
				d.Domains = append(d.Domains, c.Disclosed.Domains...)
				d.NetBIOS = append(d.NetBIOS, c.Disclosed.NetBIOS...)
			}
			for _, f := range rep.Findings {
				if strings.HasPrefix(f.Server, addr+":") {
					findings++
				}
			}

			var liveUsers, pcapUsers []string
			// The capture does not split machine accounts from users:
			// both came in the same SAMR user enumeration.
			for _, u := range append(r.Users, r.Machines...) {
				liveUsers = append(liveUsers, fmt.Sprintf("%s %d", u.Name, u.RID))
			}
			for _, u := range d.Users {
				pcapUsers = append(pcapUsers, fmt.Sprintf("%s %d", u.Name, u.RID))
			}
			same(t, "users", liveUsers, pcapUsers)

			var liveGroups, pcapGroups []string
			for _, g := range r.Groups {
				liveGroups = append(liveGroups, fmt.Sprintf("%s %d", g.Name, g.RID))
			}
			for _, g := range append(d.Groups, d.Aliases...) {
				pcapGroups = append(pcapGroups, fmt.Sprintf("%s %d", g.Name, g.RID))
			}
			same(t, "groups", liveGroups, pcapGroups)

			var liveShares, pcapShares []string
			for _, s := range r.Shares {
				liveShares = append(liveShares, s.Name)
			}
			for _, s := range d.Shares {
				pcapShares = append(pcapShares, s.Name)
			}
			same(t, "shares", liveShares, pcapShares)

			// SIDs: the domain's, and every SID RID cycling translated.
			var liveSIDs, pcapSIDs []string
			// The domain SID is compared alone: the server may give it
			// under several names (NetBIOS and DNS) in one run.
			if r.Domain != nil && r.Domain.SID != "" {
				liveSIDs = append(liveSIDs, r.Domain.SID+" (domain)")
			}
			isDomain := func(sid string) bool { return r.Domain != nil && sid == r.Domain.SID }
			for _, x := range r.RIDs {
				if !isDomain(x.SID) {
					liveSIDs = append(liveSIDs, x.SID+" "+x.Name)
				}
			}
			for _, dm := range d.Domains {
				if dm.SID != "" && r.Domain != nil && dm.SID == r.Domain.SID {
					pcapSIDs = append(pcapSIDs, dm.SID+" (domain)")
				}
			}
			for _, n := range d.Names {
				if !isDomain(n.SID) {
					pcapSIDs = append(pcapSIDs, n.SID+" "+n.Name)
				}
			}
			same(t, "SIDs", liveSIDs, pcapSIDs)

			var liveNames, pcapNames []string
			if r.NetBIOS != nil {
				for _, n := range r.NetBIOS.Names {
					liveNames = append(liveNames, n.Name+n.Suffix)
				}
			}
			for _, n := range d.NetBIOS {
				pcapNames = append(pcapNames, n.Name+n.Suffix)
			}
			same(t, "NetBIOS names", liveNames, pcapNames)

			// LDAP (the DC): per port, the rootDSE attributes and the
			// anonymous search's entries; the endpoint mapper's list.
			ldapPorts := 0
			if r.LDAP != nil {
				for _, pr := range r.LDAP.Ports {
					if pr.TLS || pr.RootDSE == nil {
						continue
					}
					ldapPorts++
					var c *Conversation
					for _, x := range rep.Conversations {
						if x.Server == fmt.Sprintf("%s:%d", addr, pr.Port) && x.Disclosed.RootDSE != nil {
							c = x
						}
					}
					if c == nil {
						t.Errorf("LDAP port %d: no rootDSE read in the capture", pr.Port)
						continue
					}
					var live, got []string
					for k, v := range pr.RootDSE.Attributes {
						live = append(live, k+"="+strings.Join(v, "|"))
					}
					for k, v := range c.Disclosed.RootDSE {
						got = append(got, k+"="+strings.Join(v, "|"))
					}
					same(t, fmt.Sprintf("LDAP %d rootDSE", pr.Port), live, got)
					live, got = nil, nil
					if pr.Search != nil {
						for _, e := range pr.Search.Entries {
							live = append(live, e.DN+" "+e.SAMAccountName)
						}
					}
					for _, e := range c.Disclosed.LDAPEntries {
						got = append(got, e.DN+" "+e.SAMAccountName)
					}
					same(t, fmt.Sprintf("LDAP %d anonymous search", pr.Port), live, got)
				}
			}
			if r.Endpoints != nil {
				// go test runs other packages' live tests at the same time
				// and the capture sees their lookups too: the run's own is
				// the conversation that read the whole list.
				var got []int
				found := false
				for _, c := range rep.Conversations {
					if c.Server == addr+":135" {
						got = append(got, len(c.Disclosed.Endpoints))
						found = found || len(c.Disclosed.Endpoints) == len(r.Endpoints.Entries)
					}
				}
				if !found {
					t.Errorf("endpoint mapper: live run %d entries, capture's conversations %v", len(r.Endpoints.Entries), got)
				}
			}

			if got := len(liveUsers) + len(liveShares) + len(liveSIDs); (got > 0) != (findings > 0) {
				t.Errorf("%d items disclosed to the null session, %d findings", got, findings)
				var b strings.Builder
				_ = rep.WriteText(&b)
				t.Log(b.String())
			}
			eps := 0
			if r.Endpoints != nil {
				eps = len(r.Endpoints.Entries)
			}
			t.Logf("%s: %d users, %d groups, %d shares, %d SIDs, %d NetBIOS names, %d LDAP rootDSEs, %d endpoints, %d findings; %d packets, peak %d bytes buffered",
				p, len(liveUsers), len(liveGroups), len(liveShares), len(liveSIDs), len(liveNames), ldapPorts, eps, findings, rep.Stats.Packets, rep.Stats.PeakBuffered)
		})
	}
}

// same compares two lists as sets (a name read twice in a run is one
// disclosure).
func same(t *testing.T, what string, live, fromPcap []string) {
	t.Helper()
	live, fromPcap = slices.Compact(slices.Sorted(slices.Values(live))), slices.Compact(slices.Sorted(slices.Values(fromPcap)))
	if !slices.Equal(live, fromPcap) {
		t.Errorf("%s: live run %q\n capture %q", what, live, fromPcap)
	}
}

// othersLogon: a conversation in which a user logged on belongs to another
// package's live test running beside this one (the capture sees all of
// loopback); this run sends no credential.
func othersLogon(c *Conversation) bool {
	for _, l := range c.Logons {
		if l.Kind == LogonUser || l.Kind == LogonKerberos {
			return true
		}
	}
	return false
}
