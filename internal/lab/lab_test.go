//go:build linux

package lab

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestLookup(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"open", "127.0.0.2"}, {"restricted", "127.0.0.3"}, {"smb1only", "127.0.0.4"},
		{"smb2only", "127.0.0.5"}, {"restricted1", "127.0.0.6"}, {"bulk", "127.0.0.7"}, {"dc", "127.0.0.10"},
	} {
		p, err := Lookup(tc.name)
		if err != nil || p.Addr != tc.addr {
			t.Errorf("Lookup(%q) = %v, %v; want %s", tc.name, p.Addr, err, tc.addr)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), `"nope" (known: open, restricted, smb1only,`) {
		t.Errorf("Lookup(nope) = %v, want the known postures listed", err)
	}
	if got := strings.Join(DefaultNames(), " "); got != "open restricted smb1only smb2only restricted1 dc" {
		t.Errorf("DefaultNames = %s", got)
	}
}

// TestStandaloneConf pins each posture's smb.conf (docs/samba.md describes
// servers with exactly these settings). Regenerate with -update.
func TestStandaloneConf(t *testing.T) {
	l := New("/LAB")
	for _, p := range Postures() {
		if p.DC {
			continue
		}
		var b bytes.Buffer
		if err := standaloneConf.Execute(&b, struct {
			P     Posture
			D     string
			Extra []string
		}{p, l.pdir(p), postureOptions(p.Name)}); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", p.Name+".smb.conf")
		if *update {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s: smb.conf differs from %s:\n%s", p.Name, golden, b.String())
		}
	}
}

