package rap

import (
	"context"
	"errors"
	"flag"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nullsweep/nullsweep/internal/lab/labtest"
	"github.com/nullsweep/nullsweep/internal/smb1"
)

var update = flag.Bool("update", false, "rewrite testdata captures from the live lab")

// lanman logs on anonymously over SMB1 (non-extended form), connects IPC$
// and returns a Transport that records the raw replies.
func lanman(t *testing.T, host string) (Transport, *[][2][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, "445"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := smb1.NewClient(conn)
	t.Cleanup(func() { c.Close() })
	if _, err := c.Negotiate(ctx, false); err != nil {
		t.Fatal(err)
	}
	ss, err := c.SessionSetupEmpty(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c.TreeConnect(ctx, ss.UID, `\\`+host+`\IPC$`)
	if err != nil {
		t.Fatal(err)
	}
	var rec [][2][]byte
	return TransportFunc(func(ctx context.Context, p []byte, mp, md int) ([]byte, []byte, error) {
		rp, rd, err := c.Lanman(ctx, ss.UID, tc.TID, p, mp, md)
		if err == nil {
			rec = append(rec, [2][]byte{rp, rd})
		}
		return rp, rd, err
	}), &rec
}

func smb1Option() string { return "--option=client min protocol=NT1" }

func TestLiveNetShareEnumMatchesNetRap(t *testing.T) {
	host := labtest.Require(t, "smb1only")["smb1only"]
	// net rap share exits 4 after a good listing here; the output decides.
	out, err := exec.Command("net", "rap", "share", "-S", host, "-U", "%", smb1Option()).CombinedOutput()
	if len(strings.TrimSpace(string(out))) == 0 {
		t.Fatalf("net rap share: %v, no output", err)
	}
	want := strings.Fields(string(out))
	tr, rec := lanman(t, host)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shares, err := NetShareEnum(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range shares {
		got = append(got, s.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("NetShareEnum %q, net rap share %q", got, want)
	}
	if *update {
		writeReply(t, "netshareenum_smb1only", (*rec)[0])
	}

	si, err := NetServerGetInfo(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command("net", "rap", "server", "name", "-S", host, "-U", "%", smb1Option()).CombinedOutput()
	if err != nil {
		t.Fatalf("net rap server name: %v\n%s", err, out)
	}
	if w := "Server name = " + si.Name; !strings.Contains(string(out), w) {
		t.Errorf("NetServerGetInfo name %q; net rap says %q", si.Name, out)
	}
	if si.Type&SVTypeServer == 0 {
		t.Errorf("server type %#x lacks SV_TYPE_SERVER", si.Type)
	}
	if *update {
		writeReply(t, "netservergetinfo_smb1only", (*rec)[1])
	}
}

// smbclientBrowse parses the Server and Workgroup sections of
// `smbclient -L` over SMB1.
func smbclientBrowse(t *testing.T, host string) (servers, workgroups map[string]string) {
	out, err := exec.Command("smbclient", "-U", "%", "-L", "//"+host, "-m", "NT1", smb1Option()).CombinedOutput()
	if err != nil {
		t.Fatalf("smbclient -L: %v\n%s", err, out)
	}
	servers, workgroups = map[string]string{}, map[string]string{}
	var cur map[string]string
	row := regexp.MustCompile(`^\t(\S+)\s*(.*)$`)
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "\tServer "):
			cur = servers
		case strings.HasPrefix(line, "\tWorkgroup "):
			cur = workgroups
		case strings.HasPrefix(line, "\tSharename ") || strings.TrimSpace(line) == "":
			if strings.HasPrefix(line, "\tSharename ") {
				cur = nil
			}
		case cur != nil && !strings.HasPrefix(strings.TrimSpace(line), "---"):
			if m := row.FindStringSubmatch(line); m != nil {
				cur[m[1]] = strings.TrimSpace(m[2])
			}
		}
	}
	return servers, workgroups
}

func TestLiveNetServerEnum2OnOpen(t *testing.T) {
	host := labtest.Require(t, "open")["open"]
	tr, rec := lanman(t, host)
	// nmbd needs 30-60 s after a start to win the browser election.
	deadline := time.Now().Add(90 * time.Second)
	var domains []ServerInfo1
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		domains, err = NetServerEnum2(ctx, tr, SVTypeDomainEnum, "")
		cancel()
		if err != nil && !errors.As(err, new(*Error)) {
			t.Fatal(err)
		}
		if slices.ContainsFunc(domains, func(s ServerInfo1) bool { return s.Name == "LAB" }) || time.Now().After(deadline) {
			break
		}
		time.Sleep(3 * time.Second)
	}
	i := slices.IndexFunc(domains, func(s ServerInfo1) bool { return s.Name == "LAB" })
	if i < 0 || domains[i].Comment != "OPENSRV" || domains[i].Type&SVTypeDomainEnum == 0 {
		t.Fatalf("domains %+v: want LAB with master OPENSRV", domains)
	}
	if *update {
		writeReply(t, "netserverenum2_domains_open", (*rec)[len(*rec)-1])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Asked without a domain, Samba's browse list has no servers, which is
	// what smbclient -L shows (docs/samba.md).
	servers, err := NetServerEnum2(ctx, tr, SVTypeAll, "")
	if err != nil {
		t.Fatal(err)
	}
	wantServers, wantGroups := smbclientBrowse(t, host)
	gotServers := map[string]string{}
	for _, s := range servers {
		gotServers[s.Name] = s.Comment
	}
	if !mapsEqual(gotServers, wantServers) {
		t.Errorf("servers %v, smbclient %v", gotServers, wantServers)
	}
	// Asked for the domain the domain list names, the same list holds the
	// server itself.
	servers, err = NetServerEnum2(ctx, tr, SVTypeAll, "LAB")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		writeReply(t, "netserverenum2_all_open", (*rec)[len(*rec)-1])
	}
	if i := slices.IndexFunc(servers, func(s ServerInfo1) bool { return s.Name == "OPENSRV" }); i < 0 || servers[i].Type&SVTypeServer == 0 {
		t.Errorf("servers in LAB %+v: want OPENSRV", servers)
	}
	gotGroups := map[string]string{}
	for _, d := range domains {
		gotGroups[d.Name] = d.Comment
	}
	if !mapsEqual(gotGroups, wantGroups) {
		t.Errorf("workgroups %v, smbclient %v", gotGroups, wantGroups)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