// TestStopOnlyOurs starts a daemon with a child, plants a Samba-style pid
// file naming a process that is not ours (this test process), and checks
// that stopping takes the daemon and its child and leaves the stranger.
func TestStopOnlyOurs(t *testing.T) {
	d := t.TempDir()
	conf := filepath.Join(d, "smb.conf")
	dm, err := startDaemon(d, "fake", []string{"/bin/sh", "-c", `sleep 60 & echo $! > "$0/child"; wait`, d}, baseEnv(), false)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for i := 0; i < 100 && child == 0; i++ {
		b, _ := os.ReadFile(filepath.Join(d, "child"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("child pid not written")
	}
	os.MkdirAll(filepath.Join(d, "run"), 0o755)
	os.WriteFile(filepath.Join(d, "run", "samba-dcerpcd.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)

	roots := ourProcesses(d, conf)
	if len(roots) != 1 || roots[0].PID != dm.rec.PID {
		t.Fatalf("ourProcesses = %v, want only %d", roots, dm.rec.PID)
	}
	if err := stopProcesses(roots, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	<-dm.exited
	if r, ok := recordOf(child); ok && r.alive() {
		syscall.Kill(child, syscall.SIGKILL)
		t.Fatalf("child %d of the daemon survived", child)
	}
	if _, ok := runningDaemon(d, "fake"); ok {
		t.Fatal("daemon still recorded as running")
	}
}

func TestProcStatSelf(t *testing.T) {
	st, ppid, start, err := procStat(os.Getpid())
	if err != nil || st != 'R' && st != 'S' || ppid != os.Getppid() || start == 0 {
		t.Fatalf("procStat(self) = %c %d %d %v", st, ppid, start, err)
	}
	if _, _, _, err := procStat(1 << 30); err == nil {
		t.Fatal("procStat of a pid that cannot exist succeeded")
	}
}

// The lifecycle test runs in its own network and mount namespace, so it
// never meets servers on the shared loopback addresses and `down` cannot
// touch them. The test binary re-executes itself there.
const nsEnv = "NULLSWEEP_LAB_TEST_NS"

func TestLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every posture (~25 s)")
	}
	switch os.Getenv(nsEnv) {
	case "":
		runInNamespace(t)
	case "up":
		// helper: start and exit, so the test sees daemons outlive it
		if err := New(os.Getenv("NULLSWEEP_LAB_DIR")).Up(context.Background(), allNames()...); err != nil {
			t.Fatal(err)
		}
	case "test":
		lifecycle(t)
	}
}

func runInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if !SambaInstalled() {
		if os.Getenv("CI") == "true" {
			t.Fatal("Samba is not installed")
		}
		t.Skip("Samba is not installed")
	}
	dir, err := os.MkdirTemp("", "nslab-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the guest account reads the public share
	defer os.RemoveAll(dir)
	cmd := exec.Command("unshare", "--net", "--mount", "--propagation", "private",
		os.Args[0], "-test.run=^TestLifecycle$", "-test.v")
	// Share the DC template with the default lab dir: provisioning (6-11 s,
	// far more on a busy 2-core box) then happens once per machine.
	tmpl := os.Getenv("NULLSWEEP_LAB_DC_TEMPLATE")
	if tmpl == "" {
		tmpl = filepath.Join(DefaultDir(), ".dc-template")
	}
	cmd.Env = append(os.Environ(), nsEnv+"=test", "NULLSWEEP_LAB_DIR="+dir, "NULLSWEEP_LAB_DC_TEMPLATE="+tmpl)
	out, err := cmd.CombinedOutput()
	t.Logf("in namespace:\n%s", out)
	if err != nil {
		t.Fatalf("lifecycle in namespace: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestLifecycle")) {
		t.Fatal("lifecycle did not pass in the namespace")
	}
}

func lifecycle(t *testing.T) {
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v %s", err, out)
	}
	dir := os.Getenv("NULLSWEEP_LAB_DIR")
	l := New(dir)
	ctx := context.Background()
	defer l.Down(ctx) // on failure too

	start := time.Now()
	up := exec.Command(os.Args[0], "-test.run=^TestLifecycle$")
	up.Env = append(os.Environ(), nsEnv+"=up")
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	t.Logf("all postures up in %v", time.Since(start).Round(time.Millisecond))

	for _, s := range l.Status(ctx) {
		if s.Word() != "up" {
			t.Errorf("status %s: %s (daemons %v), want up after the starter exited", s.Name, s.Word(), s.Daemons)
		}
	}
	if t.Failed() {
		return
	}

	// Oracle: Samba's own client, as a null session (-U %).
	list := func(addr string, extra ...string) string {
		args := append([]string{"-U", "%", "-L", "//" + addr}, extra...)
		out, _ := exec.Command("smbclient", args...).CombinedOutput()
		return string(out)
	}
	nt1 := []string{"-m", "NT1", "--option=client min protocol=NT1"}
	for _, tc := range []struct {
		posture string
		extra   []string
		want    []string
	}{
		{"open", nil, []string{"public", "data", "backup$", "IPC Service (lab victim open)"}},
		{"bulk", nil, []string{"public", "IPC Service (lab victim bulk)"}},
		{"smb2only", nil, []string{"public", "IPC Service (lab victim smb2only)"}},
		{"smb1only", nt1, []string{"public", "IPC Service (lab victim smb1only)"}},
		{"smb1only", nil, []string{"protocol negotiation failed"}}, // no SMB2 there
		{"restricted", nil, []string{"NT_STATUS_ACCESS_DENIED"}},   // restrict anonymous = 2
		{"restricted1", nil, []string{"Sharename"}},                // =1: empty list
		{"dc", nil, []string{"sysvol", "netlogon"}},
	} {
		p, _ := Lookup(tc.posture)
		out := list(p.Addr, tc.extra...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("smbclient -U %% -L //%s %v: no %q in:\n%s", p.Addr, tc.extra, w, out)
			}
		}
	}
	rpc := func(addr, cmd string) string {
		out, _ := exec.Command("rpcclient", "-U", "", "-N", addr, "-c", cmd).CombinedOutput()
		return string(out)
	}
	// Accounts, groups and policy as docs/samba.md describes them.
	for _, tc := range []struct{ addr, cmd, want string }{
		{"127.0.0.2", "enumdomusers", "user:[alice] rid:[0x3e8]"},
		{"127.0.0.2", "enumdomusers", "user:[bob] rid:[0x3e9]"},
		{"127.0.0.2", "enumdomusers", "user:[svc_backup] rid:[0x3ea]"},
		{"127.0.0.2", "enumdomgroups", "group:[LabAdmins] rid:[0x3eb]"},
		{"127.0.0.2", "enumalsgroups domain", "group:[LabOps] rid:[0x3ec]"},
		{"127.0.0.2", "querygroupmem 0x3eb", "rid:[0x3e8]"},
		{"127.0.0.2", "querydominfo 12", "Lockout after bad attempts:                  5"},
		{"127.0.0.2", "getdompwinfo", "min_password_length: 8"},
		{"127.0.0.7", "enumdomusers", "user:[bulkuser00001] rid:[0x3ee]"},
		{"127.0.0.7", "enumdomusers", "user:[bulkuser02000] rid:[0x138c]"},
		{"127.0.0.10", "enumdomusers", "user:[svc_backup] rid:[0x451]"},
		{"127.0.0.10", "enumdomgroups", "group:[LabAdmins] rid:[0x452]"},
		{"127.0.0.10", "querygroupmem 0x452", "rid:[0x44f]"}, // alice
		{"127.0.0.10", "querydominfo 12", "Lockout after bad attempts:                  5"},
		{"127.0.0.10", "querydispinfo", "pw: Passw0rd!"}, // svc_backup's description
	} {
		if out := rpc(tc.addr, tc.cmd); !strings.Contains(out, tc.want) {
			t.Errorf("rpcclient %s -c %q: no %q in:\n%s", tc.addr, tc.cmd, tc.want, out)
		}
	}
	if out := rpc("127.0.0.7", "enumdomusers"); strings.Count(out, "user:[bulkuser") != bulkUsers {
		t.Errorf("bulk: %d bulk users, want %d", strings.Count(out, "user:[bulkuser"), bulkUsers)
	}
	if out, _ := exec.Command("smbclient", "-U", "%", "//127.0.0.2/public", "-c", "ls").CombinedOutput(); !bytes.Contains(out, []byte("readme.txt")) {
		t.Errorf("open public share has no readme.txt:\n%s", out)
	}

	// Up again is a no-op: same pids.
	before := l.Status(ctx)
	if err := l.Up(ctx, allNames()...); err != nil {
		t.Fatal(err)
	}
	for i, s := range l.Status(ctx) {
		if fmt.Sprint(s.Daemons[0]) != fmt.Sprint(before[i].Daemons[0]) {
			t.Errorf("%s: second up restarted %v -> %v", s.Name, before[i].Daemons, s.Daemons)
		}
	}

	if err := l.Down(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range l.Status(ctx) {
		if s.Word() != "down" {
			t.Errorf("after down, %s is %s %v", s.Name, s.Word(), s.Daemons)
		}
	}
	if left := processesMentioning(dir); len(left) > 0 {
		t.Errorf("after down, processes still mention %s: %v", dir, left)
	}
}

// processesMentioning scans /proc for command lines containing s.
func processesMentioning(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		if st, _, _, err := procStat(pid); err == nil && st != 'Z' {
			out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	return out
}
